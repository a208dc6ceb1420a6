package rtc

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pion/interceptor"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait is the deadline for one network event on loopback; generous so that a
// loaded CI machine under -race does not flake, never a speed assertion.
const wait = 20 * time.Second

func waitFor[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// client plays a LiveKit SDK's publisher PeerConnection: 3 recvonly audio and
// 3 recvonly video transceivers, `_reliable` and `_lossy` channels.
type client struct {
	pc        *webrtc.PeerConnection
	reliable  *webrtc.DataChannel
	lossy     *webrtc.DataChannel
	connected chan struct{}
	opened    chan string
	received  chan dcMsg

	mu        sync.Mutex
	remoteSet bool
	pending   []webrtc.ICECandidateInit
}

type dcMsg struct {
	label   string
	payload string
}

func newClient(t testing.TB) *client {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() }) // tests stay on 127.0.0.1
	se.LoggerFactory = pionLoggers{log: discard}
	// No interceptors, so no MID header extension unless a test registers
	// it: RTP that arrives before the answer declaring its SSRC then waits
	// for that answer, instead of being probed for its MID by a goroutine
	// that races with the receiver the answer starts (a data race inside
	// pion v4.2.18).
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	c := &client{
		pc:        pc,
		connected: make(chan struct{}),
		opened:    make(chan string, 2),
		received:  make(chan dcMsg, 16),
	}
	for _, kind := range []webrtc.RTPCodecType{
		webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeAudio,
		webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeVideo,
	} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	ordered, unordered, zero := true, false, uint16(0)
	if c.reliable, err = pc.CreateDataChannel(LabelReliable, &webrtc.DataChannelInit{Ordered: &ordered}); err != nil {
		t.Fatal(err)
	}
	if c.lossy, err = pc.CreateDataChannel(LabelLossy, &webrtc.DataChannelInit{Ordered: &unordered, MaxRetransmits: &zero}); err != nil {
		t.Fatal(err)
	}
	for _, dc := range []*webrtc.DataChannel{c.reliable, c.lossy} {
		label := dc.Label()
		dc.OnOpen(func() { c.opened <- label })
		dc.OnMessage(func(m webrtc.DataChannelMessage) { c.received <- dcMsg{label, string(m.Data)} })
	}
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(c.connected) })
		}
	})
	return c
}

// addCandidate is the client side of a server trickle: held until the
// answer is applied, as both SDKs do.
func (c *client) addCandidate(t testing.TB, candidateInit string) {
	var init webrtc.ICECandidateInit
	if err := json.Unmarshal([]byte(candidateInit), &init); err != nil {
		t.Errorf("server candidate is not JSON: %v", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.remoteSet {
		c.pending = append(c.pending, init)
		return
	}
	if err := c.pc.AddICECandidate(init); err != nil {
		t.Errorf("client rejected server candidate %s: %v", candidateInit, err)
	}
}

func (c *client) setAnswer(t testing.TB, sdp string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		t.Fatalf("client rejected the answer: %v", err)
	}
	c.remoteSet = true
	for _, init := range c.pending {
		if err := c.pc.AddICECandidate(init); err != nil {
			t.Errorf("client rejected server candidate: %v", err)
		}
	}
	c.pending = nil
}

func (c *client) offer(t testing.TB) string {
	t.Helper()
	o, err := c.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	return o.SDP
}

// server records what a Peer reports.
type server struct {
	peer       *Peer
	candidates chan string
	states     chan PeerState
	connected  chan struct{}
	data       chan dcMsg
	tracks     chan TrackInfo
}

func newServer(t testing.TB, eng *Engine, onCandidate func(string)) *server {
	t.Helper()
	s := &server{
		candidates: make(chan string, 64),
		states:     make(chan PeerState, 64),
		connected:  make(chan struct{}, 1),
		data:       make(chan dcMsg, 64),
		tracks:     make(chan TrackInfo, 8),
	}
	p, err := eng.NewPeer(Handlers{
		OnICECandidate: func(c string) {
			s.candidates <- c
			if onCandidate != nil {
				onCandidate(c)
			}
		},
		OnStateChange: func(st PeerState) { s.states <- st },
		OnConnected:   func() { s.connected <- struct{}{} },
		OnData:        func(label string, b []byte) { s.data <- dcMsg{label, string(b)} },
		OnTrack:       func(ti TrackInfo) { s.tracks <- ti },
	})
	if err != nil {
		t.Fatal(err)
	}
	s.peer = p
	t.Cleanup(func() { _ = p.Close() })
	return s
}

func stripCandidates(sdp string) string {
	var out []string
	for _, l := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(l, "a=candidate:") || l == "a=end-of-candidates" {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\r\n")
}

func newEngine(t testing.TB) *Engine {
	t.Helper()
	eng, err := NewEngine(Options{UDPPort: 0, NodeIP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return eng
}

// connect runs the v1 join sequence: client offer (id 1) → server answer →
// trickle both ways → both sides connected. The answer's own candidates are
// removed so that the connection depends on the server's trickle.
func connect(t testing.TB, eng *Engine) (*client, *server, string) {
	t.Helper()
	c := newClient(t)
	s := newServer(t, eng, func(cand string) { c.addCandidate(t, cand) })
	c.pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		b, _ := json.Marshal(cand.ToJSON())
		if err := s.peer.AddICECandidate(string(b)); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("AddICECandidate: %v", err)
		}
	})
	answer, err := s.peer.HandleOffer(c.offer(t), 1)
	if err != nil {
		t.Fatalf("HandleOffer: %v", err)
	}
	c.setAnswer(t, stripCandidates(answer))
	waitFor(t, c.connected, "client connected")
	waitFor(t, s.connected, "server OnConnected")
	return c, s, answer
}

func TestAnswerAndCandidates(t *testing.T) {
	eng := newEngine(t)
	if eng.Port() == 0 {
		t.Fatal("no port bound")
	}
	_, s, answer := connect(t, eng)

	hostCandidate := fmt.Sprintf("127.0.0.1 %d typ host", eng.Port())
	if !strings.Contains(answer, hostCandidate) {
		t.Errorf("answer lacks the host candidate %q:\n%s", hostCandidate, answer)
	}
	for kind, want := range map[string]int{"m=audio": 3, "m=video": 3, "m=application": 1} {
		if got := strings.Count(answer, kind); got != want {
			t.Errorf("answer has %d %s sections, want %d", got, kind, want)
		}
	}
	// pion answers the client's recvonly media sections sendonly, which
	// both SDKs accept.
	if got := strings.Count(answer, "a=sendonly"); got != 6 || strings.Contains(answer, "a=recvonly") {
		t.Errorf("%d sendonly media sections, want 6:\n%s", got, answer)
	}

	got := waitFor(t, s.candidates, "a server candidate")
	var c map[string]any
	if err := json.Unmarshal([]byte(got), &c); err != nil {
		t.Fatalf("candidate %q is not JSON: %v", got, err)
	}
	cand, _ := c["candidate"].(string)
	_, midIsString := c["sdpMid"].(string)
	_, indexIsNumber := c["sdpMLineIndex"].(float64)
	if !strings.HasPrefix(cand, "candidate:") || !strings.Contains(cand, "udp") || !strings.Contains(cand, hostCandidate) || !midIsString || !indexIsNumber {
		t.Errorf("candidate %s: want udp host 127.0.0.1:%d with string sdpMid and numeric sdpMLineIndex", got, eng.Port())
	}
	if st := s.peer.State(); st != StateConnected {
		t.Errorf("State() = %v", st)
	}
}

func TestDataBothWaysAndRenegotiation(t *testing.T) {
	eng := newEngine(t)
	c, s, _ := connect(t, eng)
	for range 2 {
		waitFor(t, c.opened, "client channels open")
	}

	// Client → server on both channels.
	if err := c.reliable.SendText("to server reliable"); err != nil {
		t.Fatal(err)
	}
	if got := waitFor(t, s.data, "reliable message"); got != (dcMsg{LabelReliable, "to server reliable"}) {
		t.Errorf("server got %+v", got)
	}
	if err := c.lossy.SendText("to server lossy"); err != nil {
		t.Fatal(err)
	}
	if got := waitFor(t, s.data, "lossy message"); got != (dcMsg{LabelLossy, "to server lossy"}) {
		t.Errorf("server got %+v", got)
	}

	// Server → client on the client's own channels.
	for _, tc := range []struct {
		reliable bool
		label    string
	}{{true, LabelReliable}, {false, LabelLossy}} {
		if err := s.peer.SendData(tc.reliable, []byte("to client "+tc.label)); err != nil {
			t.Fatalf("SendData(%v): %v", tc.reliable, err)
		}
		if got := waitFor(t, c.received, "message on "+tc.label); got != (dcMsg{tc.label, "to client " + tc.label}) {
			t.Errorf("client got %+v", got)
		}
	}

	// Publishing renegotiates with offer id 2; media then reaches OnTrack.
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "PA_x|mic")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	answer, err := s.peer.HandleOffer(c.offer(t), 2)
	if err != nil {
		t.Fatalf("renegotiation: %v", err)
	}
	c.setAnswer(t, answer)
	deadline := time.After(wait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(0); ; seq++ {
		select {
		case ti := <-s.tracks:
			if ti.Kind != "audio" || ti.StreamID != "PA_x|mic" || ti.MimeType != webrtc.MimeTypeOpus || ti.Mid == "" {
				t.Errorf("track %+v", ti)
			}
			if st := s.peer.State(); st != StateConnected {
				t.Errorf("after renegotiation State() = %v", st)
			}
			return
		case <-deadline:
			t.Fatal("no OnTrack after publishing")
		case <-tick.C:
			_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte{0xf8, 0xff, 0xfe}})
		}
	}
}

func TestCandidatesBeforeOfferAreHeld(t *testing.T) {
	eng := newEngine(t)
	c := newClient(t)
	s := newServer(t, eng, func(cand string) { c.addCandidate(t, cand) })
	gathered := webrtc.GatheringCompletePromise(c.pc)
	offer := c.offer(t)
	waitFor(t, gathered, "client gathering")
	// Trickle everything before the offer reaches the server, and send the
	// offer without candidates: only the held trickle can connect.
	for _, l := range strings.Split(c.pc.LocalDescription().SDP, "\r\n") {
		if !strings.HasPrefix(l, "a=candidate:") {
			continue
		}
		init, _ := json.Marshal(webrtc.ICECandidateInit{Candidate: strings.TrimPrefix(l, "a="), SDPMid: ptr("0"), SDPMLineIndex: ptr(uint16(0))})
		if err := s.peer.AddICECandidate(string(init)); err != nil {
			t.Fatalf("AddICECandidate before offer: %v", err)
		}
	}
	answer, err := s.peer.HandleOffer(stripCandidates(offer), 0) // Rust's first offer has id 0
	if err != nil {
		t.Fatal(err)
	}
	c.setAnswer(t, answer)
	waitFor(t, c.connected, "client connected")
	waitFor(t, s.connected, "server connected")
}

func ptr[T any](v T) *T { return &v }

func TestTenPeersShareOnePort(t *testing.T) {
	eng := newEngine(t)
	port := fmt.Sprintf(" %d typ host", eng.Port())
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			t.Run(fmt.Sprint("peer", i), func(t *testing.T) {
				_, s, answer := connect(t, eng)
				if !strings.Contains(answer, port) {
					t.Errorf("answer not on the shared port %d", eng.Port())
				}
				if c := waitFor(t, s.candidates, "candidate"); !strings.Contains(c, port) {
					t.Errorf("candidate %s not on the shared port", c)
				}
			})
		})
	}
	wg.Wait()
}

func TestBadInputGetsAnErrorAndThePeerStillWorks(t *testing.T) {
	eng := newEngine(t)
	c := newClient(t)
	s := newServer(t, eng, func(cand string) { c.addCandidate(t, cand) })
	for _, tc := range []struct {
		name    string
		call    func() error
		wantErr bool
		is      error
	}{
		{"empty offer", func() error { _, err := s.peer.HandleOffer("", 1); return err }, true, nil},
		{"garbage offer", func() error { _, err := s.peer.HandleOffer("not sdp at all", 1); return err }, true, nil},
		{"candidate not JSON", func() error { return s.peer.AddICECandidate("{") }, true, nil},
		{"end of candidates", func() error { return s.peer.AddICECandidate(`{"candidate":""}`) }, false, nil},
		{"mDNS candidate from a browser", func() error {
			return s.peer.AddICECandidate(`{"candidate":"candidate:1 1 udp 2113937151 3f1c-uuid.local 5000 typ host","sdpMid":"0","sdpMLineIndex":0}`)
		}, false, nil},
		{"data before the channel opens waits for it", func() error { return s.peer.SendData(true, []byte("early")) }, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if (err != nil) != tc.wantErr || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("err = %v, want error %v (%v)", err, tc.wantErr, tc.is)
			}
		})
	}
	answer, err := s.peer.HandleOffer(c.offer(t), 1)
	if err != nil {
		t.Fatalf("good offer after bad ones: %v", err)
	}
	c.setAnswer(t, answer)
	waitFor(t, s.connected, "server connected")
	if got := waitFor(t, c.received, "the early message"); got != (dcMsg{LabelReliable, "early"}) {
		t.Errorf("client got %+v", got)
	}
}

func TestDataForAChannelNotOpenIsBounded(t *testing.T) {
	eng, err := NewEngine(Options{NodeIP: "127.0.0.1", DataBacklog: 10 * (8 + queuedOverhead)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	s := newServer(t, eng, nil)
	for _, reliable := range []bool{false, true} {
		for i := range 10 { // each channel has a backlog of its own
			if err := s.peer.SendData(reliable, make([]byte, 8)); err != nil {
				t.Fatalf("reliable=%v, message %d: %v", reliable, i, err)
			}
		}
	}
	for _, reliable := range []bool{false, true} {
		if err := s.peer.SendData(reliable, []byte("one too many")); !errors.Is(err, ErrNoDataChannel) {
			t.Errorf("reliable=%v, message beyond the backlog: %v, want ErrNoDataChannel", reliable, err)
		}
	}
}

// dataEngine is an Engine whose Peers keep backlog bytes of data per channel.
func dataEngine(t *testing.T, backlog int) *Engine {
	t.Helper()
	eng, err := NewEngine(Options{NodeIP: "127.0.0.1", DataBacklog: backlog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return eng
}

// A burst larger than SCTP's send buffer waits in the queue and reaches the
// client whole and in order.
func TestReliableDataBurstIsQueuedAndDeliveredInOrder(t *testing.T) {
	eng := dataEngine(t, 512<<10) // 128 KiB in SCTP, the rest queued
	c, s, _ := connect(t, eng)
	for range 2 {
		waitFor(t, c.opened, "client channels open")
	}
	// The client sees its channels open before the server has them: a first
	// message that arrives shows the server's side is open too.
	hello := make(chan string, 1)
	c.reliable.OnMessage(func(m webrtc.DataChannelMessage) { hello <- string(m.Data) })
	if err := s.peer.SendData(true, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, hello, "the first message")
	const n = 400 // 400 KiB
	got := make(chan string, n)
	c.reliable.OnMessage(func(m webrtc.DataChannelMessage) { got <- string(m.Data[:8]) })
	for i := range n {
		msg := make([]byte, 1024)
		copy(msg, fmt.Sprintf("%08d", i))
		if err := s.peer.SendData(true, msg); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	for i := range n {
		if m, want := waitFor(t, got, "message"), fmt.Sprintf("%08d", i); m != want {
			t.Fatalf("message %d is %q", i, m)
		}
	}
}

// A client that stops reading fills SCTP's window, then the send buffer,
// then the queue: the next reliable message is refused with
// ErrSlowConsumer instead of piling up without end, and lossy data is
// dropped with ErrDataDropped.
func TestReliableDataToAClientThatStopsReadingEndsInErrSlowConsumer(t *testing.T) {
	eng := dataEngine(t, 256<<10)
	c, s, _ := connect(t, eng)
	for range 2 {
		waitFor(t, c.opened, "client channels open")
	}
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	first := make(chan bool, 1)
	c.reliable.OnMessage(func(webrtc.DataChannelMessage) { // takes one message, then stops the client's reading
		select {
		case first <- true:
		default:
		}
		<-stuck
	})
	msg := make([]byte, 1024)
	// The client sees its channels open before the server has them: one
	// message that arrives shows the server's side is open too.
	if err := s.peer.SendData(true, msg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, first, "the first message")
	var err error
	sent := 0
	// The client takes up to its receive window (1 MiB in pion) before it
	// stops acknowledging; 16 MiB is far beyond window, buffer and queue.
	for ; sent < 16<<10; sent++ {
		if err = s.peer.SendData(true, msg); err != nil {
			break
		}
		if sent%256 == 255 {
			time.Sleep(5 * time.Millisecond) // let SCTP's window fill
		}
	}
	if !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("after %d KiB to a client that does not read: %v, want ErrSlowConsumer", sent, err)
	}
	if err := s.peer.SendData(false, msg); err != nil && !errors.Is(err, ErrDataDropped) {
		t.Errorf("lossy message: %v", err)
	}
}

func TestClose(t *testing.T) {
	eng := newEngine(t)
	_, s, _ := connect(t, eng)
	if err := s.peer.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.peer.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	var last PeerState
	for len(s.states) > 0 {
		last = <-s.states
	}
	if last != StateClosed {
		t.Errorf("last reported state %v, want closed", last)
	}
	if _, err := s.peer.HandleOffer("v=0", 3); !errors.Is(err, ErrClosed) {
		t.Errorf("HandleOffer after Close: %v", err)
	}
	if err := s.peer.AddICECandidate(`{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}`); !errors.Is(err, ErrClosed) {
		t.Errorf("AddICECandidate after Close: %v", err)
	}
	if err := s.peer.SendData(true, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("SendData after Close: %v", err)
	}
}

func TestCloseFromACallback(t *testing.T) {
	eng := newEngine(t)
	c := newClient(t)
	closed := make(chan error, 1)
	var p *Peer
	ready := make(chan struct{})
	p, err := eng.NewPeer(Handlers{
		OnICECandidate: func(cand string) { c.addCandidate(t, cand) },
		OnConnected: func() {
			<-ready
			closed <- p.Close() // a session reacting to an event may do this
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	answer, err := p.HandleOffer(c.offer(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	c.setAnswer(t, answer)
	if err := waitFor(t, closed, "Close inside OnConnected"); err != nil {
		t.Errorf("Close: %v", err)
	}
	_ = p.Close() // from outside too: waits for the loop to finish
}

func TestNewEngine(t *testing.T) {
	taken := newEngine(t)
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"IPv6 node IP", Options{NodeIP: "::1"}},
		{"not an IP", Options{NodeIP: "localhost"}},
		{"port out of range", Options{UDPPort: 70000}},
		{"port in use", Options{UDPPort: taken.Port()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e, err := NewEngine(tc.o); err == nil {
				_ = e.Close()
				t.Fatal("accepted")
			}
		})
	}

	// Close releases the port: it can be bound again.
	e, err := NewEngine(Options{})
	if err != nil {
		t.Fatal(err)
	}
	port := e.Port()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	_ = e.Close()
	again, err := NewEngine(Options{UDPPort: port})
	if err != nil {
		t.Fatalf("port %d not released: %v", port, err)
	}
	p, err := again.NewPeer(Handlers{})
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	_ = again.Close()
	if _, err := again.NewPeer(Handlers{}); err == nil {
		t.Error("NewPeer on a closed engine")
	}
}

func TestNodeIPRewritesHostCandidates(t *testing.T) {
	// Bound on 127.0.0.1 but advertised as another address, as behind a
	// 1:1 NAT. Only the advertisement is checked: nothing listens there.
	eng, err := NewEngine(Options{BindIP: "127.0.0.1", NodeIP: "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	c := newClient(t)
	p, err := eng.NewPeer(Handlers{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	answer, err := p.HandleOffer(c.offer(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("127.0.0.2 %d typ host", eng.Port()); !strings.Contains(answer, want) || strings.Contains(answer, "127.0.0.1 ") {
		t.Errorf("answer should advertise only %q:\n%s", want, answer)
	}
}

func TestClientHangUpIsReported(t *testing.T) {
	eng := newEngine(t)
	c, s, _ := connect(t, eng)
	if err := c.pc.Close(); err != nil {
		t.Fatal(err)
	}
	// The client's DTLS close_notify ends the server's connection too, so a
	// session learns of a vanished client without waiting for ICE timeouts.
	for {
		if st := waitFor(t, s.states, "state after hang-up"); st == StateClosed || st == StateFailed {
			return
		}
	}
}

func TestDataChannelMessagesLargerThanTheReadBuffer(t *testing.T) {
	eng := newEngine(t)
	c, s, _ := connect(t, eng)
	for range 2 {
		waitFor(t, c.opened, "client channels open")
	}
	// Messages larger than the first read buffer arrive whole and in order.
	big := strings.Repeat("0123456789abcdef", 3<<10) // 48 KiB
	for _, m := range []string{big, "after", big[:1025], ""} {
		if err := c.reliable.SendText(m); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{big, "after", big[:1025], ""} {
		if got := waitFor(t, s.data, "reliable message"); got.label != LabelReliable || got.payload != want {
			t.Fatalf("server got %d bytes on %s, want %d", len(got.payload), got.label, len(want))
		}
	}
	select {
	case m := <-s.data:
		t.Errorf("unexpected message on %s (%d bytes)", m.label, len(m.payload))
	default:
	}
}

func TestAnswerAnnouncesTheLargestDataMessage(t *testing.T) {
	eng := newEngine(t)
	c, s, answer := connect(t, eng)
	want := fmt.Sprintf("a=max-message-size:%d", maxChannelMessage)
	if !strings.Contains(answer, want) {
		t.Fatalf("answer lacks %q", want)
	}
	for range 2 {
		waitFor(t, c.opened, "client channels open")
	}
	// A client that honours it cannot send more; what it may send arrives.
	if err := c.reliable.Send(make([]byte, maxChannelMessage+1)); err == nil {
		t.Error("the client sent a message over the announced size")
	}
	if err := c.reliable.Send(make([]byte, maxChannelMessage)); err != nil {
		t.Fatal(err)
	}
	if got := waitFor(t, s.data, "the largest message"); len(got.payload) != maxChannelMessage {
		t.Fatalf("server got %d bytes", len(got.payload))
	}
	if err := c.reliable.SendText("after"); err != nil {
		t.Fatal(err)
	}
	if got := waitFor(t, s.data, "a message after it"); got.payload != "after" {
		t.Fatalf("server got %q", got.payload)
	}
}

// Messages a client sends while the Peer's callbacks are far behind are
// dropped, and each drop is reported (Options.InboundDataDropped), never
// only lost.
func TestInboundDataDroppedIsReported(t *testing.T) {
	var dropped atomic.Int64
	eng, err := NewEngine(Options{NodeIP: "127.0.0.1", InboundDataDropped: func(label string) {
		if label == LabelReliable {
			dropped.Add(1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	c, s, _ := connect(t, eng)
	for range 2 {
		waitFor(t, c.opened, "client channels open")
	}
	// Nobody reads s.data: OnData blocks after 64 messages, and the Peer's
	// events pile up behind it.
	const n = maxQueuedEvents + 200
	for i := range n {
		if err := c.reliable.Send([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(wait)
	for dropped.Load() == 0 {
		select {
		case <-deadline:
			t.Fatalf("%d messages behind a stuck callback, none reported dropped", n)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// Every message is delivered or reported dropped; reading the rest also
	// lets the callbacks finish before Close.
	got := 0
	for got+int(dropped.Load()) < n {
		select {
		case <-s.data:
			got++
		case <-deadline:
			t.Fatalf("%d delivered + %d reported dropped of %d", got, dropped.Load(), n)
		}
	}
}
