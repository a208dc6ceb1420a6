package signal_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/pion/interceptor"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// lkWait bounds every wait for one network event on loopback; generous for
// -race on a busy machine, never a speed assertion.
const lkWait = 20 * time.Second

// lkNow is the dialect's clock in these tests: pongs carry it.
var lkNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type lkEnv struct {
	url string
	reg *rooms.Registry
	hub *signal.Hub
}

// startLK serves the LiveKit dialect on a real listener with a real pion
// engine. The test server trusts its query (identity, room, meta=1 for
// canUpdateOwnMetadata, pub=0 to refuse publishing) where the HTTP layer
// would verify a token; join_request and reconnect are parsed as on /rtc/v1.
func startLK(t *testing.T, limits signal.Limits, more ...lkOpts) *lkEnv {
	t.Helper()
	var o lkOpts
	if len(more) > 0 {
		o = more[0]
	}
	reg := rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Minute, DepartureTimeout: time.Minute, Observer: o.observer})
	eng, err := rtc.NewEngine(rtc.Options{NodeIP: "127.0.0.1", DataBacklog: o.dataBacklog})
	if err != nil {
		t.Fatal(err)
	}
	hub := signal.NewHub(signal.Options{CloseGrace: 200 * time.Millisecond})
	lk := signal.NewLiveKit(signal.LiveKitOptions{
		Registry: reg, Engine: eng, Limits: limits,
		Now:         func() time.Time { return lkNow },
		DataDropped: o.dataDropped,
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		params, err := pbwire.ParseJoinQuery(q, q.Has("join_request"), false)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		identity := q.Get("identity")
		join := signal.LiveKitJoin{
			Grant: signal.Grant{
				Identity: identity, Name: "Name of " + identity, Room: q.Get("room"), RoomJoin: true,
				Permission: rooms.Permission{
					CanPublish: q.Get("pub") != "0", CanSubscribe: true, CanPublishData: true,
					CanUpdateMetadata: q.Get("meta") == "1",
				},
			},
			Params:  params,
			Refresh: func() (string, error) { return "refreshed-" + identity, nil },
		}
		adm, err := hub.Admit("127.0.0.1")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_ = hub.Serve(w, r, signal.Request{Admission: adm, Dialect: lk.Dialect(join)})
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), lkWait)
		defer cancel()
		_ = hub.Shutdown(ctx)
		srv.Close()
		reg.Close()
		_ = eng.Close()
	})
	return &lkEnv{url: "ws" + strings.TrimPrefix(srv.URL, "http"), reg: reg, hub: hub}
}

// lkOpts are the knobs of startLK beyond the limits.
type lkOpts struct {
	dataBacklog int               // rtc.Options.DataBacklog
	dataDropped func(kind string) // signal.LiveKitOptions.DataDropped
	observer    rooms.Observer
}

// lkClient is the signalling half of a LiveKit SDK: binary protobuf frames.
type lkClient struct {
	t    *testing.T
	c    *websocket.Conn
	wmu  sync.Mutex // one writer at a time: pion callbacks send too
	in   chan *livekit.SignalResponse
	done chan struct{} // closed when the reader ends
	code int           // close code received; valid after done
}

func (e *lkEnv) dial(t *testing.T, query string) *lkClient {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: lkWait}
	conn, _, err := d.Dial(e.url+"/rtc?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &lkClient{t: t, c: conn, in: make(chan *livekit.SignalResponse, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			mt, data, err := conn.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					c.code = ce.Code
				}
				close(c.in)
				return
			}
			if mt != websocket.BinaryMessage {
				t.Errorf("text frame from the LiveKit dialect: %q", data)
				continue
			}
			var sr livekit.SignalResponse
			if err := proto.Unmarshal(data, &sr); err != nil {
				t.Errorf("frame is not a SignalResponse: %v", err)
				continue
			}
			c.in <- &sr
		}
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		<-c.done
	})
	return c
}

func (c *lkClient) send(req *livekit.SignalRequest) {
	c.t.Helper()
	b, err := proto.Marshal(req)
	if err != nil {
		c.t.Fatal(err)
	}
	c.wmu.Lock()
	err = c.c.WriteMessage(websocket.BinaryMessage, b)
	c.wmu.Unlock()
	if err != nil {
		c.t.Errorf("send: %v", err) // Errorf: pion callbacks call send off the test goroutine
	}
}

// next returns the next frame, failing the test if there is none in time.
func (c *lkClient) next() *livekit.SignalResponse {
	c.t.Helper()
	select {
	case sr, ok := <-c.in:
		if !ok {
			c.t.Fatalf("socket closed (code %d) while a frame was expected", c.code)
		}
		return sr
	case <-time.After(lkWait):
		c.t.Fatal("no frame in time")
	}
	return nil
}

// until skips frames until one satisfies pred.
func (c *lkClient) until(what string, pred func(*livekit.SignalResponse) bool) *livekit.SignalResponse {
	c.t.Helper()
	deadline := time.After(lkWait)
	for {
		select {
		case sr, ok := <-c.in:
			if !ok {
				c.t.Fatalf("socket closed (code %d) before %s", c.code, what)
			}
			if pred(sr) {
				return sr
			}
		case <-deadline:
			c.t.Fatalf("no %s in time", what)
		}
	}
}

// closed drains frames until the socket closes and returns them and the
// close code.
func (c *lkClient) closed() ([]*livekit.SignalResponse, int) {
	c.t.Helper()
	var got []*livekit.SignalResponse
	deadline := time.After(lkWait)
	for {
		select {
		case sr, ok := <-c.in:
			if !ok {
				<-c.done
				return got, c.code
			}
			got = append(got, sr)
		case <-deadline:
			c.t.Fatal("socket not closed in time")
		}
	}
}

func (c *lkClient) join() *livekit.JoinResponse {
	c.t.Helper()
	sr := c.next()
	if sr.GetJoin() == nil {
		c.t.Fatalf("first frame is %T, want join", sr.GetMessage())
	}
	return sr.GetJoin()
}

func isUpdateOf(identity string, state livekit.ParticipantInfo_State) func(*livekit.SignalResponse) bool {
	return func(sr *livekit.SignalResponse) bool {
		for _, p := range sr.GetUpdate().GetParticipants() {
			if p.GetIdentity() == identity && p.GetState() == state {
				return true
			}
		}
		return false
	}
}

func q(identity, room string, extra ...string) string {
	v := url.Values{"identity": {identity}, "room": {room}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v.Encode()
}

func TestLiveKitJoinResponseFirst(t *testing.T) {
	e := startLK(t, signal.Limits{})
	alice := e.dial(t, q("alice", "r1"))
	j := alice.join()
	switch {
	case !strings.HasPrefix(j.GetRoom().GetSid(), "RM_") || j.GetRoom().GetName() != "r1":
		t.Errorf("room = %v", j.GetRoom())
	case !strings.HasPrefix(j.GetParticipant().GetSid(), "PA_") || j.GetParticipant().GetIdentity() != "alice" ||
		j.GetParticipant().GetName() != "Name of alice":
		t.Errorf("participant = %v", j.GetParticipant())
	case !j.GetParticipant().GetPermission().GetCanPublish() || j.GetParticipant().GetPermission().GetCanUpdateMetadata():
		t.Errorf("permission = %v", j.GetParticipant().GetPermission())
	case j.GetServerInfo().GetVersion() != "1.13.5" || j.GetPingInterval() != 5 || j.GetPingTimeout() != 15:
		t.Errorf("server info %v, pings %d/%d", j.GetServerInfo(), j.GetPingInterval(), j.GetPingTimeout())
	case j.GetSubscriberPrimary() || len(j.GetIceServers()) != 0 || len(j.GetOtherParticipants()) != 0:
		t.Errorf("subscriber_primary %v, ice %v, others %v", j.GetSubscriberPrimary(), j.GetIceServers(), j.GetOtherParticipants())
	}
	if tok := alice.next().GetRefreshToken(); tok != "refreshed-alice" {
		t.Errorf("second frame: refresh_token %q", tok)
	}

	bob := e.dial(t, q("bob", "r1"))
	bj := bob.join()
	if others := bj.GetOtherParticipants(); len(others) != 1 || others[0].GetIdentity() != "alice" {
		t.Errorf("bob's other_participants = %v", others)
	}
	u := alice.until("update with bob", isUpdateOf("bob", livekit.ParticipantInfo_JOINED))
	if p := u.GetUpdate().GetParticipants()[0]; p.GetSid() != bj.GetParticipant().GetSid() || p.GetVersion() == 0 {
		t.Errorf("alice sees bob as %v", p)
	}
}

func TestLiveKitPing(t *testing.T) {
	e := startLK(t, signal.Limits{})
	c := e.dial(t, q("pinger", "r"))
	c.join()
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Ping{Ping: 1}})
	if got := c.until("pong", func(sr *livekit.SignalResponse) bool { return sr.GetPong() != 0 }).GetPong(); got != lkNow.UnixMilli() {
		t.Errorf("pong = %d, want the server clock in ms %d", got, lkNow.UnixMilli())
	}
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 42, Rtt: 3}}})
	pr := c.until("pong_resp", func(sr *livekit.SignalResponse) bool { return sr.GetPongResp() != nil }).GetPongResp()
	if pr.GetLastPingTimestamp() != 42 || pr.GetTimestamp() != lkNow.UnixMilli() {
		t.Errorf("pong_resp = %v", pr)
	}
}

// pcClient plays an SDK's publisher PeerConnection: 3 recvonly audio and 3
// recvonly video transceivers and the `_reliable` channel.
type pcClient struct {
	pc        *webrtc.PeerConnection
	reliable  *webrtc.DataChannel
	connected chan struct{}
	opened    chan struct{}
	received  chan []byte
}

func newPC(t *testing.T) *pcClient {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	// No interceptors, so no MID header extension: RTP that arrives before
	// the answer declaring its SSRC is then set aside until that answer,
	// instead of being probed for its MID by a goroutine that races with the
	// receiver the answer starts (a data race inside pion v4.2.18).
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	c := &pcClient{pc: pc, connected: make(chan struct{}), opened: make(chan struct{}), received: make(chan []byte, 16)}
	for _, k := range []webrtc.RTPCodecType{
		webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeAudio,
		webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeVideo,
	} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	if c.reliable, err = pc.CreateDataChannel(rtc.LabelReliable, nil); err != nil {
		t.Fatal(err)
	}
	var openOnce, connOnce sync.Once
	c.reliable.OnOpen(func() { openOnce.Do(func() { close(c.opened) }) })
	c.reliable.OnMessage(func(m webrtc.DataChannelMessage) { c.received <- m.Data })
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			connOnce.Do(func() { close(c.connected) })
		}
	})
	return c
}

// offer returns an offer SDP that already lists the client's candidates.
func (c *pcClient) offer(t *testing.T) string {
	t.Helper()
	o, err := c.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(lkWait):
		t.Fatal("client gathering did not complete")
	}
	return c.pc.LocalDescription().SDP
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(lkWait):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// negotiate sends an offer with id and applies the answer, checking that
// it echoes id and that server candidates are complete trickle JSON.
// A renegotiation (first=false) gathers nothing new, so no trickle follows.
func negotiate(t *testing.T, c *lkClient, pc *pcClient, id uint32, first bool) {
	t.Helper()
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: pc.offer(t), Id: id}}})
	answer(t, c, pc, id, first)
}

func answer(t *testing.T, c *lkClient, pc *pcClient, id uint32, first bool) {
	t.Helper()
	var trickles []*livekit.TrickleRequest
	a := c.until("answer", func(sr *livekit.SignalResponse) bool {
		if tr := sr.GetTrickle(); tr != nil {
			trickles = append(trickles, tr)
		}
		return sr.GetAnswer() != nil
	}).GetAnswer()
	if a.GetId() != id || a.GetType() != "answer" {
		t.Fatalf("answer id %d type %q, want id %d", a.GetId(), a.GetType(), id)
	}
	if len(trickles) != 0 {
		t.Errorf("%d server candidates came before the answer", len(trickles))
	}
	if err := pc.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.GetSdp()}); err != nil {
		t.Fatalf("client rejected the answer: %v", err)
	}
	if !first {
		return
	}
	tr := c.until("trickle", func(sr *livekit.SignalResponse) bool { return sr.GetTrickle() != nil }).GetTrickle()
	var init map[string]any
	if err := json.Unmarshal([]byte(tr.GetCandidateInit()), &init); err != nil {
		t.Fatalf("candidateInit is not JSON: %q", tr.GetCandidateInit())
	}
	cand, _ := init["candidate"].(string)
	_, midIsString := init["sdpMid"].(string)
	idx, idxIsNumber := init["sdpMLineIndex"].(float64)
	if !strings.HasPrefix(cand, "candidate:") || !midIsString || !idxIsNumber || idx != float64(int(idx)) ||
		tr.GetTarget() != livekit.SignalTarget_PUBLISHER {
		t.Errorf("trickle = %v (%s)", tr, tr.GetCandidateInit())
	}
}

func TestLiveKitOfferAnswerAndActive(t *testing.T) {
	e := startLK(t, signal.Limits{})
	watcher := e.dial(t, q("watcher", "room-pc"))
	watcher.join()
	c := e.dial(t, q("caller", "room-pc"))
	c.join()
	pc := newPC(t)
	negotiate(t, c, pc, 7, true)
	waitClosed(t, pc.connected, "client PeerConnection connected")
	// The PeerConnection being up makes the participant ACTIVE, for everyone.
	watcher.until("caller ACTIVE", isUpdateOf("caller", livekit.ParticipantInfo_ACTIVE))
	c.until("own ACTIVE", isUpdateOf("caller", livekit.ParticipantInfo_ACTIVE))
	// A renegotiation is answered with its own id.
	negotiate(t, c, pc, 8, false)
}

// joinRequest is the /rtc/v1 query value: base64url of a gzipped
// WrappedJoinRequest holding the first offer.
func joinRequest(t *testing.T, jr *livekit.JoinRequest) string {
	t.Helper()
	raw, err := proto.Marshal(jr)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	w, err := proto.Marshal(&livekit.WrappedJoinRequest{Compression: livekit.WrappedJoinRequest_GZIP, JoinRequest: buf.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	return base64.URLEncoding.EncodeToString(w)
}

func TestLiveKitV1JoinRequestOffer(t *testing.T) {
	e := startLK(t, signal.Limits{})
	pc := newPC(t)
	jr := joinRequest(t, &livekit.JoinRequest{PublisherOffer: &livekit.SessionDescription{Type: "offer", Sdp: pc.offer(t), Id: 1}})
	c := e.dial(t, q("v1", "room-v1", "join_request", jr))
	c.join() // before the answer, which must not overtake it
	answer(t, c, pc, 1, true)
	waitClosed(t, pc.connected, "client PeerConnection connected")
}

// micPublisher joins "other" and then "pub" to room, and has pub announce a
// microphone track (add_track, cid client-track-1); it returns both clients
// and the track_published pub got.
func micPublisher(t *testing.T, e *lkEnv, room string) (other, pub *lkClient, tp *livekit.TrackPublishedResponse) {
	t.Helper()
	other = e.dial(t, q("other", room))
	other.join()
	pub = e.dial(t, q("pub", room))
	pub.join()
	pub.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{
		Cid: "client-track-1", Name: "mic", Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE,
	}}})
	tp = pub.until("track_published", func(sr *livekit.SignalResponse) bool { return sr.GetTrackPublished() != nil }).GetTrackPublished()
	return other, pub, tp
}

func TestLiveKitAddTrackAndMute(t *testing.T) {
	e := startLK(t, signal.Limits{})
	other, c, tp := micPublisher(t, e, "room-t")
	if tp.GetCid() != "client-track-1" || !strings.HasPrefix(tp.GetTrack().GetSid(), "TR_") || tp.GetTrack().GetName() != "mic" ||
		tp.GetTrack().GetSource() != livekit.TrackSource_MICROPHONE {
		t.Fatalf("track_published = %v", tp)
	}
	sid := tp.GetTrack().GetSid()
	hasTrack := func(muted bool) func(*livekit.SignalResponse) bool {
		return func(sr *livekit.SignalResponse) bool {
			for _, p := range sr.GetUpdate().GetParticipants() {
				for _, tr := range p.GetTracks() {
					if p.GetIdentity() == "pub" && tr.GetSid() == sid && tr.GetMuted() == muted {
						return true
					}
				}
			}
			return false
		}
	}
	other.until("update with the track", hasTrack(false))
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Mute{Mute: &livekit.MuteTrackRequest{Sid: sid, Muted: true}}})
	other.until("update with the track muted", hasTrack(true))
}

// TestLiveKitServerMuteTellsPublisher: a mute by the server API reaches the
// publisher as a `mute` request (the SDKs set their own track's muted state
// from it), while the others see the track muted in an update.
func TestLiveKitServerMuteTellsPublisher(t *testing.T) {
	e := startLK(t, signal.Limits{})
	other, pub, tp := micPublisher(t, e, "room-sm")
	sid := tp.GetTrack().GetSid()
	for _, muted := range []bool{true, false} {
		if _, err := e.reg.MuteTrack(context.Background(), "room-sm", "pub", sid, muted); err != nil {
			t.Fatal(err)
		}
		m := pub.until("mute request", func(sr *livekit.SignalResponse) bool { return sr.GetMute() != nil }).GetMute()
		if m.GetSid() != sid || m.GetMuted() != muted {
			t.Fatalf("publisher told %v; want %s muted=%v", m, sid, muted)
		}
		other.until("update with the track's new state", func(sr *livekit.SignalResponse) bool {
			for _, p := range sr.GetUpdate().GetParticipants() {
				for _, tr := range p.GetTracks() {
					if p.GetIdentity() == "pub" && tr.GetSid() == sid && tr.GetMuted() == muted {
						return true
					}
				}
			}
			return false
		})
	}
}

func TestLiveKitAddTrackRefused(t *testing.T) {
	e := startLK(t, signal.Limits{})
	c := e.dial(t, q("nopub", "room-np", "pub", "0"))
	c.join()
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{Cid: "x", Type: livekit.TrackType_VIDEO}}})
	rr := c.until("request_response", func(sr *livekit.SignalResponse) bool {
		if sr.GetTrackPublished() != nil {
			t.Fatal("track published without canPublish")
		}
		return sr.GetRequestResponse() != nil
	}).GetRequestResponse()
	if rr.GetReason() != livekit.RequestResponse_NOT_ALLOWED {
		t.Errorf("request_response = %v", rr)
	}
}

func TestLiveKitUpdateMetadata(t *testing.T) {
	e := startLK(t, signal.Limits{})
	other := e.dial(t, q("other", "room-m"))
	other.join()
	editor := e.dial(t, q("editor", "room-m", "meta", "1"))
	editor.join()
	editor.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_UpdateMetadata{UpdateMetadata: &livekit.UpdateParticipantMetadata{
		Metadata: "new-meta", Name: "New Name", Attributes: map[string]string{"k": "v"}, RequestId: 9,
	}}})
	updated := func(sr *livekit.SignalResponse) bool {
		for _, p := range sr.GetUpdate().GetParticipants() {
			if p.GetIdentity() == "editor" && p.GetMetadata() == "new-meta" && p.GetName() == "New Name" && p.GetAttributes()["k"] == "v" {
				return true
			}
		}
		return false
	}
	other.until("the editor's update", updated)
	editor.until("its own update (the sender is included)", updated)
	if rr := editor.until("request_response", func(sr *livekit.SignalResponse) bool { return sr.GetRequestResponse() != nil }).GetRequestResponse(); rr.GetRequestId() != 9 || rr.GetReason() != livekit.RequestResponse_OK {
		t.Errorf("request_response = %v", rr)
	}

	// Without canUpdateOwnMetadata: refused, and nobody sees a change.
	other.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_UpdateMetadata{UpdateMetadata: &livekit.UpdateParticipantMetadata{Metadata: "nope", RequestId: 10}}})
	rr := other.until("request_response", func(sr *livekit.SignalResponse) bool {
		for _, p := range sr.GetUpdate().GetParticipants() {
			if p.GetMetadata() == "nope" {
				t.Fatal("a refused update was applied")
			}
		}
		return sr.GetRequestResponse() != nil
	}).GetRequestResponse()
	if rr.GetRequestId() != 10 || rr.GetReason() != livekit.RequestResponse_NOT_ALLOWED {
		t.Errorf("request_response = %v", rr)
	}
}

// lastLeave checks that the frames before a close end with a leave and
// returns it.
func lastLeave(t *testing.T, frames []*livekit.SignalResponse) *livekit.LeaveRequest {
	t.Helper()
	if len(frames) == 0 || frames[len(frames)-1].GetLeave() == nil {
		t.Fatalf("no leave before the close; last frames: %v", frames)
	}
	return frames[len(frames)-1].GetLeave()
}

func TestLiveKitLeaveBeforeEveryClose(t *testing.T) {
	cases := []struct {
		name   string
		end    func(e *lkEnv, c *lkClient)
		reason livekit.DisconnectReason
		code   int
	}{
		{"client leave", func(_ *lkEnv, c *lkClient) {
			c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_CLIENT_INITIATED}}})
		}, livekit.DisconnectReason_CLIENT_INITIATED, websocket.CloseNormalClosure},
		{"removed", func(e *lkEnv, _ *lkClient) {
			_ = e.reg.RemoveParticipant(context.Background(), "room-x", "subject", rooms.ReasonRemoved)
		}, livekit.DisconnectReason_PARTICIPANT_REMOVED, websocket.CloseNormalClosure},
		{"room deleted", func(e *lkEnv, _ *lkClient) {
			_ = e.reg.DeleteRoom(context.Background(), "room-x", rooms.ReasonRoomDeleted)
		}, livekit.DisconnectReason_ROOM_DELETED, websocket.CloseNormalClosure},
		{"duplicate identity", func(e *lkEnv, c *lkClient) {
			e.dial(c.t, q("subject", "room-x")).join()
		}, livekit.DisconnectReason_DUPLICATE_IDENTITY, websocket.CloseNormalClosure},
		{"shutdown", func(e *lkEnv, _ *lkClient) {
			go func() { _ = e.hub.Shutdown(context.Background()) }()
		}, livekit.DisconnectReason_SERVER_SHUTDOWN, websocket.CloseGoingAway},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := startLK(t, signal.Limits{})
			watcher := e.dial(t, q("watcher", "room-x"))
			watcher.join()
			c := e.dial(t, q("subject", "room-x"))
			sid := c.join().GetParticipant().GetSid()
			tc.end(e, c)
			frames, code := c.closed()
			leave := lastLeave(t, frames)
			if leave.GetReason() != tc.reason || leave.GetAction() != livekit.LeaveRequest_DISCONNECT || code != tc.code {
				t.Errorf("leave %v then close %d; want %v and %d", leave, code, tc.reason, tc.code)
			}
			if tc.reason == livekit.DisconnectReason_SERVER_SHUTDOWN || tc.reason == livekit.DisconnectReason_ROOM_DELETED {
				return // the watcher is closed too
			}
			u := watcher.until("subject DISCONNECTED", func(sr *livekit.SignalResponse) bool {
				for _, p := range sr.GetUpdate().GetParticipants() {
					if p.GetSid() == sid && p.GetState() == livekit.ParticipantInfo_DISCONNECTED {
						return true
					}
				}
				return false
			})
			if got := u.GetUpdate().GetParticipants()[0].GetDisconnectReason(); got != tc.reason {
				t.Errorf("watcher sees disconnect reason %v, want %v", got, tc.reason)
			}
		})
	}
}

func TestLiveKitResumeAsksForRejoin(t *testing.T) {
	e := startLK(t, signal.Limits{})
	c := e.dial(t, q("back", "room-r", "reconnect", "1", "sid", "PA_old"))
	frames, code := c.closed()
	if len(frames) != 1 {
		t.Fatalf("got %d frames, want only the leave: %v", len(frames), frames)
	}
	leave := lastLeave(t, frames)
	if leave.GetReason() != livekit.DisconnectReason_STATE_MISMATCH || leave.GetAction() != livekit.LeaveRequest_RECONNECT || code != websocket.CloseNormalClosure {
		t.Errorf("leave %v, close %d", leave, code)
	}
	if _, ok := e.reg.Get("room-r"); ok {
		t.Error("a refused resume created the room")
	}
}

func TestLiveKitRateLimit(t *testing.T) {
	e := startLK(t, signal.Limits{ReadLimit: 1 << 20, Rate: 5, Burst: 5})
	c := e.dial(t, q("flood", "room-f"))
	c.join()
	for range 50 {
		b, _ := proto.Marshal(&livekit.SignalRequest{Message: &livekit.SignalRequest_Ping{Ping: 1}})
		if c.c.WriteMessage(websocket.BinaryMessage, b) != nil {
			break
		}
	}
	frames, code := c.closed()
	lastLeave(t, frames)
	if code != websocket.ClosePolicyViolation {
		t.Errorf("close code %d, want 1008", code)
	}
}

func TestLiveKitBadFramesIgnored(t *testing.T) {
	e := startLK(t, signal.Limits{})
	c := e.dial(t, q("fuzzy", "room-b"))
	c.join()
	for _, f := range [][]byte{{0xff, 0xff, 0xff}, {}, []byte("not protobuf at all")} {
		if err := c.c.WriteMessage(websocket.BinaryMessage, f); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.c.WriteMessage(websocket.TextMessage, []byte(`{"ping":1}`))
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{CandidateInit: "{broken"}}})
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: "garbage", Id: 3}}})
	// The session is still alive and answers.
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 5}}})
	c.until("pong_resp", func(sr *livekit.SignalResponse) bool {
		if sr.GetAnswer() != nil {
			t.Error("garbage offer answered")
		}
		return sr.GetPongResp().GetLastPingTimestamp() == 5
	})
}

// fakeSink is a registry member that is not a LiveKit client (as a JSON
// participant is).
type fakeSink struct{ ch chan rooms.Event }

func (f fakeSink) Send(ev rooms.Event) bool {
	select {
	case f.ch <- ev:
		return true
	default:
		return false
	}
}
func (f fakeSink) Close(rooms.Reason) {}

func TestLiveKitDataRelay(t *testing.T) {
	e := startLK(t, signal.Limits{})
	sink := fakeSink{ch: make(chan rooms.Event, 64)}
	fake, err := e.reg.Join(context.Background(), rooms.JoinRequest{
		Room: "room-d", Identity: "json-peer", Permission: rooms.AllPermissions(), Dialect: rooms.DialectJSON, State: rooms.StateActive,
	}, sink)
	if err != nil {
		t.Fatal(err)
	}
	c := e.dial(t, q("sdk", "room-d"))
	if others := c.join().GetOtherParticipants(); len(others) != 1 || others[0].GetIdentity() != "json-peer" || others[0].GetState() != livekit.ParticipantInfo_ACTIVE {
		t.Fatalf("others = %v", others)
	}
	pc := newPC(t)
	negotiate(t, c, pc, 1, true)
	waitClosed(t, pc.opened, "the client's _reliable channel open")

	// Registry data reaches the SDK on its own `_reliable` channel.
	if err := fake.SendData(context.Background(), rooms.DataPacket{Payload: []byte("to sdk"), Topic: "t1", Reliable: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case raw := <-pc.received:
		var dp livekit.DataPacket
		if err := proto.Unmarshal(raw, &dp); err != nil {
			t.Fatal(err)
		}
		if string(dp.GetUser().GetPayload()) != "to sdk" || dp.GetUser().GetTopic() != "t1" || dp.GetParticipantIdentity() != "json-peer" {
			t.Errorf("data packet = %v", &dp)
		}
	case <-time.After(lkWait):
		t.Fatal("no data on the client's channel")
	}

	// SDK data reaches the registry with the sender stamped by the server.
	topic := "t2"
	b, _ := proto.Marshal(&livekit.DataPacket{
		ParticipantIdentity: "spoofed",
		Value:               &livekit.DataPacket_User{User: &livekit.UserPacket{Payload: []byte{0xff, 1}, Topic: &topic}},
	})
	if err := pc.reliable.Send(b); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(lkWait)
	for {
		select {
		case ev := <-sink.ch:
			if ev.Kind != rooms.EventDataReceived {
				continue
			}
			d := ev.Data
			if d.FromIdentity != "sdk" || !bytes.Equal(d.Payload, []byte{0xff, 1}) || d.Topic != "t2" || !d.Reliable {
				t.Errorf("relayed packet = %+v", d)
			}
			return
		case <-deadline:
			t.Fatal("SDK data never reached the registry")
		}
	}
}

func TestLiveKitRevokedPublishingUnpublishes(t *testing.T) {
	e := startLK(t, signal.Limits{})
	other, c, tp := micPublisher(t, e, "room-rv")
	sid := tp.GetTrack().GetSid()

	perm := rooms.AllPermissions()
	perm.CanPublish = false
	if _, err := e.reg.UpdateParticipant(context.Background(), "room-rv", "pub", rooms.Update{}, &perm); err != nil {
		t.Fatal(err)
	}
	if got := c.until("track_unpublished", func(sr *livekit.SignalResponse) bool {
		return sr.GetTrackUnpublished() != nil
	}).GetTrackUnpublished().GetTrackSid(); got != sid {
		t.Errorf("track_unpublished for %s, want %s", got, sid)
	}
	other.until("an update of pub without tracks and without canPublish", func(sr *livekit.SignalResponse) bool {
		for _, p := range sr.GetUpdate().GetParticipants() {
			if p.GetIdentity() == "pub" && len(p.GetTracks()) == 0 && !p.GetPermission().GetCanPublish() {
				return true
			}
		}
		return false
	})
}

// A close frame's payload is empty or at least the 2-byte code (RFC 6455
// §5.5.1): one byte is a protocol error, answered with 1002.
func TestLiveKitCloseWithOneBytePayload(t *testing.T) {
	e := startLK(t, signal.Limits{})
	c := e.dial(t, q("alice", "r-close"))
	c.join()
	// A masked close frame (zero mask) whose payload is the single byte 0x03.
	if _, err := c.c.UnderlyingConn().Write([]byte{0x88, 0x81, 0, 0, 0, 0, 0x03}); err != nil {
		t.Fatal(err)
	}
	if _, code := c.closed(); code != websocket.CloseProtocolError {
		t.Fatalf("close %d, want 1002", code)
	}
}
