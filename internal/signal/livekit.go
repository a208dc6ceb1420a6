package signal

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/lkproto"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// Limits of the LiveKit dialect (SPEC §2): SDKs trickle fast and send large
// SDPs.
const (
	LiveKitReadLimit = 2 << 20
	LiveKitRate      = 200
	LiveKitBurst     = 400
)

// Limits the real server puts on what a participant may set about itself
// (SPEC §7).
const (
	maxMetadataBytes   = 512 << 10
	maxAttributesBytes = 64 << 10
	maxNameBytes       = 256
)

// reasonStateMismatch ends a session the client tried to resume: the leave
// it gets asks for a full rejoin.
const reasonStateMismatch rooms.Reason = "state_mismatch"

// reasonJoinFailure ends a session whose join the room refused.
const reasonJoinFailure rooms.Reason = "join_failure"

// LiveKitOptions configure the LiveKit dialect.
type LiveKitOptions struct {
	Registry *rooms.Registry
	// Engine answers the clients' publisher PeerConnections; nil leaves
	// offers unanswered (signal-only tests).
	Engine     *rtc.Engine
	ICEServers []pbwire.ICEServer
	Server     pbwire.ServerInfo
	Limits     Limits // zero: 2 MiB frames, 200 messages/s, burst 400
	Now        func() time.Time
	// RefreshInterval is how often a fresh token is sent; default 5 min,
	// as the real server does.
	RefreshInterval time.Duration
	Logger          *slog.Logger

	// What the checks before the upgrade need (livekit_http.go).
	Hub      *Hub
	Verifier *auth.Verifier
	Keys     map[string]string // key → secret: refresh tokens are signed with the key of the original
	Origins  []string          // RTC_ALLOWED_ORIGINS
	// Homes relays a session whose room another instance holds (several
	// instances); nil: every room is here.
	Homes Homes
	// DataDropped counts one data packet not delivered to one receiver, by
	// kind: DataLossy (dropped, the receiver's channel backed up) or
	// DataReliable (the receiver is disconnected as a slow consumer, or its
	// channel is closed). nil: not counted. It must not block.
	DataDropped func(kind string)
}

// LiveKit is the LiveKit protobuf dialect. Every session gets its own
// Dialect from Dialect, carrying what the upgrade request established.
type LiveKit struct {
	o       LiveKitOptions
	origins origins
	res     *resumeTable // sessions by room and identity, for resumes (livekit_resume.go)
}

// NewLiveKit returns the LiveKit dialect.
func NewLiveKit(o LiveKitOptions) *LiveKit {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits == (Limits{}) {
		o.Limits = Limits{ReadLimit: LiveKitReadLimit, Rate: LiveKitRate, Burst: LiveKitBurst}
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &LiveKit{o: o, origins: newOrigins(o.Origins), res: newResumeTable()}
}

// LiveKitJoin is what the HTTP layer verified before the upgrade.
type LiveKitJoin struct {
	Grant  Grant  // identity, name, metadata, attributes, room, permission
	Kind   string // the token's participant kind; "" standard
	Params pbwire.JoinParams
	// Refresh mints the token sent as refresh_token (same claims); nil
	// sends none.
	Refresh func() (string, error)
	// RoomAgents are the token's roomConfig.agents, applied when the join
	// creates the room (rooms.JoinRequest.RoomAgents).
	RoomAgents []rooms.AgentDispatch
}

// Dialect returns the dialect of one session.
func (l *LiveKit) Dialect(j LiveKitJoin) Dialect { return &lkDialect{o: &l.o, j: j, res: l.res} }

type lkDialect struct {
	o   *LiveKitOptions
	j   LiveKitJoin
	res *resumeTable
}

func (d *lkDialect) Name() string   { return rooms.DialectLiveKit }
func (d *lkDialect) Limits() Limits { return d.o.Limits }

// RefuseHandshake answers in plain text, as the real server does.
func (d *lkDialect) RefuseHandshake(w http.ResponseWriter, status int, msg string) {
	writePlain(w, status, msg)
}

// writePlain writes a plain-text answer, LiveKit's style before the upgrade.
func writePlain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (d *lkDialect) NewHandler(s *Session) Handler {
	return &lkHandler{o: d.o, j: &d.j, s: s, res: d.res, log: d.o.Logger, stop: make(chan struct{})}
}

// lkHandler is one LiveKit session. Message, Open and Closed run on the
// reader goroutine; the peer's callbacks on the peer's goroutine; the
// encoder on the writer goroutine.
type lkHandler struct {
	o   *LiveKitOptions
	j   *LiveKitJoin
	s   *Session
	res *resumeTable
	log *slog.Logger

	peer   *rtc.Peer // set in Open before the sink exists; fixed after
	media  *lkMedia  // set in Open before the peer; nil without an engine (livekit_media.go)
	member atomic.Pointer[rooms.Member]

	candMu    sync.Mutex // orders server candidates after the answer
	answering bool
	held      []string

	stop     chan struct{} // closed by Closed: ends the refresh loop
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func (h *lkHandler) send(r pbwire.Response) {
	b, err := r.Encode(0)
	if err != nil {
		h.log.Warn("livekit: cannot encode response", "msg", r.Name(), "err", err)
		return
	}
	h.s.Send(BinaryMessage, b)
}

func (h *lkHandler) ctx() context.Context { return h.s.Context() }

// peerHandlers are the publisher peer's callbacks; a resumed session
// installs its own on the kept peer (Peer.SetHandlers).
func (h *lkHandler) peerHandlers() rtc.Handlers {
	return rtc.Handlers{
		OnICECandidate: h.onCandidate,
		OnStateChange:  h.onPeerState,
		OnConnected:    h.onConnected,
		OnData:         h.onData,
		// Media forwarding (livekit_media.go).
		OnTrack:             h.onTrack,
		OnNegotiationNeeded: h.onNegotiationNeeded,
	}
}

// announceHold is how long a LiveKit participant with a PeerConnection
// joins unannounced (rooms.JoinRequest.Hold): an rtc-node connect takes
// about 50 ms on loopback.
const announceHold = 100 * time.Millisecond

// goAnswerHold delays the answer to the offer in a Go SDK's join_request.
// server-sdk-go 2.19 applies its own offer only after it has handled the
// JoinResponse, while its reader already runs: an answer that arrives with
// the JoinResponse is applied first, fails ("stable->SetRemote(answer)"),
// and the join times out after 15 s. LiveKit's answer comes later because
// it is made after the join; this hold stands in for that.
const goAnswerHold = 100 * time.Millisecond

func (h *lkHandler) Open() {
	p := h.j.Params
	if p.Reconnect {
		h.resume() // livekit_resume.go
		return
	}
	if h.o.Engine != nil {
		if err := h.startMedia(); err != nil {
			h.log.Warn("livekit: cannot create subscriber connection", "err", err)
			h.s.End(reasonJoinFailure)
			return
		}
		peer, err := h.o.Engine.NewPeer(h.peerHandlers())
		if err != nil {
			h.log.Warn("livekit: cannot create peer connection", "err", err)
			h.s.End(reasonJoinFailure)
			return
		}
		h.peer = peer
	}
	g := h.j.Grant
	req := rooms.JoinRequest{
		Room:       g.Room,
		Identity:   g.Identity,
		Name:       g.Name,
		Metadata:   g.Metadata,
		Attributes: mergeAttributes(g.Attributes, p.Attributes),
		Permission: g.Permission,
		Dialect:    rooms.DialectLiveKit,
		Kind:       h.j.Kind,
		State:      rooms.StateJoined,
		RoomAgents: h.j.RoomAgents,
	}
	if p.Metadata != "" {
		req.Metadata = p.Metadata
	}
	if h.peer != nil {
		// The others hear of the join (and of JOINED → ACTIVE) once the
		// newcomer has had time to connect, unless it does something first:
		// in a busy room every other client handles the announcement, and
		// on a small machine that work would land on the newcomer's connect.
		// LiveKit batches such updates for 3 s; this is far shorter.
		req.Hold = announceHold
	}
	// The offer that came with the join (/rtc/v1) is answered before the
	// join is announced, and the answer is sent after the JoinResponse: in a
	// busy room the announcement sets every other participant's client to
	// work, and answering first keeps that work off the newcomer's path.
	// Subscriptions to the tracks already in the room therefore come with
	// the renegotiation after the join, as on LiveKit, which subscribes a
	// participant once it is ACTIVE.
	var (
		answer   pbwire.Response
		answered bool
	)
	if p.PublisherOffer != nil {
		answer, answered = h.answer(*p.PublisherOffer)
	}
	enc := lkEncoder{identity: g.Identity, o: h.o, media: h.media}
	m, err := h.o.Registry.Join(h.ctx(), req, h.sink(h.s.Sink(enc.encode)))
	if err != nil {
		h.log.Info("livekit: join refused", "room", g.Room, "err", err)
		h.s.End(reasonJoinFailure)
		return
	}
	h.member.Store(m)
	h.res.joined(h, m)
	for _, t := range p.AddTracks {
		h.addTrack(t)
	}
	switch {
	case p.PublisherOffer != nil && p.SDK == "go":
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			t := time.NewTimer(goAnswerHold)
			defer t.Stop()
			select {
			case <-h.stop:
			case <-t.C:
				h.sendAnswer(answer, answered)
			}
		}()
	case p.PublisherOffer != nil:
		h.sendAnswer(answer, answered)
	}
	if h.j.Refresh != nil {
		h.refresh()
		h.wg.Add(1)
		go h.refreshLoop()
	}
}

func mergeAttributes(base, extra map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func (h *lkHandler) refresh() {
	tok, err := h.j.Refresh()
	if err != nil {
		h.log.Warn("livekit: cannot mint refresh token", "err", err)
		return
	}
	h.send(pbwire.RefreshToken(tok))
}

func (h *lkHandler) refreshLoop() {
	defer h.wg.Done()
	t := time.NewTicker(h.o.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.refresh()
		}
	}
}

// Notice is the leave every server-ended session gets before its close
// frame: livekit-client resumes after any close that has none.
func (h *lkHandler) Notice(reason string) (int, []byte, bool) {
	action := pbwire.LeaveDisconnect
	if reason == string(reasonStateMismatch) {
		action = pbwire.LeaveReconnect
	}
	b, err := pbwire.Leave(reason, action).Encode(0)
	if err != nil {
		return 0, nil, false
	}
	return BinaryMessage, b, true
}

func (h *lkHandler) Closed(reason rooms.Reason) {
	h.stopOnce.Do(func() { close(h.stop) })
	h.wg.Wait()
	h.stopMedia() // before a park too: a resumed session starts without media
	// A socket that dropped without leave keeps its participant and peer
	// for the resume window (SPEC §8; livekit_resume.go).
	if h.park(reason) {
		return
	}
	h.res.gone(h)
	if m := h.member.Swap(nil); m != nil {
		_ = m.Leave(context.Background(), reason)
	}
	if h.peer != nil {
		_ = h.peer.Close()
	}
}

func (h *lkHandler) Message(msgType int, data []byte) {
	if msgType != BinaryMessage {
		h.log.Debug("livekit: text frame ignored")
		return
	}
	req, err := pbwire.DecodeRequest(data)
	if err != nil {
		h.log.Debug("livekit: bad signal request ignored", "err", err)
		return
	}
	switch req.Kind {
	case pbwire.KindPing:
		if !h.s.Silenced() { // a silence fault: the client's ping timeout fires
			h.send(pbwire.Pong(h.o.Now()))
		}
	case pbwire.KindPingReq:
		if !h.s.Silenced() {
			h.send(pbwire.PongResp(req.PingReq.Timestamp, h.o.Now()))
		}
	case pbwire.KindSimulate:
		h.simulate(req.Simulate) // livekit_resume.go
	case pbwire.KindOffer:
		h.offer(req.SDP)
	case pbwire.KindTrickle:
		if req.Trickle.Target == pbwire.TargetPublisher && h.peer != nil {
			if err := h.peer.AddICECandidate(req.Trickle.CandidateInit); err != nil {
				h.log.Debug("livekit: bad candidate ignored", "err", err)
			}
		} else if req.Trickle.Target == pbwire.TargetSubscriber && h.media != nil {
			h.media.subscriberTrickle(req.Trickle.CandidateInit)
		}
	case pbwire.KindAnswer:
		if h.media != nil {
			h.media.answer(req.SDP)
		}
	case pbwire.KindAddTrack:
		h.addTrack(req.AddTrack)
	case pbwire.KindMute:
		if m := h.member.Load(); m != nil {
			_, _ = m.MuteTrack(h.ctx(), req.Mute.SID, req.Mute.Muted)
		}
	case pbwire.KindUpdateMetadata:
		h.updateMetadata(req.UpdateMetadata)
	case pbwire.KindSubscription:
		if m := h.member.Load(); m != nil {
			for _, sid := range req.Subscription.TrackSIDs {
				_ = m.SetSubscribed(h.ctx(), sid, req.Subscription.Subscribe)
				if h.media != nil {
					h.media.choose(sid, req.Subscription.Subscribe)
				}
			}
		}
	case pbwire.KindIgnored:
		if req.Name == "subscription_permission" && h.media != nil {
			h.media.permissions(data)
		}
	case pbwire.KindLeave:
		if m := h.member.Swap(nil); m != nil {
			_ = m.Leave(h.ctx(), rooms.ReasonLeft)
		}
		h.s.End(rooms.ReasonLeft)
	}
}

// offer answers one publisher offer with the same id. Server candidates
// gathered meanwhile wait until the answer is queued.
func (h *lkHandler) offer(sd pbwire.SessionDescription) {
	h.sendAnswer(h.answer(sd))
}

// answer applies a publisher offer and returns the answer to send (ok false
// when there is none to send). Server candidates gathered from here on are
// held until sendAnswer.
func (h *lkHandler) answer(sd pbwire.SessionDescription) (r pbwire.Response, ok bool) {
	if h.peer == nil {
		return r, false
	}
	h.candMu.Lock()
	h.answering = true
	h.candMu.Unlock()
	sdp, mids, err := h.peer.HandleOfferTracks(sd.SDP, sd.ID)
	if err != nil {
		h.log.Warn("livekit: offer not answered", "id", sd.ID, "err", err)
		return r, false
	}
	return pbwire.Answer(sdp, sd.ID, mids), true
}

// sendAnswer queues the answer from answer, then the candidates it held.
func (h *lkHandler) sendAnswer(r pbwire.Response, ok bool) {
	if ok {
		h.send(r)
	}
	h.candMu.Lock()
	defer h.candMu.Unlock()
	h.answering = false
	for _, c := range h.held {
		h.trickle(c)
	}
	h.held = nil
}

func (h *lkHandler) onCandidate(candidateInit string) {
	h.candMu.Lock()
	defer h.candMu.Unlock()
	if h.answering {
		h.held = append(h.held, candidateInit)
		return
	}
	h.trickle(candidateInit)
}

func (h *lkHandler) trickle(candidateInit string) {
	r, err := pbwire.Trickle(candidateInit, pbwire.TargetPublisher)
	if err != nil {
		h.log.Warn("livekit: server candidate not sent", "err", err)
		return
	}
	h.send(r)
}

func (h *lkHandler) onConnected() {
	if m := h.member.Load(); m != nil {
		_ = m.SetState(h.ctx(), rooms.StateActive)
	}
}

func (h *lkHandler) onPeerState(s rtc.PeerState) {
	if s == rtc.StateFailed {
		// ICE consent lapsed: the client is gone or cannot reach us.
		h.s.End(rooms.ReasonTimeout)
	}
}

func (h *lkHandler) onData(label string, payload []byte) {
	if m := h.member.Load(); m != nil {
		relayData(h.ctx(), m, h.log, label, payload)
	}
}

func (h *lkHandler) addTrack(a pbwire.AddTrackRequest) {
	m := h.member.Load()
	if m == nil {
		return
	}
	t, err := m.PublishTrack(h.ctx(), rooms.TrackRequest{
		Kind: a.Kind, Name: a.Name, Source: a.Source, Muted: a.Muted, Width: a.Width, Height: a.Height,
	})
	if err != nil {
		if errors.Is(err, rooms.ErrPermissionDenied) {
			h.send(pbwire.RequestResponse(0, "not_allowed", "does not have permission to publish "+sourceOr(a.Source)))
		}
		return
	}
	h.send(pbwire.TrackPublished(a.CID, lkproto.Track(t)))
	if h.media != nil {
		h.media.addedTrack(a.CID, t)
	}
}

func sourceOr(s string) string {
	if s == "" {
		return "this track"
	}
	return s
}

func (h *lkHandler) updateMetadata(u pbwire.UpdateMetadataRequest) {
	m := h.member.Load()
	if m == nil {
		return
	}
	attrBytes := 0
	for k, v := range u.Attributes {
		attrBytes += len(k) + len(v)
	}
	if len(u.Metadata) > maxMetadataBytes || len(u.Name) > maxNameBytes || attrBytes > maxAttributesBytes {
		h.send(pbwire.RequestResponse(u.RequestID, "limit_exceeded", "metadata, name or attributes too large"))
		return
	}
	var up rooms.Update
	if u.Name != "" {
		up.Name = &u.Name
	}
	if u.Metadata != "" {
		up.Metadata = &u.Metadata
	}
	up.Attributes = u.Attributes
	_, err := m.Update(h.ctx(), up)
	switch {
	case errors.Is(err, rooms.ErrPermissionDenied):
		h.send(pbwire.RequestResponse(u.RequestID, "not_allowed", "does not have permission to update own metadata"))
	case err == nil && u.RequestID != 0:
		h.send(pbwire.RequestResponse(u.RequestID, "ok", ""))
	}
}

// lkEncoder turns room events into frames for one LiveKit client. It runs
// on the writer goroutine and reads only fields fixed at join time.
type lkEncoder struct {
	identity string
	o        *LiveKitOptions
	media    *lkMedia // nil: no forwarding (livekit_media.go)
}

func (e lkEncoder) frame(r pbwire.Response) (int, []byte, bool) {
	b, err := r.Encode(0)
	if err != nil {
		return 0, nil, false
	}
	return BinaryMessage, b, true
}

func (e lkEncoder) encode(ev rooms.Event) (int, []byte, bool) {
	if e.media != nil {
		e.media.observe(ev)
	}
	switch ev.Kind {
	case rooms.EventJoined:
		others := make([]rooms.ParticipantInfo, 0, len(ev.Room.Participants))
		for _, p := range ev.Room.Participants {
			others = append(others, asSeen(p))
		}
		room := lkproto.Room(*ev.Room)
		room.NumParticipants = uint32(len(others) + 1)
		return e.frame(pbwire.JoinResponse(pbwire.Join{
			Room:        room,
			Participant: lkproto.Participant(ev.Participant, ""),
			Others:      lkproto.Participants(others, ""),
			Server:      e.o.Server,
			ICEServers:  e.o.ICEServers,
		}))
	case rooms.EventTrackPublished:
		if ev.Participant.Identity == e.identity {
			// The publisher learns of its own track from track_published,
			// which the real server sends before any update listing it.
			return 0, nil, false
		}
		return e.frame(pbwire.ParticipantUpdate(lkproto.Participant(ev.Participant, "")))
	case rooms.EventTrackUnpublished:
		if ev.Participant.Identity == e.identity && ev.Reason == rooms.ReasonAdmin {
			// The server took the track away (its permission was revoked):
			// the publisher is told, as LiveKit tells it.
			return e.frame(pbwire.TrackUnpublished(ev.Track.Sid))
		}
		return e.frame(pbwire.ParticipantUpdate(lkproto.Participant(ev.Participant, "")))
	case rooms.EventTrackMuted:
		if ev.Participant.Identity == e.identity && ev.Reason == rooms.ReasonAdmin {
			// The server muted the track: the publisher is asked to, as
			// LiveKit does; the SDK mutes it and confirms with its own
			// mute, which updates everyone.
			return e.frame(pbwire.Mute(ev.Track.Sid, ev.Track.Muted))
		}
		return e.frame(pbwire.ParticipantUpdate(lkproto.Participant(ev.Participant, "")))
	case rooms.EventParticipantJoined, rooms.EventParticipantUpdated:
		return e.frame(pbwire.ParticipantUpdate(lkproto.Participant(ev.Participant, "")))
	case rooms.EventParticipantLeft:
		return e.frame(pbwire.ParticipantUpdate(lkproto.Participant(ev.Participant, ev.Reason)))
	case rooms.EventRoomUpdated:
		if ev.Room == nil {
			return 0, nil, false
		}
		r := lkproto.Room(*ev.Room)
		r.Sid, r.Name = ev.RoomSid, ev.RoomName
		return e.frame(pbwire.RoomUpdate(r))
	}
	// rooms.EventDataReceived bypasses the outbox (dataSink, livekit_data.go).
	return 0, nil, false
}
