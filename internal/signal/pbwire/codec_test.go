package pbwire

import (
	"errors"
	"testing"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		msg   *livekit.SignalRequest
		check func(t *testing.T, r Request)
	}{
		{"offer", &livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: "v=0", Id: 2}}},
			func(t *testing.T, r Request) {
				if r.Kind != KindOffer || r.Name != "offer" || r.SDP != (SessionDescription{Type: "offer", SDP: "v=0", ID: 2}) {
					t.Errorf("%+v", r)
				}
			}},
		{"answer", &livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: "v=0"}}},
			func(t *testing.T, r Request) {
				if r.Kind != KindAnswer || r.SDP.Type != "answer" {
					t.Errorf("%+v", r)
				}
			}},
		{"trickle", &livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{CandidateInit: `{"candidate":"c"}`, Target: livekit.SignalTarget_SUBSCRIBER, Final: true}}},
			func(t *testing.T, r Request) {
				if r.Kind != KindTrickle || r.Trickle != (TrickleRequest{CandidateInit: `{"candidate":"c"}`, Target: TargetSubscriber, Final: true}) {
					t.Errorf("%+v", r)
				}
			}},
		{"add_track", &livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{Cid: "cid-1", Name: "cam", Type: livekit.TrackType_VIDEO, Source: livekit.TrackSource_CAMERA, Width: 640, Height: 480, Muted: true}}},
			func(t *testing.T, r Request) {
				want := AddTrackRequest{CID: "cid-1", Name: "cam", Kind: "video", Source: "camera", Width: 640, Height: 480, Muted: true}
				if r.Kind != KindAddTrack || r.AddTrack != want {
					t.Errorf("%+v", r.AddTrack)
				}
			}},
		{"mute", &livekit.SignalRequest{Message: &livekit.SignalRequest_Mute{Mute: &livekit.MuteTrackRequest{Sid: "TR_1", Muted: true}}},
			func(t *testing.T, r Request) {
				if r.Kind != KindMute || r.Mute != (MuteRequest{SID: "TR_1", Muted: true}) {
					t.Errorf("%+v", r)
				}
			}},
		{"leave from room.disconnect()", &livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT}}},
			func(t *testing.T, r Request) {
				if r.Kind != KindLeave || r.Leave != (LeaveRequest{Reason: "left", Action: LeaveDisconnect}) {
					t.Errorf("%+v", r.Leave)
				}
			}},
		{"ping", &livekit.SignalRequest{Message: &livekit.SignalRequest_Ping{Ping: 1234}},
			func(t *testing.T, r Request) {
				if r.Kind != KindPing || r.Ping != 1234 {
					t.Errorf("%+v", r)
				}
			}},
		{"ping_req", &livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 99, Rtt: 7}}},
			func(t *testing.T, r Request) {
				if r.Kind != KindPingReq || r.Name != "ping_req" || r.PingReq != (PingRequest{Timestamp: 99, RTT: 7}) {
					t.Errorf("%+v", r)
				}
			}},
		{"update_metadata", &livekit.SignalRequest{Message: &livekit.SignalRequest_UpdateMetadata{UpdateMetadata: &livekit.UpdateParticipantMetadata{Name: "n", Metadata: "m", Attributes: map[string]string{"a": "b"}, RequestId: 5}}},
			func(t *testing.T, r Request) {
				u := r.UpdateMetadata
				if r.Kind != KindUpdateMetadata || u.Name != "n" || u.Metadata != "m" || u.Attributes["a"] != "b" || u.RequestID != 5 {
					t.Errorf("%+v", u)
				}
			}},
		{"subscription", &livekit.SignalRequest{Message: &livekit.SignalRequest_Subscription{Subscription: &livekit.UpdateSubscription{TrackSids: []string{"TR_1"}, ParticipantTracks: []*livekit.ParticipantTracks{{TrackSids: []string{"TR_2"}}}}}},
			func(t *testing.T, r Request) {
				s := r.Subscription
				if r.Kind != KindSubscription || s.Subscribe || len(s.TrackSIDs) != 2 || s.TrackSIDs[1] != "TR_2" {
					t.Errorf("%+v", s)
				}
			}},
		{"simulate speaker_update", &livekit.SignalRequest{Message: &livekit.SignalRequest_Simulate{Simulate: &livekit.SimulateScenario{Scenario: &livekit.SimulateScenario_SpeakerUpdate{SpeakerUpdate: 3}}}},
			func(t *testing.T, r Request) {
				if r.Kind != KindSimulate || r.Simulate != (SimulateRequest{Scenario: "speaker_update", Value: 3}) {
					t.Errorf("%+v", r.Simulate)
				}
			}},
		{"simulate server_leave", &livekit.SignalRequest{Message: &livekit.SignalRequest_Simulate{Simulate: &livekit.SimulateScenario{Scenario: &livekit.SimulateScenario_ServerLeave{ServerLeave: true}}}},
			func(t *testing.T, r Request) {
				if r.Simulate.Scenario != "server_leave" {
					t.Errorf("%+v", r.Simulate)
				}
			}},
		{"sync_state is ignored but named", &livekit.SignalRequest{Message: &livekit.SignalRequest_SyncState{SyncState: &livekit.SyncState{}}},
			func(t *testing.T, r Request) {
				if r.Kind != KindIgnored || r.Name != "sync_state" {
					t.Errorf("%+v", r)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := proto.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			r, err := DecodeRequest(b)
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			tc.check(t, r)
		})
	}
}

func TestDecodeRequestRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"garbage", []byte{0xff, 0xff, 0xff}},
		{"json text", []byte(`{"type":"join_room"}`)},
		{"empty frame", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeRequest(tc.frame); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := DecodeRequest(nil); !errors.Is(err, ErrEmptyRequest) {
		t.Errorf("empty frame: %v, want ErrEmptyRequest", err)
	}
}

func TestEncodeSizeCheck(t *testing.T) {
	r := RefreshToken(string(make([]byte, 1000)))
	if _, err := r.Encode(100); !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("Encode(100) = %v, want ErrResponseTooLarge", err)
	}
	b, err := r.Encode(0)
	if err != nil || len(b) < 1000 {
		t.Errorf("Encode(0) = %d bytes, %v", len(b), err)
	}
	if _, err := (Response{}).Encode(0); err == nil {
		t.Error("empty response encoded")
	}
}
