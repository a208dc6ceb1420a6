package rtc

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// mediaPeer is a server Peer whose negotiation requests and tracks the test
// sees, with its (in-process pion) client.
type mediaPeer struct {
	c      *client
	peer   *Peer
	neg    chan [2]int
	tracks chan TrackInfo
	offers uint32
}

func newMediaPeer(t testing.TB, eng *Engine) *mediaPeer {
	t.Helper()
	c := newClient(t)
	m := &mediaPeer{c: c, neg: make(chan [2]int, 64), tracks: make(chan TrackInfo, 8)}
	p, err := eng.NewPeer(Handlers{
		OnICECandidate:      func(cand string) { c.addCandidate(t, cand) },
		OnTrack:             func(ti TrackInfo) { m.tracks <- ti },
		OnNegotiationNeeded: func(a, v int) { m.neg <- [2]int{a, v} },
	})
	if err != nil {
		t.Fatal(err)
	}
	m.peer = p
	t.Cleanup(func() { _ = p.Close() })
	c.pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		b, _ := json.Marshal(cand.ToJSON())
		if err := p.AddICECandidate(string(b)); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("AddICECandidate: %v", err)
		}
	})
	m.negotiate(t)
	waitFor(t, c.connected, "client connected")
	return m
}

// negotiate runs one client offer → server answer, as the SDKs do after a
// media_sections_requirement, and returns the answer's mid_to_track_id.
func (m *mediaPeer) negotiate(t testing.TB) map[string]string {
	t.Helper()
	m.offers++
	answer, mids, err := m.peer.HandleOfferTracks(m.c.offer(t), m.offers)
	if err != nil {
		t.Fatalf("offer %d: %v", m.offers, err)
	}
	m.c.setAnswer(t, answer)
	return mids
}

// addSections does what a client does with media_sections_requirement.
func (m *mediaPeer) addSections(t testing.TB, audios, videos int) {
	t.Helper()
	for kind, n := range map[webrtc.RTPCodecType]int{webrtc.RTPCodecTypeAudio: audios, webrtc.RTPCodecTypeVideo: videos} {
		for range n {
			if _, err := m.c.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// publisher sends one track from a client, the way the SDKs publish: a new
// sendonly section.
type publisher struct {
	*mediaPeer
	track *webrtc.TrackLocalStaticRTP
	rtcp  chan rtcp.Packet
	src   *Source
	ssrc  uint32

	mu  sync.Mutex
	seq uint16
}

var (
	opus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	vp8  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
)

func publish(t testing.TB, eng *Engine, codec webrtc.RTPCodecCapability) *publisher {
	t.Helper()
	m := newMediaPeer(t, eng)
	track, err := webrtc.NewTrackLocalStaticRTP(codec, "cid-1", "cid-stream")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.c.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	p := &publisher{mediaPeer: m, track: track, rtcp: make(chan rtcp.Packet, 256)}
	go func() {
		for {
			pkts, _, err := tr.Sender().ReadRTCP()
			if err != nil {
				return
			}
			for _, pkt := range pkts {
				select {
				case p.rtcp <- pkt:
				default:
				}
			}
		}
	}()
	m.negotiate(t)
	p.ssrc = uint32(tr.Sender().GetParameters().Encodings[0].SSRC)
	// The server reports the track when its first packet arrives.
	stop := p.flow()
	ti := waitFor(t, m.tracks, "OnTrack on the publisher's Peer")
	stop()
	if ti.Source == nil || ti.ID != "cid-1" || ti.Source.MimeType() != codec.MimeType {
		t.Fatalf("track %+v", ti)
	}
	p.src = ti.Source
	return p
}

// send writes one packet whose payload is text.
func (p *publisher) send(text string) {
	p.mu.Lock()
	p.seq++
	seq := p.seq
	p.mu.Unlock()
	_ = p.track.WriteRTP(&rtp.Packet{
		Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960},
		Payload: []byte(text),
	})
}

// flow sends "flow" packets every 20 ms until the returned stop is called.
func (p *publisher) flow() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				p.send("flow")
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// subscriber is a client receiving what the Forwarder sends it.
type subscriber struct {
	*mediaPeer
	sub      *Subscriber
	got      chan *webrtc.TrackRemote
	payloads chan string
	seqs     chan uint16
	ended    chan string // track ids whose reading stopped
	events   chan string
	wg       sync.WaitGroup
}

func subscribe(t testing.TB, eng *Engine, sid string) *subscriber {
	t.Helper()
	s := &subscriber{
		mediaPeer: newMediaPeer(t, eng),
		got:       make(chan *webrtc.TrackRemote, 8),
		payloads:  make(chan string, 4096),
		seqs:      make(chan uint16, 4096),
		ended:     make(chan string, 8),
		events:    make(chan string, 64),
	}
	s.c.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s.got <- tr
		s.wg.Go(func() {
			buf := make([]byte, 1500)
			for {
				n, _, err := tr.Read(buf)
				if err != nil {
					s.ended <- tr.ID()
					return
				}
				var pkt rtp.Packet
				if pkt.Unmarshal(buf[:n]) == nil {
					select {
					case s.payloads <- string(pkt.Payload):
					default:
					}
					select {
					case s.seqs <- pkt.SequenceNumber:
					default:
					}
				}
			}
		})
	})
	s.sub = eng.Forwarder().NewSubscriber(sid, "id-"+sid, s.peer, true, SubscriberHandlers{
		OnSubscribed:   func(pub, track string) { s.events <- "subscribed " + pub + " " + track },
		OnUnsubscribed: func(pub, track string) { s.events <- "unsubscribed " + pub + " " + track },
		OnPermission: func(pub, track string, ok bool) {
			s.events <- map[bool]string{true: "allowed ", false: "denied "}[ok] + pub + " " + track
		},
	})
	t.Cleanup(func() {
		s.sub.Close()
		_ = s.peer.Close()
		_ = s.c.pc.Close()
		s.wg.Wait()
	})
	return s
}

// renegotiate answers the server's negotiation request like an SDK: add the
// sections asked for, offer, apply the answer.
func (s *subscriber) renegotiate(t testing.TB) map[string]string {
	t.Helper()
	n := waitFor(t, s.neg, "negotiation request")
	s.addSections(t, n[0], n[1])
	return s.negotiate(t)
}

// waitPayload reads until text arrives; it fails on any payload in never.
func (s *subscriber) waitPayload(t testing.TB, text string, never ...string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case got := <-s.payloads:
			for _, bad := range never {
				if got == bad {
					t.Fatalf("subscriber received %q", got)
				}
			}
			if got == text {
				return
			}
		case <-deadline:
			t.Fatalf("subscriber never received %q", text)
		}
	}
}

func (s *subscriber) waitEvent(t testing.TB, want string) {
	t.Helper()
	if got := waitFor(t, s.events, want); got != want {
		t.Fatalf("event %q, want %q", got, want)
	}
}

func TestForwardAudioToASubscriber(t *testing.T) {
	eng := newEngine(t)
	pub := publish(t, eng, opus)
	eng.Forwarder().Publish("PA_pub", "TR_audio", pub.src, nil)
	sub := subscribe(t, eng, "PA_sub")

	sub.sub.Want("PA_pub", "TR_audio")
	sub.waitEvent(t, "subscribed PA_pub TR_audio")
	mids := sub.renegotiate(t)
	// The client's own recvonly audio section carries the track: no new
	// section was needed, and the answer maps its mid to the track.
	if len(mids) != 1 {
		t.Fatalf("mid_to_track_id %v, want one entry", mids)
	}
	for mid, track := range mids {
		if track != "TR_audio" || mid == "" {
			t.Errorf("mid_to_track_id %v", mids)
		}
	}
	stop := pub.flow()
	defer stop()
	tr := waitFor(t, sub.got, "track on the subscriber")
	if tr.StreamID() != "PA_pub|TR_audio" || tr.ID() != "TR_audio" || tr.Codec().MimeType != webrtc.MimeTypeOpus {
		t.Errorf("subscriber got stream %q track %q codec %s", tr.StreamID(), tr.ID(), tr.Codec().MimeType)
	}
	sub.waitPayload(t, "flow")
	if p, f := eng.Forwarder().Counts(); p != 1 || f != 1 {
		t.Errorf("Counts() = %d published, %d forwarding; want 1, 1", p, f)
	}
}

func TestMoreTracksThanSectionsAsksForSections(t *testing.T) {
	eng := newEngine(t)
	sub := subscribe(t, eng, "PA_sub")
	var pubs []*publisher
	for i := range 4 { // the client offered 3 audio sections
		p := publish(t, eng, opus)
		track := "TR_" + string(rune('a'+i))
		eng.Forwarder().Publish("PA_pub", track, p.src, nil)
		sub.sub.Want("PA_pub", track)
		pubs = append(pubs, p)
	}
	var asked [2]int
	mids := map[string]string{}
	for len(mids) < 4 {
		n := waitFor(t, sub.neg, "negotiation request")
		asked[0] += n[0]
		asked[1] += n[1]
		sub.addSections(t, n[0], n[1])
		mids = sub.negotiate(t)
	}
	if asked != [2]int{1, 0} {
		t.Errorf("server asked for %v new audio/video sections, want [1 0]", asked)
	}
	for _, p := range pubs {
		stop := p.flow()
		defer stop()
	}
	seen := map[string]bool{}
	for len(seen) < 4 {
		seen[waitFor(t, sub.got, "four tracks").StreamID()] = true
	}
}

func TestPictureLossReachesThePublisher(t *testing.T) {
	eng := newEngine(t)
	pub := publish(t, eng, vp8)
	var clock struct {
		sync.Mutex
		now time.Time
	}
	clock.now = time.Unix(1000, 0)
	pub.src.mu.Lock()
	pub.src.now = func() time.Time { clock.Lock(); defer clock.Unlock(); return clock.now }
	pub.src.mu.Unlock()
	eng.Forwarder().Publish("PA_pub", "TR_video", pub.src, nil)
	sub := subscribe(t, eng, "PA_sub")
	sub.sub.Want("PA_pub", "TR_video")
	sub.renegotiate(t)
	stop := pub.flow()
	defer stop()
	tr := waitFor(t, sub.got, "video track on the subscriber")

	// Binding the track asked for a keyframe already.
	waitPLI := func(what string) {
		t.Helper()
		deadline := time.After(wait)
		for {
			select {
			case pkt := <-pub.rtcp:
				if pli, ok := pkt.(*rtcp.PictureLossIndication); ok {
					if pli.MediaSSRC != pub.ssrc {
						t.Fatalf("PLI for SSRC %d, want the publisher's %d", pli.MediaSSRC, pub.ssrc)
					}
					return
				}
			case <-deadline:
				t.Fatalf("publisher never got a PLI: %s", what)
			}
		}
	}
	waitPLI("on bind")
	clock.Lock()
	clock.now = clock.now.Add(time.Second)
	clock.Unlock()
	if err := sub.c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}}); err != nil {
		t.Fatal(err)
	}
	waitPLI("from the subscriber")

	// A NACK is answered by the server from what it sent: the packet comes
	// again.
	var lost uint16
	for range 3 { // skip packets sent before the NACK could matter
		lost = waitFor(t, sub.seqs, "a video packet")
	}
	if err := sub.c.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
		MediaSSRC: uint32(tr.SSRC()), Nacks: []rtcp.NackPair{{PacketID: lost}},
	}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(wait)
	for {
		select {
		case seq := <-sub.seqs:
			if seq == lost {
				return
			}
		case <-deadline:
			t.Fatalf("packet %d was not sent again after a NACK", lost)
		}
	}
}

func TestMuteStopsForwarding(t *testing.T) {
	eng := newEngine(t)
	pub := publish(t, eng, opus)
	fwd := eng.Forwarder()
	fwd.Publish("PA_pub", "TR_audio", pub.src, nil)
	sub := subscribe(t, eng, "PA_sub")
	sub.sub.Want("PA_pub", "TR_audio")
	sub.renegotiate(t)
	stop := pub.flow()
	waitFor(t, sub.got, "track on the subscriber")
	sub.waitPayload(t, "flow")
	stop()

	// Every muted packet reaches the server before the unmute.
	seen := make(chan string, 16)
	tap := func(p *rtp.Packet) { seen <- string(p.Payload) }
	pub.src.tap.Store(&tap)
	fwd.SetMuted("TR_audio", true)
	for range 5 {
		pub.send("muted")
	}
	for n := 0; n < 5; {
		if waitFor(t, seen, "muted packets at the server") == "muted" {
			n++
		}
	}
	pub.src.tap.Store(nil)
	fwd.SetMuted("TR_audio", false)
	stop = pub.flow()
	defer stop()
	pub.send("live")
	sub.waitPayload(t, "live", "muted")
}

func TestUnpublishAndLeave(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(f *Forwarder, pub *publisher, sub *subscriber)
	}{
		{"unpublish", func(f *Forwarder, _ *publisher, _ *subscriber) { f.Unpublish("TR_audio") }},
		{"publisher leaves", func(f *Forwarder, pub *publisher, _ *subscriber) {
			f.UnpublishAll("PA_pub")
			_ = pub.peer.Close()
		}},
		{"publisher's connection drops", func(_ *Forwarder, pub *publisher, _ *subscriber) { _ = pub.peer.Close() }},
		{"subscriber unsubscribes", func(_ *Forwarder, _ *publisher, sub *subscriber) { sub.sub.Unwant("TR_audio") }},
		{"permission withdrawn", func(f *Forwarder, _ *publisher, _ *subscriber) {
			f.SetPermissions("PA_pub", Permissions{Allow: []PermissionRule{{ParticipantIdentity: "someone-else", AllTracks: true}}})
		}},
		{"canSubscribe withdrawn", func(_ *Forwarder, _ *publisher, sub *subscriber) { sub.sub.SetAllowed(false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := newEngine(t)
			fwd := eng.Forwarder()
			pub := publish(t, eng, opus)
			fwd.Publish("PA_pub", "TR_audio", pub.src, nil)
			sub := subscribe(t, eng, "PA_sub")
			sub.sub.Want("PA_pub", "TR_audio")
			sub.waitEvent(t, "subscribed PA_pub TR_audio")
			sub.renegotiate(t)
			stop := pub.flow()
			defer stop()
			waitFor(t, sub.got, "track on the subscriber")
			sub.waitPayload(t, "flow")

			tc.end(fwd, pub, sub)
			if tc.name == "permission withdrawn" {
				sub.waitEvent(t, "denied PA_pub TR_audio")
			}
			sub.waitEvent(t, "unsubscribed PA_pub TR_audio")
			if _, f := fwd.Counts(); f != 0 {
				t.Errorf("%d subscriptions still forwarded", f)
			}
			// The client sees its section go inactive: its track ends.
			mids := sub.renegotiate(t)
			if len(mids) != 0 {
				t.Errorf("mid_to_track_id after the end: %v", mids)
			}
			if id := waitFor(t, sub.ended, "subscriber's track to end"); id != "TR_audio" {
				t.Errorf("ended track %q", id)
			}
		})
	}
}

func TestPermissionsAndRejoin(t *testing.T) {
	eng := newEngine(t)
	fwd := eng.Forwarder()
	fwd.SetPermissions("PA_pub", Permissions{Allow: []PermissionRule{{ParticipantIdentity: "id-PA_other", AllTracks: true}}})
	pub := publish(t, eng, opus)
	fwd.Publish("PA_pub", "TR_audio", pub.src, nil)
	sub := subscribe(t, eng, "PA_sub")
	sub.sub.Want("PA_pub", "TR_audio")
	sub.waitEvent(t, "denied PA_pub TR_audio")
	if _, f := fwd.Counts(); f != 0 {
		t.Fatalf("a refused subscriber is forwarded to")
	}
	fwd.SetPermissions("PA_pub", Permissions{Allow: []PermissionRule{{ParticipantSID: "PA_sub", TrackSIDs: []string{"TR_audio"}}}})
	sub.waitEvent(t, "allowed PA_pub TR_audio")
	sub.waitEvent(t, "subscribed PA_pub TR_audio")
	sub.renegotiate(t)
	stop := pub.flow()
	defer stop()
	sub.waitPayload(t, "flow")
}

func TestSubscriberCloseCleansUp(t *testing.T) {
	eng := newEngine(t)
	fwd := eng.Forwarder()
	pub := publish(t, eng, opus)
	fwd.Publish("PA_pub", "TR_audio", pub.src, nil)
	sub := subscribe(t, eng, "PA_sub")
	sub.sub.Want("PA_pub", "TR_audio")
	sub.renegotiate(t)
	stop := pub.flow()
	defer stop()
	sub.waitPayload(t, "flow")

	sub.sub.Close()
	if err := sub.peer.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if p, f := fwd.Counts(); p != 1 || f != 0 {
		t.Errorf("Counts() = %d, %d after the subscriber left; want 1, 0", p, f)
	}
	// Wanting after Close is ignored; the Peer refuses new tracks.
	sub.sub.Want("PA_pub", "TR_audio")
	if _, f := fwd.Counts(); f != 0 {
		t.Errorf("closed subscriber forwarded to")
	}
	if _, err := sub.peer.attach(pub.src, "PA_pub", "TR_x"); !errors.Is(err, ErrClosed) {
		t.Errorf("attach after Close: %v", err)
	}
	_ = pub.peer.Close()
	if p, f := fwd.Counts(); p != 0 || f != 0 {
		t.Errorf("Counts() = %d, %d after everyone left", p, f)
	}
}

func TestSubscriberPeerOffers(t *testing.T) {
	eng := newEngine(t)
	fwd := eng.Forwarder()
	pub := publish(t, eng, opus)
	fwd.Publish("PA_pub", "TR_audio", pub.src, nil)

	// The v0 subscriber PeerConnection: the server offers, the client answers.
	c := newClient(t)
	neg := make(chan struct{}, 8)
	sp, err := eng.NewSubscriberPeer(Handlers{
		OnICECandidate:      func(cand string) { c.addCandidate(t, cand) },
		OnNegotiationNeeded: func(a, v int) { neg <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	got := make(chan *webrtc.TrackRemote, 1)
	c.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { got <- tr })
	sub := fwd.NewSubscriber("PA_sub", "sub", sp, true, SubscriberHandlers{})
	defer sub.Close()
	sub.Want("PA_pub", "TR_audio")
	waitFor(t, neg, "negotiation request")
	offer, mids, err := sp.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	if mids["0"] != "TR_audio" && len(mids) != 1 {
		t.Errorf("offer mid_to_track_id %v", mids)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	waitFor(t, gathered, "client gathering")
	if err := sp.HandleAnswer(c.pc.LocalDescription().SDP); err != nil {
		t.Fatal(err)
	}
	stop := pub.flow()
	defer stop()
	tr := waitFor(t, got, "track on the v0 subscriber")
	if tr.StreamID() != "PA_pub|TR_audio" {
		t.Errorf("stream %q", tr.StreamID())
	}
	if err := sp.HandleAnswer(c.pc.LocalDescription().SDP); err == nil || !strings.Contains(err.Error(), "without an offer") {
		t.Errorf("second answer: %v", err)
	}
	if _, _, err := sp.HandleOfferTracks("v=0", 1); err == nil {
		t.Error("a subscriber Peer accepted an offer")
	}
}
