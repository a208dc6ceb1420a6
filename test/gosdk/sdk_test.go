package gosdk

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/twitchtv/twirp"
)

// modes are the SDK's two ways to connect: /rtc with two PeerConnections,
// and one PeerConnection (join_request on the URL).
var modes = []struct {
	name string
	opts []lksdk.ConnectOption
}{
	{"two PCs", nil},
	{"single PC", []lksdk.ConnectOption{lksdk.WithSinglePeerConnection()}},
}

// events collects what one participant's callbacks heard.
type events struct {
	mu        sync.Mutex
	data      []string // "<topic>|<payload>|<sender>"
	joined    []string
	left      []string
	published []string // track names published by others
	metadata  string
	muted     []string // sids of own tracks muted
	rtp       atomic.Int64
	gone      atomic.Bool
}

func (e *events) callback() *lksdk.RoomCallback {
	cb := lksdk.NewRoomCallback()
	cb.OnParticipantConnected = func(rp *lksdk.RemoteParticipant) { e.add(&e.joined, rp.Identity()) }
	cb.OnParticipantDisconnected = func(rp *lksdk.RemoteParticipant) { e.add(&e.left, rp.Identity()) }
	cb.OnDataPacket = func(d lksdk.DataPacket, p lksdk.DataReceiveParams) {
		if u, ok := d.(*lksdk.UserDataPacket); ok {
			e.add(&e.data, u.Topic+"|"+string(u.Payload)+"|"+p.SenderIdentity)
		}
	}
	cb.OnTrackPublished = func(pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		e.add(&e.published, rp.Identity()+"/"+pub.Name())
	}
	cb.OnTrackSubscribed = func(tr *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		go func() {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
				e.rtp.Add(1)
			}
		}()
	}
	cb.OnRoomMetadataChanged = func(md string) {
		e.mu.Lock()
		e.metadata = md
		e.mu.Unlock()
	}
	cb.OnTrackMuted = func(pub lksdk.TrackPublication, p lksdk.Participant) {
		if _, local := p.(*lksdk.LocalParticipant); local {
			e.add(&e.muted, pub.SID())
		}
	}
	cb.OnDisconnected = func() { e.gone.Store(true) }
	return cb
}

func (e *events) add(list *[]string, s string) {
	e.mu.Lock()
	*list = append(*list, s)
	e.mu.Unlock()
}

func (e *events) has(list *[]string, s string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range *list {
		if x == s {
			return true
		}
	}
	return false
}

func (e *events) snapshot(list *[]string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), *list...)
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func join(t *testing.T, opts []lksdk.ConnectOption, room, identity string, extra ...lksdk.ConnectOption) (*lksdk.Room, *events) {
	t.Helper()
	ev := &events{}
	all := append(append([]lksdk.ConnectOption{lksdk.WithConnectTimeout(15 * time.Second)}, opts...), extra...)
	yes := true
	tok, err := auth.NewAccessToken(apiKey, apiSecret).SetIdentity(identity).SetName("Name of " + identity).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room, CanUpdateOwnMetadata: &yes}).SetValidFor(time.Hour).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	r, err := lksdk.ConnectToRoomWithToken(srv.ws, tok, ev.callback(), all...)
	if err != nil {
		t.Fatalf("%s cannot join %s: %v\nserver log:\n%s", identity, room, err, srv.log())
	}
	t.Cleanup(r.Disconnect)
	return r, ev
}

// roomName is unique per test and mode.
func roomName(t *testing.T) string {
	return strings.NewReplacer(" ", "-", "/", "-").Replace(t.Name())
}

func rsClient() *lksdk.RoomServiceClient {
	return lksdk.NewRoomServiceClient(srv.base, apiKey, apiSecret)
}

// publishOpus publishes an Opus track and writes 20 ms of silence every
// 20 ms until the test ends.
func publishOpus(t *testing.T, r *lksdk.Room, name string) *lksdk.LocalTrackPublication {
	t.Helper()
	track, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := r.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{Name: name, Source: livekit.TrackSource_MICROPHONE})
	if err != nil {
		t.Fatalf("publish %s: %v", name, err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		silence := []byte{0xf8, 0xff, 0xfe} // an Opus frame of silence
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = track.WriteSample(media.Sample{Data: silence, Duration: 20 * time.Millisecond}, nil)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return pub
}

func TestParticipantsDataAndMedia(t *testing.T) {
	needNamespace(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			room := roomName(t)
			alice, aev := join(t, m.opts, room, "alice")
			bob, bev := join(t, m.opts, room, "bob")
			waitFor(t, "alice seeing bob", func() bool { return alice.GetParticipantByIdentity("bob") != nil })
			waitFor(t, "bob seeing alice", func() bool { return bob.GetParticipantByIdentity("alice") != nil })
			if p := bob.GetParticipantByIdentity("alice"); p.Name() != "Name of alice" {
				t.Errorf("bob sees alice named %q", p.Name())
			}

			// An Opus track: announced to bob, its RTP counted at bob.
			publishOpus(t, alice, "mic")
			waitFor(t, "bob hearing of alice's track", func() bool { return bev.has(&bev.published, "alice/mic") })
			waitFor(t, "50 RTP packets of alice's track at bob", func() bool { return bev.rtp.Load() >= 50 })

			// A late joiner sees both and the track, and receives its media.
			carol, cev := join(t, m.opts, room, "carol")
			waitFor(t, "carol seeing alice and bob", func() bool {
				return carol.GetParticipantByIdentity("alice") != nil && carol.GetParticipantByIdentity("bob") != nil
			})
			waitFor(t, "carol hearing of alice's track", func() bool { return cev.has(&cev.published, "alice/mic") })
			waitFor(t, "RTP of alice's track at carol", func() bool { return cev.rtp.Load() >= 25 })

			// Data: reliable to all, lossy back, and to one identity only.
			if err := alice.LocalParticipant.PublishDataPacket(&lksdk.UserDataPacket{Payload: []byte("for carol"), Topic: "t1"},
				lksdk.WithDataPublishReliable(true), lksdk.WithDataPublishDestination([]string{"carol"})); err != nil {
				t.Fatal(err)
			}
			if err := alice.LocalParticipant.PublishDataPacket(&lksdk.UserDataPacket{Payload: []byte("hello all"), Topic: "t2"},
				lksdk.WithDataPublishReliable(true)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "carol's own message", func() bool { return cev.has(&cev.data, "t1|for carol|alice") })
			waitFor(t, "the reliable message at bob", func() bool { return bev.has(&bev.data, "t2|hello all|alice") })
			if got := bev.snapshot(&bev.data); len(got) != 1 {
				t.Errorf("bob received %v; the message for carol only must not reach him", got)
			}
			// Lossy packets may be lost; one of a few must arrive.
			for i := 0; i < 20 && !aev.has(&aev.data, "lossy|from bob|bob"); i++ {
				_ = bob.LocalParticipant.PublishDataPacket(&lksdk.UserDataPacket{Payload: []byte("from bob"), Topic: "lossy"}, lksdk.WithDataPublishReliable(false))
				time.Sleep(100 * time.Millisecond)
			}
			waitFor(t, "bob's lossy message at alice", func() bool { return aev.has(&aev.data, "lossy|from bob|bob") })

			// RPC: bob calls alice.
			if err := alice.RegisterRpcMethod("greet", func(d lksdk.RpcInvocationData) (string, error) {
				return "hi " + d.CallerIdentity + ": " + d.Payload, nil
			}); err != nil {
				t.Fatal(err)
			}
			res, err := bob.LocalParticipant.PerformRpc(lksdk.PerformRpcParams{DestinationIdentity: "alice", Method: "greet", Payload: "ping"})
			if err != nil || res == nil || *res != "hi bob: ping" {
				t.Fatalf("RPC answered %v, %v", res, err)
			}

			// Name, metadata and attributes set by alice reach bob.
			alice.LocalParticipant.SetName("Alice A.")
			alice.LocalParticipant.SetMetadata("md-1")
			alice.LocalParticipant.SetAttributes(map[string]string{"k": "v"})
			waitFor(t, "alice's new name, metadata and attributes at bob", func() bool {
				p := bob.GetParticipantByIdentity("alice")
				return p != nil && p.Name() == "Alice A." && p.Metadata() == "md-1" && p.Attributes()["k"] == "v"
			})

			// Disconnects: carol leaves, the others see it.
			carol.Disconnect()
			waitFor(t, "alice seeing carol leave", func() bool { return aev.has(&aev.left, "carol") })
			waitFor(t, "bob seeing carol leave", func() bool { return bob.GetParticipantByIdentity("carol") == nil })
		})
	}
}

func TestRoomService(t *testing.T) {
	needNamespace(t)
	rs := rsClient()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			c := ctx(t)
			room := roomName(t)
			created, err := rs.CreateRoom(c, &livekit.CreateRoomRequest{Name: room, Metadata: "m0", MaxParticipants: 5})
			if err != nil || created.GetMetadata() != "m0" || created.GetMaxParticipants() != 5 || !strings.HasPrefix(created.GetSid(), "RM_") {
				t.Fatalf("CreateRoom: %v %v", created, err)
			}
			alice, aev := join(t, m.opts, room, "alice")
			_, _ = join(t, m.opts, room, "bob")
			list, err := rs.ListRooms(c, &livekit.ListRoomsRequest{Names: []string{room}})
			if err != nil || len(list.GetRooms()) != 1 || list.GetRooms()[0].GetNumParticipants() != 2 {
				t.Fatalf("ListRooms: %v %v", list, err)
			}
			ps, err := rs.ListParticipants(c, &livekit.ListParticipantsRequest{Room: room})
			if err != nil || len(ps.GetParticipants()) != 2 {
				t.Fatalf("ListParticipants: %v %v", ps, err)
			}
			if _, err := rs.UpdateRoomMetadata(c, &livekit.UpdateRoomMetadataRequest{Room: room, Metadata: "m1"}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the room metadata at alice", func() bool {
				aev.mu.Lock()
				defer aev.mu.Unlock()
				return aev.metadata == "m1"
			})
			if _, err := rs.UpdateParticipant(c, &livekit.UpdateParticipantRequest{Room: room, Identity: "alice", Metadata: "pm", Name: "Alice S."}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "alice's own metadata and name from the server", func() bool {
				return alice.LocalParticipant.Metadata() == "pm" && alice.LocalParticipant.Name() == "Alice S."
			})

			// Server mute: the publisher's own publication is muted too.
			pub := publishOpus(t, alice, "mic")
			res, err := rs.MutePublishedTrack(c, &livekit.MuteRoomTrackRequest{Room: room, Identity: "alice", TrackSid: pub.SID(), Muted: true})
			if err != nil || !res.GetTrack().GetMuted() {
				t.Fatalf("MutePublishedTrack: %v %v", res, err)
			}
			waitFor(t, "alice's own track muted", func() bool { return pub.IsMuted() })

			if _, err := rs.SendData(c, &livekit.SendDataRequest{Room: room, Data: []byte("from server"), Kind: livekit.DataPacket_RELIABLE,
				Topic: proto("srv"), DestinationIdentities: []string{"alice"}}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "server data at alice", func() bool { return aev.has(&aev.data, "srv|from server|") })

			if _, err := rs.RemoveParticipant(c, &livekit.RoomParticipantIdentity{Room: room, Identity: "alice"}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "alice disconnected by the server", aev.gone.Load)
			if _, err := rs.DeleteRoom(c, &livekit.DeleteRoomRequest{Room: room}); err != nil {
				t.Fatal(err)
			}
			if list, _ := rs.ListRooms(c, &livekit.ListRoomsRequest{Names: []string{room}}); len(list.GetRooms()) != 0 {
				t.Errorf("the room is still listed after DeleteRoom: %v", list)
			}
		})
	}
}

func proto(s string) *string { return &s }

// TestRoomServiceRefusals: the errors the SDK reports are LiveKit's: a bad
// secret is refused before Twirp (an "unauthenticated" error from an
// intermediary, HTTP 401), unknown rooms and participants are not_found with
// LiveKit's texts.
func TestRoomServiceRefusals(t *testing.T) {
	needNamespace(t)
	c := ctx(t)
	_, err := lksdk.NewRoomServiceClient(srv.base, apiKey, "not-the-secret").ListRooms(c, &livekit.ListRoomsRequest{})
	var te twirp.Error
	if !errors.As(err, &te) || te.Code() != twirp.Unauthenticated || te.Msg() != `Error from intermediary with HTTP status code 401 "Unauthorized"` {
		t.Errorf("a bad secret: %v", err)
	}
	rs := rsClient()
	room := roomName(t)
	if _, err := rs.CreateRoom(c, &livekit.CreateRoomRequest{Name: room}); err != nil {
		t.Fatal(err)
	}
	_, err = rs.GetParticipant(c, &livekit.RoomParticipantIdentity{Room: room, Identity: "nobody"})
	if !errors.As(err, &te) || te.Code() != twirp.NotFound || te.Msg() != "participant does not exist" {
		t.Errorf("an unknown participant: %v", err)
	}
	_, err = rs.UpdateRoomMetadata(c, &livekit.UpdateRoomMetadataRequest{Room: room + "-none", Metadata: "x"})
	if !errors.As(err, &te) || te.Code() != twirp.NotFound || te.Msg() != "requested room does not exist" {
		t.Errorf("an unknown room: %v", err)
	}
}

// TestFullRoomRefusedAtOnce: a join to a room at its max_participants fails
// at once (the server refuses before the WebSocket opens), not after the
// SDK's 15 s join timeout.
func TestFullRoomRefusedAtOnce(t *testing.T) {
	needNamespace(t)
	rs := rsClient()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			room := roomName(t)
			if _, err := rs.CreateRoom(ctx(t), &livekit.CreateRoomRequest{Name: room, MaxParticipants: 1}); err != nil {
				t.Fatal(err)
			}
			join(t, m.opts, room, "first")
			start := time.Now()
			r, err := lksdk.ConnectToRoom(srv.ws, lksdk.ConnectInfo{APIKey: apiKey, APISecret: apiSecret, RoomName: room, ParticipantIdentity: "second"},
				lksdk.NewRoomCallback(), append([]lksdk.ConnectOption{lksdk.WithConnectTimeout(15 * time.Second)}, m.opts...)...)
			took := time.Since(start)
			if err == nil {
				r.Disconnect()
				t.Fatal("the second join was accepted")
			}
			if !strings.Contains(err.Error(), "max participants") && !errors.Is(err, lksdk.ErrCannotConnectSignal) {
				t.Logf("refusal: %v", err)
			}
			if took > time.Second {
				t.Errorf("the refusal took %v; want under a second (%v)", took, err)
			}
		})
	}
}
