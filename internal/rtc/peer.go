package rtc

import (
	"io"

	"encoding/json"
	"errors"
	"fmt"
	"github.com/pion/datachannel"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// PeerState is the state of a participant's PeerConnection (ICE and DTLS).
type PeerState int

// Peer states, as RTCPeerConnectionState.
const (
	StateNew PeerState = iota
	StateConnecting
	StateConnected
	StateDisconnected
	StateFailed
	StateClosed
)

func (s PeerState) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	default:
		return "new"
	}
}

func stateFrom(s webrtc.PeerConnectionState) PeerState {
	switch s {
	case webrtc.PeerConnectionStateConnecting:
		return StateConnecting
	case webrtc.PeerConnectionStateConnected:
		return StateConnected
	case webrtc.PeerConnectionStateDisconnected:
		return StateDisconnected
	case webrtc.PeerConnectionStateFailed:
		return StateFailed
	case webrtc.PeerConnectionStateClosed:
		return StateClosed
	default:
		return StateNew
	}
}

// Labels of the data channels LiveKit clients open on their publisher
// PeerConnection.
const (
	LabelReliable = "_reliable"
	LabelLossy    = "_lossy"
)

// TrackInfo describes a media track a client started sending.
type TrackInfo struct {
	ID       string // the client's track id
	StreamID string
	Kind     string // "audio" or "video"
	Mid      string
	MimeType string
	SSRC     uint32
	// Source carries the track's media; publish it with Forwarder.Publish.
	Source *Source
}

// Handlers are the Peer's callbacks. All of them are optional. They run one
// at a time, in order, on the Peer's own goroutine, and must not block for
// long. Close may be called from inside a callback; it then returns without
// waiting, and that callback is the last one.
type Handlers struct {
	// OnICECandidate gets a server candidate as the JSON of an
	// RTCIceCandidateInit with candidate, sdpMid and sdpMLineIndex, ready
	// for a trickle (target PUBLISHER). The answer SDP already carries the
	// same candidates, so a client that sees these early loses nothing.
	OnICECandidate func(candidateInitJSON string)
	// OnStateChange reports every new PeerConnection state (repeated
	// states are folded; a transient one may be skipped).
	OnStateChange func(PeerState)
	// OnConnected fires once, the first time ICE and DTLS complete: the
	// moment a participant becomes ACTIVE.
	OnConnected func()
	// OnData gets each message on the client's `_reliable` or `_lossy`
	// channel (a protobuf livekit.DataPacket; see pbwire).
	OnData func(label string, payload []byte)
	// OnTrack reports a media track the client started sending, once per
	// track (simulcast layers share it). Its RTP feeds TrackInfo.Source,
	// which the Forwarder hands to subscribers.
	OnTrack func(TrackInfo)
	// OnNegotiationNeeded reports that tracks were added to or removed from
	// what the server sends. For a Peer from NewPeer (the client offers) it
	// carries how many new audio and video sections the client must add
	// before its next offer (LiveKit's media_sections_requirement; zero
	// counts still ask for an offer). For a Peer from NewSubscriberPeer the
	// counts are zero and the caller sends a new offer (CreateOffer).
	OnNegotiationNeeded func(numAudios, numVideos int)
}

// Errors returned by a Peer.
var (
	ErrClosed        = errors.New("rtc: peer closed")
	ErrNoDataChannel = errors.New("rtc: data channel closed or never opened")
	// ErrSlowConsumer: the client does not take reliable data as fast as
	// it is sent, and its backlog is full (Options.DataBacklog). The
	// message was not queued; the caller should disconnect the client.
	ErrSlowConsumer = errors.New("rtc: data backlog full, client too slow")
	// ErrDataDropped: a lossy message was dropped, the client's channel
	// being backed up.
	ErrDataDropped = errors.New("rtc: lossy data dropped, channel backed up")
)

const (
	maxPendingCandidates = 256  // remote candidates held until the offer arrives
	maxQueuedEvents      = 8192 // data messages beyond this are dropped
	gatherTimeout        = 5 * time.Second
)

type eventKind int

const (
	evCandidate eventKind = iota
	evState
	evConnected
	evData
	evTrack
	evNegotiate
	evHandlers // SetHandlers: later events go to the new callbacks
)

type event struct {
	kind     eventKind
	text     string // candidate JSON or channel label
	state    PeerState
	payload  []byte
	track    TrackInfo
	handlers *Handlers // evHandlers
}

// Peer is the server side of one participant's publisher PeerConnection.
type Peer struct {
	pc     *webrtc.PeerConnection
	h      Handlers
	log    *slog.Logger
	codecs []codec // the Engine's; offers are trimmed to them

	negMu   sync.Mutex // serialises negotiations and remote candidates
	pending []webrtc.ICECandidateInit

	chMu     sync.Mutex
	channels map[string]*webrtc.DataChannel // open, detached, read
	// Data waiting for its channel, by label: sent before the channel
	// opened (the client may see a channel open before the server does),
	// or while SCTP's send buffer is over dataHigh. Bounded by dataBacklog.
	outQueue              map[string]*dataQueue
	shut                  map[string]bool // channels that opened and closed again
	dataHigh, dataBacklog int
	inDropped             func(label string) // Options.InboundDataDropped

	evMu       sync.Mutex
	events     []event
	held       []event // server candidates gathered while an offer is answered
	answering  bool
	lastState  PeerState
	connected  bool
	closed     bool
	wake       chan struct{}
	stop       chan struct{}
	done       chan struct{}
	inCallback atomic.Bool

	trMu          sync.Mutex
	tracksStopped bool
	readers       sync.WaitGroup
	sources       map[string]*Source // by mid (or track id), while they last
	downs         map[*downTrack]struct{}

	offerer bool // a subscriber PeerConnection: the server offers
	// Sections asked of the client (media_sections_requirement) and not yet
	// seen in one of its offers; guarded by negMu.
	askedAudios, askedVideos int
	negQueued                bool // an evNegotiate waits in events; evMu

	closeOnce sync.Once
	closeErr  error
}

// NewPeer creates the server side of a participant's publisher
// PeerConnection: the client offers, the server answers. On /rtc/v1 it also
// carries what the participant subscribes to.
func (e *Engine) NewPeer(h Handlers) (*Peer, error) { return e.newPeer(h, false) }

// NewSubscriberPeer creates the server side of a participant's subscriber
// PeerConnection (the /rtc v0 dual-PeerConnection mode): the server offers
// (CreateOffer) and the client answers (HandleAnswer).
func (e *Engine) NewSubscriberPeer(h Handlers) (*Peer, error) { return e.newPeer(h, true) }

func (e *Engine) newPeer(h Handlers, offerer bool) (*Peer, error) {
	if e.closed.Load() {
		return nil, errors.New("rtc: engine closed")
	}
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("rtc: new peer connection: %w", err)
	}
	p := &Peer{
		pc:          pc,
		h:           h,
		log:         e.log,
		codecs:      e.codecs,
		channels:    map[string]*webrtc.DataChannel{},
		outQueue:    map[string]*dataQueue{},
		shut:        map[string]bool{},
		dataHigh:    e.dataHigh,
		sources:     map[string]*Source{},
		downs:       map[*downTrack]struct{}{},
		offerer:     offerer,
		dataBacklog: e.dataBacklog,
		inDropped:   e.inDropped,
		wake:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		b, err := json.Marshal(c.ToJSON())
		if err != nil {
			return
		}
		p.push(event{kind: evCandidate, text: string(b)})
	})
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) {
		// pion runs each of these in its own goroutine, so they can arrive
		// out of order; the current state is the truth.
		p.noteState(stateFrom(pc.ConnectionState()))
	})
	pc.OnDataChannel(p.addChannel)
	pc.OnTrack(p.readTrack)
	go p.loop()
	return p, nil
}

// HandleOffer applies a client offer and returns the answer SDP, which
// already lists the server's candidates. Negotiations on one Peer run one at
// a time. id is the offer's LiveKit id; the caller echoes it in the answer.
func (p *Peer) HandleOffer(sdp string, id uint32) (string, error) {
	answer, _, err := p.HandleOfferTracks(sdp, id)
	return answer, err
}

// HandleOfferTracks is HandleOffer that also returns the answer's
// mid_to_track_id: every section the server sends a track on, with the
// track's TR_ sid. Clients replace their whole map with it on every answer.
func (p *Peer) HandleOfferTracks(sdp string, id uint32) (string, map[string]string, error) {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed() {
		return "", nil, ErrClosed
	}
	if p.offerer {
		return "", nil, fmt.Errorf("rtc: offer %d: this PeerConnection is the offerer", id)
	}
	if strings.TrimSpace(sdp) == "" {
		return "", nil, fmt.Errorf("rtc: offer %d: empty SDP", id)
	}
	p.setAnswering(true)
	defer p.setAnswering(false)

	beforeA, beforeV := p.unmatched()
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: trimOffer(sdp, p.codecs)}); err != nil {
		return "", nil, fmt.Errorf("rtc: offer %d: %w", id, err)
	}
	for _, c := range p.pending {
		p.addRemoteCandidate(c)
	}
	p.pending = nil

	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return "", nil, fmt.Errorf("rtc: answer %d: %w", id, err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return "", nil, fmt.Errorf("rtc: answer %d: %w", id, err)
	}
	p.afterAnswer(beforeA, beforeV)
	if err := p.waitGathering(gathered); err != nil {
		return "", nil, err
	}
	local := p.pc.LocalDescription()
	if local == nil {
		return "", nil, fmt.Errorf("rtc: answer %d: no local description", id)
	}
	return local.SDP, p.midToTrackID(), nil
}

// waitGathering waits until the local candidates are gathered (ms on the
// mux), giving up after gatherTimeout: trickle brings the rest.
func (p *Peer) waitGathering(gathered <-chan struct{}) error {
	timer := time.NewTimer(gatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-p.stop:
		return ErrClosed
	case <-timer.C:
	}
	return nil
}

// AddICECandidate applies a client candidate (the JSON of an
// RTCIceCandidateInit from a trickle). Candidates that arrive before the
// offer are held until it is applied. A candidate pion cannot use (an mDNS
// .local host from a browser, say) is ignored: peer-reflexive discovery
// still connects. Only malformed JSON is an error.
func (p *Peer) AddICECandidate(candidateInitJSON string) error {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal([]byte(candidateInitJSON), &c); err != nil {
		return fmt.Errorf("rtc: bad candidate: %w", err)
	}
	if c.Candidate == "" || isMDNS(c.Candidate) {
		return nil // end-of-candidates, or nothing pion can resolve
	}
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	if p.pc.RemoteDescription() == nil {
		if len(p.pending) < maxPendingCandidates {
			p.pending = append(p.pending, c)
		}
		return nil
	}
	p.addRemoteCandidate(c)
	return nil
}

func (p *Peer) addRemoteCandidate(c webrtc.ICECandidateInit) {
	if err := p.pc.AddICECandidate(c); err != nil {
		p.log.Debug("rtc: remote candidate ignored", "err", err)
	}
}

func isMDNS(candidate string) bool {
	// candidate:<foundation> <component> <proto> <priority> <address> ...
	f := strings.Fields(candidate)
	return len(f) > 4 && strings.HasSuffix(f[4], ".local")
}

// SendData writes a message to the client's own `_reliable` (reliable) or
// `_lossy` channel, which LiveKit clients also read. It never blocks. A
// message waits in a queue while the channel is not open here yet, or
// while SCTP's send buffer for it is full (the client reads slower than
// data comes); the queue is sent as the buffer drains, in order. Errors:
// ErrSlowConsumer when a reliable message does not fit in the backlog
// (Options.DataBacklog); ErrDataDropped for a lossy message that would
// have to wait behind others; ErrNoDataChannel when the client closed the
// channel, or has not opened it and the backlog is full; ErrClosed.
func (p *Peer) SendData(reliable bool, payload []byte) error {
	if p.isClosed() {
		return ErrClosed
	}
	label := LabelLossy
	if reliable {
		label = LabelReliable
	}
	p.chMu.Lock()
	defer p.chMu.Unlock()
	if p.shut[label] {
		return ErrNoDataChannel
	}
	dc := p.channels[label]
	q := p.outQueue[label]
	if dc != nil && q.empty() && int(dc.BufferedAmount()) < p.dataHigh {
		if err := dc.Send(payload); err != nil {
			return fmt.Errorf("rtc: send on %s: %w", label, err)
		}
		return nil
	}
	if dc != nil && !reliable {
		return ErrDataDropped // lossy data does not wait behind a backlog
	}
	if q == nil {
		q = &dataQueue{}
		p.outQueue[label] = q
	}
	if q.bytes+queuedSize(payload) > p.dataBacklog {
		if dc == nil {
			return ErrNoDataChannel // the client has not opened it in all this time
		}
		if reliable {
			return ErrSlowConsumer
		}
		return ErrDataDropped
	}
	q.push(payload)
	return nil
}

// drain sends what waits for label's channel while SCTP's send buffer is
// below its high water; the channel's buffered-amount-low callback calls
// it again once the buffer has drained. chMu is held.
func (p *Peer) drain(label string) {
	dc, q := p.channels[label], p.outQueue[label]
	if dc == nil || q == nil {
		return
	}
	for !q.empty() && int(dc.BufferedAmount()) < p.dataHigh {
		if err := dc.Send(q.msgs[0]); err != nil {
			p.log.Debug("rtc: queued data lost with its channel", "label", label, "messages", len(q.msgs), "err", err)
			delete(p.outQueue, label)
			return
		}
		q.pop()
	}
	if q.empty() {
		delete(p.outQueue, label)
	}
}

// dataQueue is the data waiting for one channel.
type dataQueue struct {
	msgs  [][]byte
	bytes int // queuedSize of msgs
}

func (q *dataQueue) empty() bool { return q == nil || len(q.msgs) == 0 }

func (q *dataQueue) push(b []byte) {
	q.msgs = append(q.msgs, b)
	q.bytes += queuedSize(b)
}

func (q *dataQueue) pop() {
	q.bytes -= queuedSize(q.msgs[0])
	q.msgs[0] = nil
	q.msgs = q.msgs[1:]
}

// queuedSize is what a queued message counts against the backlog: its
// payload and a fixed overhead, so that many tiny messages are bounded too.
func queuedSize(b []byte) int { return len(b) + queuedOverhead }

const (
	queuedOverhead  = 64
	maxSCTPBuffered = 1 << 20 // the most SCTP buffers for one channel before data queues
)

// State is the current PeerConnection state.
func (p *Peer) State() PeerState {
	return stateFrom(p.pc.ConnectionState())
}

// Close ends the PeerConnection and every goroutine of the Peer; OnStateChange
// gets StateClosed first if it has not had it. It waits for the callback
// goroutine, except while a callback is running (so that Close from inside
// one cannot deadlock), in which case the running callback is the last. Safe
// to call more than once.
func (p *Peer) Close() error {
	p.closeOnce.Do(func() {
		p.trMu.Lock()
		p.tracksStopped = true
		downs := make([]*downTrack, 0, len(p.downs))
		for d := range p.downs {
			downs = append(downs, d)
		}
		p.trMu.Unlock()
		for _, d := range downs {
			d.src.remove(d)
		}

		p.closeErr = p.pc.Close()
		p.readers.Wait()

		p.evMu.Lock()
		if p.lastState != StateClosed {
			p.lastState = StateClosed
			p.events = append(p.events, event{kind: evState, state: StateClosed})
		}
		p.closed = true
		p.evMu.Unlock()
		close(p.stop)
	})
	if !p.inCallback.Load() {
		<-p.done
	}
	return p.closeErr
}

func (p *Peer) isClosed() bool {
	p.evMu.Lock()
	defer p.evMu.Unlock()
	return p.closed
}

// addChannel takes a data channel the client opened. Channels are detached
// (see NewEngine) and read here instead of by pion, whose read loop holds a
// 64 KiB buffer per channel for the channel's life: three channels a
// participant made that most of the server's memory per participant.
func (p *Peer) addChannel(dc *webrtc.DataChannel) {
	label := dc.Label()
	dc.OnOpen(func() {
		raw, err := dc.Detach()
		if err != nil {
			p.log.Debug("rtc: data channel not detached", "label", label, "err", err)
			return
		}
		p.trMu.Lock()
		if p.tracksStopped { // the Peer is closing
			p.trMu.Unlock()
			_ = raw.Close()
			return
		}
		p.readers.Add(1)
		p.trMu.Unlock()
		// What was sent before the channel opened goes first; SendData waits
		// on chMu meanwhile, so nothing overtakes it. Later, SCTP's send
		// buffer draining below a quarter of its high water sends more.
		dc.SetBufferedAmountLowThreshold(uint64(p.dataHigh / 4))
		dc.OnBufferedAmountLow(func() {
			p.chMu.Lock()
			defer p.chMu.Unlock()
			p.drain(label)
		})
		p.chMu.Lock()
		p.channels[label] = dc
		delete(p.shut, label)
		p.drain(label)
		p.chMu.Unlock()
		go func() {
			defer p.readers.Done()
			p.readChannel(label, raw)
			p.chMu.Lock()
			if p.channels[label] == dc {
				delete(p.channels, label)
				p.shut[label] = true
				if q := p.outQueue[label]; !q.empty() {
					p.log.Debug("rtc: queued data lost with its channel", "label", label, "messages", len(q.msgs))
				}
				delete(p.outQueue, label)
			}
			p.chMu.Unlock()
		}()
	})
}

// Sizes of the buffer a data channel is read into: it starts small and
// doubles while a message does not fit, up to the largest message accepted.
const (
	channelReadBuffer = 1024
	maxChannelMessage = 256 << 10
)

// readChannel reads one detached channel until it or the PeerConnection
// closes. Messages on `_reliable` and `_lossy` become OnData events; others
// (`_data_track`) are read and dropped, as pion's own read loop did, so that
// they do not pile up in SCTP's queues.
func (p *Peer) readChannel(label string, raw datachannel.ReadWriteCloser) {
	deliver := label == LabelReliable || label == LabelLossy
	buf := make([]byte, channelReadBuffer)
	for {
		n, _, err := raw.ReadDataChannel(buf)
		if errors.Is(err, io.ErrShortBuffer) {
			if len(buf) >= maxChannelMessage {
				p.log.Warn("rtc: data message too large, channel closed", "label", label, "limit", maxChannelMessage)
				_ = raw.Close()
				return
			}
			buf = make([]byte, 2*len(buf)) // the message waits in SCTP meanwhile
			continue
		}
		if err != nil {
			return
		}
		if deliver {
			p.push(event{kind: evData, text: label, payload: append([]byte(nil), buf[:n]...)})
		}
		if len(buf) > channelReadBuffer {
			buf = make([]byte, channelReadBuffer)
		}
	}
}

func (p *Peer) readTrack(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	mid := p.midOf(rcv)
	key := mid
	if key == "" {
		key = tr.ID()
	}
	p.trMu.Lock()
	if p.tracksStopped {
		p.trMu.Unlock()
		return
	}
	p.readers.Add(2)
	src := p.sources[key]
	fresh := src == nil || src.isEnded()
	if fresh {
		src = newSource(tr.Kind(), tr.Codec().RTPCodecCapability, tr.ID(), p.pc.WriteRTCP)
		p.sources[key] = src
	}
	p.trMu.Unlock()

	if fresh {
		p.push(event{kind: evTrack, track: TrackInfo{
			ID:       tr.ID(),
			StreamID: tr.StreamID(),
			Kind:     tr.Kind().String(),
			Mid:      mid,
			MimeType: tr.Codec().MimeType,
			SSRC:     uint32(tr.SSRC()),
			Source:   src,
		}})
	}
	// Both reads end when the PeerConnection closes or the track stops.
	go func() {
		defer p.readers.Done()
		p.forward(tr, src, key)
	}()
	go func() {
		defer p.readers.Done()
		buf := make([]byte, 1500)
		rid := tr.RID()
		for {
			// A simulcast layer has its own RTCP stream: Read would use the
			// first layer's, which may not exist yet (pion dereferences nil).
			var err error
			if rid != "" {
				_, _, err = rcv.ReadSimulcast(buf, rid)
			} else {
				_, _, err = rcv.Read(buf)
			}
			if err != nil {
				return
			}
		}
	}()
}

// Sources returns the media the client is sending now (a resumed session
// publishes them again; see Source.PublishedAs).
func (p *Peer) Sources() []*Source {
	p.trMu.Lock()
	defer p.trMu.Unlock()
	out := make([]*Source, 0, len(p.sources))
	for _, src := range p.sources {
		if !src.isEnded() {
			out = append(out, src)
		}
	}
	return out
}

// forward reads one encoding of a track. The first encoding to deliver a
// packet is the one forwarded; the others are read and dropped. When the
// forwarded one stops, the source ends.
func (p *Peer) forward(tr *webrtc.TrackRemote, src *Source, key string) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	claimed, decided := false, false
	defer func() {
		if !claimed {
			return
		}
		src.end()
		p.trMu.Lock()
		if p.sources[key] == src {
			delete(p.sources, key)
		}
		p.trMu.Unlock()
	}()
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if !decided {
			claimed, decided = src.claim(uint32(tr.SSRC())), true
		}
		if !claimed {
			continue
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		// The publisher's header extensions use its own ids (mid, rid,
		// audio level...); a subscriber would misread them.
		pkt.Header.Extension = false
		pkt.Header.Extensions = nil
		pkt.Header.ExtensionProfile = 0
		src.write(&pkt)
	}
}

func (p *Peer) midOf(rcv *webrtc.RTPReceiver) string {
	for _, t := range p.pc.GetTransceivers() {
		if t.Receiver() == rcv {
			return t.Mid()
		}
	}
	return ""
}

func (p *Peer) setAnswering(on bool) {
	p.evMu.Lock()
	defer p.evMu.Unlock()
	p.answering = on
	if !on && len(p.held) > 0 {
		p.events = append(p.events, p.held...)
		p.held = nil
		p.signal()
	}
}

func (p *Peer) noteState(s PeerState) {
	p.evMu.Lock()
	defer p.evMu.Unlock()
	if p.closed || s == p.lastState {
		return
	}
	p.lastState = s
	p.events = append(p.events, event{kind: evState, state: s})
	if s == StateConnected && !p.connected {
		p.connected = true
		p.events = append(p.events, event{kind: evConnected})
	}
	p.signal()
}

func (p *Peer) push(ev event) {
	p.evMu.Lock()
	defer p.evMu.Unlock()
	switch {
	case p.closed:
		return
	case ev.kind == evCandidate && p.answering:
		p.held = append(p.held, ev)
		return
	case ev.kind == evData && len(p.events) >= maxQueuedEvents:
		p.log.Warn("rtc: data message dropped, consumer too slow", "label", ev.text)
		if p.inDropped != nil {
			p.inDropped(ev.text)
		}
		return
	}
	p.events = append(p.events, ev)
	p.signal()
}

// signal wakes the loop; evMu is held.
func (p *Peer) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Peer) loop() {
	defer close(p.done)
	for {
		var stopping bool
		select {
		case <-p.wake:
		case <-p.stop:
			stopping = true
		}
		for {
			p.evMu.Lock()
			if len(p.events) == 0 {
				p.events = nil
				p.evMu.Unlock()
				break
			}
			ev := p.events[0]
			p.events = p.events[1:]
			p.evMu.Unlock()
			p.dispatch(ev)
		}
		if stopping {
			return
		}
	}
}

func (p *Peer) dispatch(ev event) {
	p.inCallback.Store(true)
	defer p.inCallback.Store(false)
	h := p.h // only the loop reads or writes p.h
	switch ev.kind {
	case evCandidate:
		if h.OnICECandidate != nil {
			h.OnICECandidate(ev.text)
		}
	case evState:
		if h.OnStateChange != nil {
			h.OnStateChange(ev.state)
		}
	case evConnected:
		if h.OnConnected != nil {
			h.OnConnected()
		}
	case evData:
		if h.OnData != nil {
			h.OnData(ev.text, ev.payload)
		}
	case evTrack:
		if h.OnTrack != nil {
			h.OnTrack(ev.track)
		}
	case evNegotiate:
		p.evMu.Lock()
		p.negQueued = false
		p.evMu.Unlock()
		var audios, videos int
		if !p.offerer {
			p.negMu.Lock()
			audios, videos = p.sectionsToAsk()
			p.negMu.Unlock()
		}
		if h.OnNegotiationNeeded != nil {
			h.OnNegotiationNeeded(audios, videos)
		}
	case evHandlers:
		p.h = *ev.handlers
	}
}

// SetHandlers replaces the Peer's callbacks: events queued before the call
// still reach the old ones, later events the new ones (a resumed LiveKit
// session takes over the Peer its dropped session kept). The switch happens
// on the callback goroutine, the only reader of the handlers.
func (p *Peer) SetHandlers(h Handlers) {
	p.evMu.Lock()
	defer p.evMu.Unlock()
	if p.closed {
		return
	}
	p.events = append(p.events, event{kind: evHandlers, handlers: &h})
	p.signal()
}
