package signal_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/signal"
)

// Media forwarding through the LiveKit dialect, with in-process pion clients
// playing the SDKs: what they receive over signalling and over WebRTC.

// lkPublisher is a connected /rtc/v1 client sending an Opus track.
type lkPublisher struct {
	c      *lkClient
	pc     *pcClient
	track  *webrtc.TrackLocalStaticRTP
	sid    string
	nextID uint32
}

// v1Join connects a /rtc/v1 client. It returns the frames that came before
// the answer to the join's offer: the server subscribes at once, so a
// media_sections_requirement may be among them.
func v1Join(t *testing.T, e *lkEnv, identity, room string, autoSubscribe bool) (*lkClient, *pcClient, []*livekit.SignalResponse) {
	t.Helper()
	pc := newPC(t)
	jr := joinRequest(t, &livekit.JoinRequest{
		PublisherOffer:     &livekit.SessionDescription{Type: "offer", Sdp: pc.offer(t), Id: 1},
		ConnectionSettings: &livekit.ConnectionSettings{AutoSubscribe: autoSubscribe},
	})
	c := e.dial(t, q(identity, room, "join_request", jr))
	leaveAtEnd(t, c)
	c.join()
	var early []*livekit.SignalResponse
	a := c.until("answer", func(sr *livekit.SignalResponse) bool {
		if sr.GetAnswer() != nil {
			return true
		}
		early = append(early, sr)
		return false
	}).GetAnswer()
	if a.GetId() != 1 {
		t.Fatalf("answer id %d", a.GetId())
	}
	if err := pc.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.GetSdp()}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, pc.connected, identity+" connected")
	return c, pc, early
}

func publishAudio(t *testing.T, e *lkEnv, identity, room string) *lkPublisher {
	t.Helper()
	c, pc, _ := v1Join(t, e, identity, room, true)
	cid := "cid-" + identity
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, cid, "stream-"+identity)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{
		Cid: cid, Name: "mic", Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE,
	}}})
	tp := c.until("track_published", func(sr *livekit.SignalResponse) bool { return sr.GetTrackPublished() != nil }).GetTrackPublished()
	negotiate(t, c, pc, 2, false)
	return &lkPublisher{c: c, pc: pc, track: track, sid: tp.GetTrack().GetSid(), nextID: 3}
}

// leaveAtEnd makes the client leave when the test ends, as the SDKs do on
// disconnect: a socket that just drops would be kept for a resume.
func leaveAtEnd(t *testing.T, c *lkClient) {
	t.Cleanup(func() {
		b, _ := proto.Marshal(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_CLIENT_INITIATED}}})
		c.wmu.Lock()
		err := c.c.WriteMessage(websocket.BinaryMessage, b)
		c.wmu.Unlock()
		if err == nil {
			for range c.in { // until the server closes the socket
			}
		}
	})
}

// flow sends packets with payload text every 20 ms until stopped.
func (p *lkPublisher) flow(text string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(1); ; seq++ {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = p.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte(text)})
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// receiver collects the tracks a client's PeerConnection gets.
type receiver struct {
	tracks   chan *webrtc.TrackRemote
	payloads chan string
	ended    chan string
	wg       sync.WaitGroup
}

func receive(t *testing.T, pc *webrtc.PeerConnection) *receiver {
	r := &receiver{tracks: make(chan *webrtc.TrackRemote, 8), payloads: make(chan string, 1024), ended: make(chan string, 8)}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		r.tracks <- tr
		r.wg.Go(func() {
			buf := make([]byte, 1500)
			for {
				n, _, err := tr.Read(buf)
				if err != nil {
					r.ended <- tr.StreamID()
					return
				}
				var pkt rtp.Packet
				if pkt.Unmarshal(buf[:n]) == nil {
					select {
					case r.payloads <- string(pkt.Payload):
					default:
					}
				}
			}
		})
	})
	t.Cleanup(func() {
		_ = pc.Close()
		r.wg.Wait()
	})
	return r
}

func (r *receiver) waitPayload(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(lkWait)
	for {
		select {
		case got := <-r.payloads:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q packet received", want)
		}
	}
}

// renegotiateV1 does what the SDKs do with media_sections_requirement: add
// recvonly sections, offer, apply the answer. It returns the answer's
// mid_to_track_id and the frames seen meanwhile.
func renegotiateV1(t *testing.T, c *lkClient, pc *pcClient, id uint32, early []*livekit.SignalResponse) (map[string]string, []*livekit.SignalResponse) {
	t.Helper()
	seen := append([]*livekit.SignalResponse(nil), early...)
	var req *livekit.MediaSectionsRequirement
	for _, sr := range early {
		if r := sr.GetMediaSectionsRequirement(); r != nil {
			req = r
		}
	}
	if req == nil {
		req = c.until("media_sections_requirement", func(sr *livekit.SignalResponse) bool {
			seen = append(seen, sr)
			return sr.GetMediaSectionsRequirement() != nil
		}).GetMediaSectionsRequirement()
	}
	for kind, n := range map[webrtc.RTPCodecType]uint32{webrtc.RTPCodecTypeAudio: req.GetNumAudios(), webrtc.RTPCodecTypeVideo: req.GetNumVideos()} {
		for range n {
			if _, err := pc.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: pc.offer(t), Id: id}}})
	a := c.until("answer", func(sr *livekit.SignalResponse) bool {
		seen = append(seen, sr)
		return sr.GetAnswer() != nil
	}).GetAnswer()
	if a.GetId() != id {
		t.Fatalf("answer id %d, want %d", a.GetId(), id)
	}
	if err := pc.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.GetSdp()}); err != nil {
		t.Fatalf("client rejected the answer: %v", err)
	}
	return a.GetMidToTrackId(), seen
}

func TestLiveKitMediaSingleConnection(t *testing.T) {
	e := startLK(t, signal.Limits{})
	pub := publishAudio(t, e, "speaker", "room-media")
	stop := pub.flow("tone")
	defer stop()

	c, pc, early := v1Join(t, e, "listener", "room-media", true)
	rx := receive(t, pc.pc)
	mids, seen := renegotiateV1(t, c, pc, 2, early)
	if len(mids) != 1 {
		t.Fatalf("mid_to_track_id = %v, want the one track", mids)
	}
	for _, track := range mids {
		if track != pub.sid {
			t.Errorf("mid_to_track_id = %v, want %s", mids, pub.sid)
		}
	}
	tr := func() *webrtc.TrackRemote {
		select {
		case tr := <-rx.tracks:
			return tr
		case <-time.After(lkWait):
			t.Fatal("no track on the listener")
			return nil
		}
	}()
	if !strings.HasPrefix(tr.StreamID(), "PA_") || !strings.HasSuffix(tr.StreamID(), "|"+pub.sid) {
		t.Errorf("stream id %q, want PA_…|%s", tr.StreamID(), pub.sid)
	}
	rx.waitPayload(t, "tone")
	active := false
	for _, sr := range seen {
		for _, s := range sr.GetStreamStateUpdate().GetStreamStates() {
			active = active || (s.GetTrackSid() == pub.sid && s.GetState() == livekit.StreamState_ACTIVE)
		}
	}
	if !active {
		t.Error("no stream_state_update ACTIVE before the answer")
	}
	pub.c.until("track_subscribed", func(sr *livekit.SignalResponse) bool {
		return sr.GetTrackSubscribed().GetTrackSid() == pub.sid
	})

	// The publisher allows nobody: the listener is told and loses the track.
	pub.c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_SubscriptionPermission{
		SubscriptionPermission: &livekit.SubscriptionPermission{AllParticipants: false},
	}})
	mids, seen = renegotiateV1(t, c, pc, 3, nil)
	if len(mids) != 0 {
		t.Errorf("mid_to_track_id after the refusal = %v", mids)
	}
	refused := false
	for _, sr := range seen {
		u := sr.GetSubscriptionPermissionUpdate()
		refused = refused || (u.GetTrackSid() == pub.sid && !u.GetAllowed())
	}
	if !refused {
		t.Error("no subscription_permission_update refusing the track")
	}
}

func TestLiveKitMediaTwoConnections(t *testing.T) {
	e := startLK(t, signal.Limits{})
	pub := publishAudio(t, e, "speaker", "room-v0")
	stop := pub.flow("tone")
	defer stop()

	// A /rtc client that chose not to auto-subscribe: nothing until it asks.
	c := e.dial(t, q("listener", "room-v0", "auto_subscribe", "0"))
	leaveAtEnd(t, c)
	c.join()
	sub := newPC(t)
	rx := receive(t, sub.pc)
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Subscription{Subscription: &livekit.UpdateSubscription{
		TrackSids: []string{pub.sid}, Subscribe: true,
	}}})
	sub.pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		b, _ := json.Marshal(cand.ToJSON())
		c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{
			CandidateInit: string(b), Target: livekit.SignalTarget_SUBSCRIBER,
		}}})
	})
	o := c.until("subscriber offer", func(sr *livekit.SignalResponse) bool { return sr.GetOffer() != nil }).GetOffer()
	if o.GetId() != 1 || o.GetMidToTrackId()[firstMid(o.GetSdp())] != pub.sid {
		t.Errorf("offer id %d, mid_to_track_id %v", o.GetId(), o.GetMidToTrackId())
	}
	if err := sub.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.GetSdp()}); err != nil {
		t.Fatal(err)
	}
	a, err := sub.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.pc.SetLocalDescription(a); err != nil {
		t.Fatal(err)
	}
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: a.SDP, Id: 1}}})
	tr := c.until("a SUBSCRIBER trickle", func(sr *livekit.SignalResponse) bool { return sr.GetTrickle() != nil })
	if tr.GetTrickle().GetTarget() != livekit.SignalTarget_SUBSCRIBER {
		t.Errorf("trickle target %v", tr.GetTrickle().GetTarget())
	}
	select {
	case track := <-rx.tracks:
		if track.StreamID() != strings.SplitN(track.StreamID(), "|", 2)[0]+"|"+pub.sid {
			t.Errorf("stream id %q", track.StreamID())
		}
	case <-time.After(lkWait):
		t.Fatal("no track on the /rtc subscriber connection")
	}
	rx.waitPayload(t, "tone")

	// The publisher leaves: the subscriber connection is offered again
	// without the track.
	pub.c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_CLIENT_INITIATED}}})
	o = c.until("second offer", func(sr *livekit.SignalResponse) bool { return sr.GetOffer() != nil }).GetOffer()
	if o.GetId() != 2 || len(o.GetMidToTrackId()) != 0 {
		t.Errorf("offer id %d, mid_to_track_id %v after the publisher left", o.GetId(), o.GetMidToTrackId())
	}
}

// firstMid is the mid of an SDP's first media section.
func firstMid(sdp string) string {
	for _, l := range strings.Split(sdp, "\r\n") {
		if mid, ok := strings.CutPrefix(l, "a=mid:"); ok {
			return mid
		}
	}
	return ""
}
