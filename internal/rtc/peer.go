package rtc

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// OnTrack reports a media track the client started sending. Its RTP is
	// read and discarded for now.
	OnTrack func(TrackInfo)
}

// Errors returned by a Peer.
var (
	ErrClosed        = errors.New("rtc: peer closed")
	ErrNoDataChannel = errors.New("rtc: data channel not open")
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
)

type event struct {
	kind    eventKind
	text    string // candidate JSON or channel label
	state   PeerState
	payload []byte
	track   TrackInfo
}

// Peer is the server side of one participant's publisher PeerConnection.
type Peer struct {
	pc  *webrtc.PeerConnection
	h   Handlers
	log *slog.Logger

	negMu   sync.Mutex // serialises negotiations and remote candidates
	pending []webrtc.ICECandidateInit

	chMu     sync.Mutex
	channels map[string]*webrtc.DataChannel

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

	closeOnce sync.Once
	closeErr  error
}

// NewPeer creates a PeerConnection for one participant.
func (e *Engine) NewPeer(h Handlers) (*Peer, error) {
	if e.closed.Load() {
		return nil, errors.New("rtc: engine closed")
	}
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("rtc: new peer connection: %w", err)
	}
	p := &Peer{
		pc:       pc,
		h:        h,
		log:      e.log,
		channels: map[string]*webrtc.DataChannel{},
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
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
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed() {
		return "", ErrClosed
	}
	if strings.TrimSpace(sdp) == "" {
		return "", fmt.Errorf("rtc: offer %d: empty SDP", id)
	}
	p.setAnswering(true)
	defer p.setAnswering(false)

	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return "", fmt.Errorf("rtc: offer %d: %w", id, err)
	}
	for _, c := range p.pending {
		p.addRemoteCandidate(c)
	}
	p.pending = nil

	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("rtc: answer %d: %w", id, err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("rtc: answer %d: %w", id, err)
	}
	timer := time.NewTimer(gatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-p.stop:
		return "", ErrClosed
	case <-timer.C:
		// Answer with what we have; trickle brings the rest.
	}
	local := p.pc.LocalDescription()
	if local == nil {
		return "", fmt.Errorf("rtc: answer %d: no local description", id)
	}
	return local.SDP, nil
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
// `_lossy` channel, which LiveKit clients also read.
func (p *Peer) SendData(reliable bool, payload []byte) error {
	if p.isClosed() {
		return ErrClosed
	}
	label := LabelLossy
	if reliable {
		label = LabelReliable
	}
	p.chMu.Lock()
	dc := p.channels[label]
	p.chMu.Unlock()
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return ErrNoDataChannel
	}
	if err := dc.Send(payload); err != nil {
		return fmt.Errorf("rtc: send on %s: %w", label, err)
	}
	return nil
}

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
		p.trMu.Unlock()

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

func (p *Peer) addChannel(dc *webrtc.DataChannel) {
	label := dc.Label()
	p.chMu.Lock()
	p.channels[label] = dc
	p.chMu.Unlock()
	dc.OnClose(func() {
		p.chMu.Lock()
		if p.channels[label] == dc {
			delete(p.channels, label)
		}
		p.chMu.Unlock()
	})
	if label != LabelReliable && label != LabelLossy {
		return // _data_track and others carry no DataPackets
	}
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		p.push(event{kind: evData, text: label, payload: append([]byte(nil), m.Data...)})
	})
}

func (p *Peer) readTrack(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	p.trMu.Lock()
	if p.tracksStopped {
		p.trMu.Unlock()
		return
	}
	p.readers.Add(2)
	p.trMu.Unlock()

	p.push(event{kind: evTrack, track: TrackInfo{
		ID:       tr.ID(),
		StreamID: tr.StreamID(),
		Kind:     tr.Kind().String(),
		Mid:      p.midOf(rcv),
		MimeType: tr.Codec().MimeType,
		SSRC:     uint32(tr.SSRC()),
	}})
	// Media forwarding comes later; until then RTP and RTCP are drained so
	// pion's buffers do not fill. Both reads end when the PeerConnection
	// closes.
	go func() {
		defer p.readers.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	}()
	go func() {
		defer p.readers.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := rcv.Read(buf); err != nil {
				return
			}
		}
	}()
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
	switch ev.kind {
	case evCandidate:
		if p.h.OnICECandidate != nil {
			p.h.OnICECandidate(ev.text)
		}
	case evState:
		if p.h.OnStateChange != nil {
			p.h.OnStateChange(ev.state)
		}
	case evConnected:
		if p.h.OnConnected != nil {
			p.h.OnConnected()
		}
	case evData:
		if p.h.OnData != nil {
			p.h.OnData(ev.text, ev.payload)
		}
	case evTrack:
		if p.h.OnTrack != nil {
			p.h.OnTrack(ev.track)
		}
	}
}
