package admin

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/agents/scripted"
	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Scripted agents: fake participants of kind agent that run a
// scripted.Script. Each runs on one goroutine of its own, which alone owns
// its conversation; the room reaches it through bounded channels.

// AgentWire encodes and reads the LiveKit packets an agent sends and
// receives (text streams, RPC); the builder adapts pbwire to it.
type AgentWire interface {
	StreamHeader(sender, streamID, topic string, attrs map[string]string, at time.Time) ([]byte, error)
	StreamChunk(sender, streamID string, index uint64, content []byte) ([]byte, error)
	StreamTrailer(sender, streamID, reason string, attrs map[string]string) ([]byte, error)
	RPCAck(sender, caller, requestID string) ([]byte, error)
	RPCResponse(sender, caller, requestID, payload string, errCode uint32, errMsg string) ([]byte, error)
	Decode(raw []byte) (AgentPacket, error)
	// Inflate undoes the deflate-raw compression of a stream's content.
	Inflate(z []byte) ([]byte, error)
}

// AgentPacket is what a stream or RPC packet says (see pbwire.StreamPacket).
type AgentPacket struct {
	Kind       string // "stream_header", "stream_chunk", "stream_trailer", "rpc_request" or ""
	StreamID   string
	Topic      string
	Text       bool
	Inline     bool
	Compressed bool
	Content    []byte
	RequestID  string
	Method     string
	Payload    string
}

// Voice is an agent's microphone: silent until it speaks.
type Voice interface {
	Speak(d time.Duration)
	Hush()
	Close()
}

// Voices plays agents' voices and lets them hear others' microphones
// (*rtc.Forwarder through the builder).
type Voices interface {
	PlayVoice(publisherSID, trackSID string, speech []byte) (Voice, error)
	// Listen calls fn with the size of each packet of trackSID until stop;
	// fn must not block.
	Listen(trackSID string, fn func(size int)) (stop func())
	CheckFile(kind string, file []byte) error
}

// voiceOgg is 3 s of voice-like babble (a glottal pulse train through vowel
// formants, syllables with a pitch contour, pauses between words), 48 kHz
// mono Opus at 32 kb/s, one 20 ms packet per Ogg page: what a scripted agent
// sounds like while it speaks. Made once by scripts/assets/voice-ogg.py
// (Python's ctypes over the system's libopus, no other tool).
//
//go:embed assets/voice.ogg
var voiceOgg []byte

// Agent track and limits.
const (
	agentTrackName = "roomio_audio" // what the Agents framework calls its track
	agentEvents    = 512            // room events waiting for the agent
	agentPackets   = 2048           // microphone packets waiting for the agent
	agentTick      = 20 * time.Millisecond
	maxChatBytes   = 64 << 10 // one lk.chat message
	maxOpenChats   = 16       // lk.chat streams open at once
	agentKind      = "agent"
)

// ErrNotAgent: the participant is not a scripted agent of this server.
var ErrNotAgent = errors.New("participant is not a scripted agent")

type agentKey struct{ room, identity string }

// agents are the running scripted agents, by room and identity.
type agents struct {
	mu  sync.Mutex
	run map[agentKey]*agentRun
}

func (g *agents) put(k agentKey, r *agentRun) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.run == nil {
		g.run = map[agentKey]*agentRun{}
	}
	g.run[k] = r
}

func (g *agents) remove(k agentKey, r *agentRun) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.run[k] == r {
		delete(g.run, k)
	}
}

func (g *agents) get(k agentKey) *agentRun {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.run[k]
}

// Say makes the scripted agent identity of room say text now, interrupting
// what it was saying.
func (a *Admin) Say(ctx context.Context, room, identity, text string) error {
	if text == "" {
		return invalid("text", "is required")
	}
	if err := scriptText("text", text); err != nil {
		return err
	}
	r := a.agents.get(agentKey{room, identity})
	if r == nil {
		if _, err := a.o.Registry.GetParticipant(ctx, room, identity); err != nil {
			return err
		}
		return ErrNotAgent
	}
	select {
	case r.says <- text:
		return nil
	case <-r.sink.Done():
		return rooms.ErrParticipantNotFound
	case <-ctx.Done():
		return ctx.Err()
	}
}

func scriptText(field, s string) error {
	err := scripted.Script{Greeting: s}.Validate()
	var fe *scripted.FieldError
	if errors.As(err, &fe) {
		return invalid(field, fe.Rule)
	}
	return err
}

// agentVoice is the clip an agent speaks with: its script's voice_file, or
// the embedded one.
func (a *Admin) agentVoice(s *scripted.Script) ([]byte, error) {
	if s.VoiceFile == "" {
		return voiceOgg, nil
	}
	const field = "agent.voice_file"
	if a.o.Voices == nil {
		return nil, invalid(field, "cannot be played: this server sends no media")
	}
	if a.o.MediaDir == "" {
		return nil, invalid(field, "cannot be used: ADMIN_MEDIA_DIR is not set")
	}
	b, why := readMediaFile(a.o.MediaDir, s.VoiceFile)
	if why != "" {
		// The reason is for the operator's log, never the caller.
		a.o.Logger.Debug("scripted agent: voice file refused", "reason", why)
		return nil, invalid(field, msgUnusableFile)
	}
	if err := a.o.Voices.CheckFile(rooms.KindAudio, b); err != nil {
		a.o.Logger.Info("scripted agent: voice file refused", "err", err)
		return nil, invalid(field, "must be an Ogg/Opus file with one 20 ms packet per page")
	}
	return b, nil
}

// addAgent adds f, a fake of kind agent with a script.
func (a *Admin) addAgent(ctx context.Context, f Fake) (rooms.ParticipantInfo, error) {
	if a.o.Wire == nil {
		return rooms.ParticipantInfo{}, invalid("kind", "cannot be agent: this server runs no scripted agents")
	}
	if len(f.Tracks) > 0 || f.Data != nil {
		return rooms.ParticipantInfo{}, invalid("tracks", "must be empty for an agent: it publishes its own microphone")
	}
	speech, err := a.agentVoice(f.Agent)
	if err != nil {
		return rooms.ParticipantInfo{}, err
	}
	r := &agentRun{
		a: a, script: *f.Agent, room: f.Room, identity: f.Identity, dispatched: f.dispatched,
		events: make(chan rooms.Event, agentEvents),
		says:   make(chan string, 8),
		sizes:  make(chan heardPacket, agentPackets),
		state:  scripted.StateInitializing,
		others: map[string]string{},
		ears:   map[string]*ear{},
		chats:  map[string]*chatIn{},
	}
	attrs := map[string]string{}
	for k, v := range f.Attributes {
		attrs[k] = v
	}
	attrs[scripted.AttrState] = scripted.StateInitializing
	if f.AgentName != "" {
		attrs[scripted.AttrName] = f.AgentName
	}
	m, sink, info, err := a.o.Registry.JoinFake(ctx, rooms.FakeRequest{
		Room: f.Room, RoomSid: f.roomSid, Existing: f.dispatched, Identity: f.Identity, Name: f.Name, Metadata: f.Metadata, Attributes: attrs, Kind: agentKind,
		Tracks:  []rooms.TrackRequest{{Kind: rooms.KindAudio, Name: agentTrackName, Source: rooms.SourceMicrophone}},
		OnEvent: r.onEvent,
	})
	if err != nil {
		return rooms.ParticipantInfo{}, err
	}
	r.m, r.sink, r.sid = m, sink, info.Sid
	if len(info.Tracks) > 0 {
		r.micSid = info.Tracks[0].Sid
	}
	if a.o.Voices != nil && r.micSid != "" {
		v, err := a.o.Voices.PlayVoice(info.Sid, r.micSid, speech)
		if err != nil {
			a.o.Logger.Warn("scripted agent: no voice", "identity", f.Identity, "err", err)
		} else {
			r.voice = v
		}
	}
	k := agentKey{f.Room, f.Identity}
	a.agents.put(k, r)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer a.agents.remove(k, r)
		r.run()
	}()
	return info, nil
}

type heardPacket struct {
	track string
	size  int
	at    time.Time
}

// ear listens to one participant's microphone.
type ear struct {
	identity string
	stop     func()
	det      scripted.Detector
}

// chatIn is an lk.chat text stream being received.
type chatIn struct {
	from       string
	buf        []byte
	compressed bool
	n          int // order of opening
}

// utterance is what the agent is saying.
type utterance struct {
	text     string
	streamID string
	words    []string
	sent     int // words sent
	start    time.Time
	dur      time.Duration
	greeting bool
}

type agentRun struct {
	a        *Admin
	script   scripted.Script
	room     string
	identity string
	sid      string
	micSid   string
	m        *rooms.Member
	sink     *rooms.FakeSink
	voice    Voice
	// dispatched agents leave when the last other participant has.
	dispatched bool

	events chan rooms.Event
	says   chan string
	sizes  chan heardPacket
	lost   sync.Mutex // guards dropped
	// dropped counts events and packets the agent was too slow to take.
	dropped int

	// Owned by run.
	state   string
	greeted bool
	others  map[string]string // identity → sid of the non-agent participants
	// linked is the participant whose microphone the agent listens to: the
	// first non-agent participant to arrive, then the next one when it
	// leaves (as the Agents framework's room I/O links one participant).
	// The others are heard by chat only.
	linked   string
	arrival  []string        // non-agent identities in order of arrival
	ears     map[string]*ear // by track sid
	chats    map[string]*chatIn
	chatN    int
	heardN   int
	saying   *utterance
	thinkAt  time.Time // when the pending answer is due; zero: none
	thinkFor string    // the turn's text
}

// onEvent runs on the room goroutine: it must not block.
func (r *agentRun) onEvent(ev rooms.Event) {
	select {
	case r.events <- ev:
	default:
		r.drop()
	}
}

func (r *agentRun) drop() {
	r.lost.Lock()
	r.dropped++
	r.lost.Unlock()
}

func (r *agentRun) log() *journal.Journal { return r.a.o.Journal }

func (r *agentRun) run() {
	ctx := r.a.ctx
	defer func() {
		for _, e := range r.ears {
			e.stop()
		}
		if r.voice != nil {
			r.voice.Close()
		}
	}()
	r.setState(ctx, scripted.StateListening)
	// The clock ticks only while something is under way (speaking,
	// thinking, a user speaking): an idle agent costs nothing.
	tick := time.NewTicker(agentTick)
	defer tick.Stop()
	ticking := true
	for {
		var tickC <-chan time.Time
		if ticking {
			tickC = tick.C
		}
		select {
		case <-r.sink.Done():
			return
		case <-ctx.Done():
			return
		case ev := <-r.events:
			r.handle(ctx, ev)
		case text := <-r.says:
			r.thinkAt = time.Time{}
			r.speak(ctx, text, false)
		case p := <-r.sizes:
			r.hear(ctx, p)
		case now := <-tickC:
			r.step(ctx, now)
		}
		r.reportDrops()
		switch busy := r.busy(); {
		case busy && !ticking:
			tick.Reset(agentTick)
			ticking = true
		case !busy && ticking:
			tick.Stop()
			ticking = false
		}
	}
}

// busy reports whether time matters to the agent now.
func (r *agentRun) busy() bool {
	if r.saying != nil || !r.thinkAt.IsZero() {
		return true
	}
	for _, e := range r.ears {
		if e.det.Speaking() {
			return true
		}
	}
	return false
}

// reportDrops logs what the agent was too slow to take, if anything.
func (r *agentRun) reportDrops() {
	r.lost.Lock()
	dropped := r.dropped
	r.dropped = 0
	r.lost.Unlock()
	if dropped > 0 {
		r.a.o.Logger.Warn("scripted agent: too slow, events or packets dropped", "room", r.room, "identity", r.identity, "dropped", dropped)
	}
}

// step moves time on: words of what the agent says, the end of its
// speech, a pending answer, the end of a user's speech.
func (r *agentRun) step(ctx context.Context, now time.Time) {
	if u := r.saying; u != nil {
		elapsed := now.Sub(u.start)
		due := len(u.words)
		if elapsed < u.dur {
			due = min(len(u.words), 1+int(int64(len(u.words))*int64(elapsed)/int64(u.dur)))
		}
		for u.sent < due {
			r.sendChunk(ctx, u)
		}
		if elapsed >= u.dur {
			r.finish(ctx, "")
		}
	}
	if !r.thinkAt.IsZero() && !now.Before(r.thinkAt) {
		r.thinkAt = time.Time{}
		if say, ok := r.script.Answer(r.thinkFor); ok {
			r.speak(ctx, say, false)
		} else {
			r.setState(ctx, scripted.StateListening)
		}
	}
	for sid, e := range r.ears {
		if e.det.Idle(now) == scripted.TurnEnded {
			r.userSpoke(ctx, sid, e)
		}
	}
}

func (r *agentRun) handle(ctx context.Context, ev rooms.Event) {
	p := ev.Participant
	switch ev.Kind {
	case rooms.EventJoined:
		if ev.Room != nil {
			for _, o := range ev.Room.Participants {
				r.arrived(ctx, o)
			}
		}
	case rooms.EventParticipantJoined:
		r.arrived(ctx, p)
	case rooms.EventTrackPublished:
		if p.Identity != r.identity && p.Kind != agentKind {
			r.listen(p, ev.Track)
		}
	case rooms.EventTrackUnpublished:
		if e := r.ears[ev.Track.Sid]; e != nil {
			e.stop()
			delete(r.ears, ev.Track.Sid)
		}
	case rooms.EventParticipantLeft:
		if _, ok := r.others[p.Identity]; ok && len(r.others) == 1 && r.dispatched {
			// The last one to talk to has left: as an agent's job ends.
			_ = r.m.Leave(ctx, rooms.ReasonLeft)
		}
		delete(r.others, p.Identity)
		r.arrival = slices.DeleteFunc(r.arrival, func(id string) bool { return id == p.Identity })
		if r.linked == p.Identity {
			r.linked = ""
			if len(r.arrival) > 0 {
				r.linked = r.arrival[0]
			}
		}
		for sid, e := range r.ears {
			if e.identity == p.Identity {
				e.stop()
				delete(r.ears, sid)
			}
		}
	case rooms.EventDataReceived:
		if ev.Data != nil && ev.Data.FromIdentity != r.identity {
			r.data(ctx, ev.Data)
		}
	}
}

// arrived notes a participant in the room; the first one that is not an
// agent gets the greeting.
func (r *agentRun) arrived(ctx context.Context, p rooms.ParticipantInfo) {
	if p.Identity == r.identity || p.Kind == agentKind {
		return
	}
	if _, known := r.others[p.Identity]; !known {
		r.arrival = append(r.arrival, p.Identity)
	}
	r.others[p.Identity] = p.Sid
	if r.linked == "" {
		r.linked = p.Identity
	}
	for _, t := range p.Tracks {
		r.listen(p, t)
	}
	if !r.greeted {
		r.greeted = true
		if r.script.Greeting != "" {
			r.speak(ctx, r.script.Greeting, true)
		}
	}
}

func (r *agentRun) listen(p rooms.ParticipantInfo, t rooms.TrackInfo) {
	if r.a.o.Voices == nil || t.Kind != rooms.KindAudio || t.Source != rooms.SourceMicrophone || r.ears[t.Sid] != nil {
		return
	}
	sid := t.Sid
	stop := r.a.o.Voices.Listen(sid, func(size int) {
		select {
		case r.sizes <- heardPacket{track: sid, size: size, at: time.Now()}:
		default:
			r.drop()
		}
	})
	r.ears[sid] = &ear{identity: p.Identity, stop: stop}
}

// hear takes one microphone packet: the user starting to speak interrupts
// the agent.
func (r *agentRun) hear(ctx context.Context, p heardPacket) {
	e := r.ears[p.track]
	if e == nil || e.identity != r.linked {
		return // only the linked participant's speech makes turns
	}
	switch e.det.Packet(p.at, p.size) {
	case scripted.TurnStarted:
		if r.saying != nil {
			r.interrupt(ctx, e.identity)
		}
	case scripted.TurnEnded:
		r.userSpoke(ctx, p.track, e)
	}
}

// userSpoke ends a speech turn: its words come from the script's heard
// list, published as the user's transcription, and answered.
func (r *agentRun) userSpoke(ctx context.Context, trackSid string, e *ear) {
	text := ""
	if n := len(r.script.Heard); n > 0 {
		text = r.script.Heard[r.heardN%n]
		r.heardN++
	}
	if text != "" {
		// The user's transcription, sent on the user's behalf as an agent does.
		seg := newID("SG_")
		r.sendStream(ctx, e.identity, scripted.TopicTranscription, map[string]string{
			scripted.AttrSegmentID: seg, scripted.AttrTranscribedTrack: trackSid, scripted.AttrFinal: "true",
		}, text)
	}
	r.turn(ctx, e.identity, "speech", text, map[string]any{"speechMs": e.det.Length().Milliseconds()})
}

// turn answers a user's turn after thinking.
func (r *agentRun) turn(ctx context.Context, from, via, text string, extra map[string]any) {
	d := map[string]any{"text": text, "from": from, "via": via}
	for k, v := range extra {
		d[k] = v
	}
	r.log().Record(journal.TypeAgentHeard, r.room, r.identity, d)
	if r.saying != nil {
		r.interrupt(ctx, from)
	}
	r.thinkFor = text
	r.thinkAt = time.Now().Add(r.script.Thinking())
	r.setState(ctx, scripted.StateThinking)
}

// data reads a packet another participant sent: lk.chat text streams and
// RPC requests.
func (r *agentRun) data(ctx context.Context, d *rooms.DataPacket) {
	if d.IsUserData() {
		// Plain data on lk.chat (what a client without text streams, or the
		// JSON dialect, can send) is a chat turn too.
		if d.Topic == scripted.TopicChat && len(d.Payload) <= maxChatBytes {
			r.chat(ctx, d.FromIdentity, d.Payload)
		}
		return
	}
	if d.Raw == nil {
		return
	}
	pkt, err := r.a.o.Wire.Decode(d.Raw)
	if err != nil {
		r.a.o.Logger.Debug("scripted agent: unreadable packet", "err", err)
		return
	}
	switch pkt.Kind {
	case "rpc_request":
		r.rpc(ctx, d.FromIdentity, pkt)
	case "stream_header":
		if pkt.Topic != scripted.TopicChat || !pkt.Text {
			return
		}
		if pkt.Inline {
			r.chat(ctx, d.FromIdentity, pkt.Content)
			return
		}
		if len(r.chats) >= maxOpenChats {
			// Streams never closed must not make the agent deaf: the
			// oldest open one is given up.
			oldest := ""
			for id, c := range r.chats {
				if oldest == "" || c.n < r.chats[oldest].n {
					oldest = id
				}
			}
			r.a.o.Logger.Warn("scripted agent: too many chat streams open, the oldest given up", "from", r.chats[oldest].from)
			delete(r.chats, oldest)
		}
		r.chatN++
		r.chats[pkt.StreamID] = &chatIn{from: d.FromIdentity, compressed: pkt.Compressed, n: r.chatN}
	case "stream_chunk":
		c := r.chats[pkt.StreamID]
		if c == nil || c.from != d.FromIdentity {
			return
		}
		if len(c.buf)+len(pkt.Content) > maxChatBytes {
			r.a.o.Logger.Warn("scripted agent: chat message over 64 KiB ignored", "from", d.FromIdentity)
			delete(r.chats, pkt.StreamID)
			return
		}
		c.buf = append(c.buf, pkt.Content...)
	case "stream_trailer":
		c := r.chats[pkt.StreamID]
		if c == nil || c.from != d.FromIdentity {
			return
		}
		delete(r.chats, pkt.StreamID)
		text := c.buf
		if c.compressed {
			// The content is one deflate-raw stream cut into chunks.
			p, err := r.a.o.Wire.Inflate(c.buf)
			if err != nil {
				r.a.o.Logger.Warn("scripted agent: compressed chat message unreadable", "err", err)
				return
			}
			text = p
		}
		r.chat(ctx, c.from, text)
	}
}

func (r *agentRun) chat(ctx context.Context, from string, text []byte) {
	if len(text) == 0 {
		return
	}
	r.turn(ctx, from, "chat", string(text), nil)
}

// rpc answers a request: the script's payload, or the standard
// unsupported-method error.
func (r *agentRun) rpc(ctx context.Context, from string, pkt AgentPacket) {
	payload, ok := r.script.Method(pkt.Method)
	var code uint32
	msg := ""
	if !ok {
		code, msg = scripted.RPCUnsupportedMethod, scripted.RPCUnsupportedMethodMsg
	}
	ack, err1 := r.a.o.Wire.RPCAck(r.identity, from, pkt.RequestID)
	resp, err2 := r.a.o.Wire.RPCResponse(r.identity, from, pkt.RequestID, payload, code, msg)
	if err := errors.Join(err1, err2); err != nil {
		r.a.o.Logger.Warn("scripted agent: rpc answer not encoded", "err", err)
		return
	}
	r.send(ctx, "rpc_ack", ack, from)
	r.send(ctx, "rpc_response", resp, from)
	r.log().Record(journal.TypeAgentRPC, r.room, r.identity, map[string]any{
		"from": from, "method": pkt.Method, "supported": ok,
	})
}

func (r *agentRun) send(ctx context.Context, kind string, raw []byte, to ...string) {
	err := r.m.SendData(ctx, rooms.DataPacket{Kind: kind, Raw: raw, Reliable: true, Destinations: to})
	if err != nil && !errors.Is(err, rooms.ErrNotJoined) && !errors.Is(err, context.Canceled) {
		r.a.o.Logger.Debug("scripted agent: packet not sent", "kind", kind, "err", err)
	}
}

// sendStream sends a whole text stream at once on behalf of sender.
func (r *agentRun) sendStream(ctx context.Context, sender, topic string, attrs map[string]string, text string) {
	id := newID("")
	w := r.a.o.Wire
	h, err1 := w.StreamHeader(sender, id, topic, attrs, time.Now())
	c, err2 := w.StreamChunk(sender, id, 0, []byte(text))
	t, err3 := w.StreamTrailer(sender, id, "", nil)
	if err := errors.Join(err1, err2, err3); err != nil {
		r.a.o.Logger.Warn("scripted agent: stream not encoded", "err", err)
		return
	}
	r.send(ctx, "stream_header", h)
	r.send(ctx, "stream_chunk", c)
	r.send(ctx, "stream_trailer", t)
}

// speak starts saying text: state speaking, the voice for as long as the
// text takes, and its transcription word by word (interim), closed as final.
func (r *agentRun) speak(ctx context.Context, text string, greeting bool) {
	if r.saying != nil {
		r.interrupt(ctx, "")
	}
	u := &utterance{text: text, streamID: newID(""), words: scripted.Words(text), start: time.Now(),
		dur: scripted.SpeakingTime(text), greeting: greeting}
	r.setState(ctx, scripted.StateSpeaking)
	h, err := r.a.o.Wire.StreamHeader(r.identity, u.streamID, scripted.TopicTranscription, map[string]string{
		scripted.AttrSegmentID: newID("SG_"), scripted.AttrTranscribedTrack: r.micSid, scripted.AttrFinal: "false",
	}, u.start)
	if err != nil {
		r.a.o.Logger.Warn("scripted agent: transcription not encoded", "err", err)
		return
	}
	r.send(ctx, "stream_header", h)
	if r.voice != nil {
		r.voice.Speak(u.dur)
	}
	r.saying = u
	r.sendChunk(ctx, u)
}

func (r *agentRun) sendChunk(ctx context.Context, u *utterance) {
	if u.sent >= len(u.words) {
		return
	}
	c, err := r.a.o.Wire.StreamChunk(r.identity, u.streamID, uint64(u.sent), []byte(u.words[u.sent]))
	u.sent++
	if err == nil {
		r.send(ctx, "stream_chunk", c)
	}
}

// finish closes what the agent was saying; reason "" for the whole of it,
// "interrupted" otherwise.
func (r *agentRun) finish(ctx context.Context, reason string) {
	u := r.saying
	if u == nil {
		return
	}
	r.saying = nil
	if reason != "" && r.voice != nil {
		r.voice.Hush()
	}
	// An interrupted transcription ends as agents end it: final, with what
	// was said so far (a trailer reason would make clients drop the text).
	t, err := r.a.o.Wire.StreamTrailer(r.identity, u.streamID, "", map[string]string{scripted.AttrFinal: "true"})
	if err == nil {
		r.send(ctx, "stream_trailer", t)
	}
	if reason == "" {
		r.log().Record(journal.TypeAgentSaid, r.room, r.identity, map[string]any{"text": u.text, "greeting": u.greeting})
		if r.thinkAt.IsZero() {
			r.setState(ctx, scripted.StateListening)
		}
	}
}

// interrupt stops what the agent is saying, as an agent does when the user
// speaks over it.
func (r *agentRun) interrupt(ctx context.Context, by string) {
	u := r.saying
	if u == nil {
		return
	}
	spoken := ""
	for _, w := range u.words[:u.sent] {
		spoken += w
	}
	r.finish(ctx, "interrupted")
	r.log().Record(journal.TypeAgentInterrupted, r.room, r.identity, map[string]any{
		"text": u.text, "spoken": spoken, "by": by,
	})
	r.setState(ctx, scripted.StateListening)
}

// setState publishes lk.agent.state and journals it.
func (r *agentRun) setState(ctx context.Context, s string) {
	if r.state == s {
		return
	}
	r.state = s
	_, err := r.m.Update(ctx, rooms.Update{Attributes: map[string]string{scripted.AttrState: s}})
	if err != nil && !errors.Is(err, rooms.ErrNotJoined) && !errors.Is(err, context.Canceled) {
		r.a.o.Logger.Debug("scripted agent: state not published", "err", err)
	}
	r.log().Record(journal.TypeAgentState, r.room, r.identity, map[string]any{"state": s})
}

// newID returns prefix and 12 random hex digits.
func newID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
