package pbwire

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/lkproto"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// roundTrip encodes r and decodes it the way a client does.
func roundTrip(t *testing.T, r Response) *livekit.SignalResponse {
	t.Helper()
	b, err := r.Encode(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	var sr livekit.SignalResponse
	if err := proto.Unmarshal(b, &sr); err != nil {
		t.Fatal(err)
	}
	return &sr
}

func TestJoinResponse(t *testing.T) {
	joined := time.Unix(1700000000, 123e6)
	alice := lkproto.Participant(rooms.ParticipantInfo{
		Sid: "PA_alice", Identity: "alice", Name: "Alice", Metadata: "m", Attributes: map[string]string{"k": "v"},
		State: rooms.StateJoined, Version: 1, JoinedAt: joined,
		Permission: rooms.Permission{CanSubscribe: true, CanPublish: true, CanPublishData: true, CanPublishSources: []string{"camera", "bogus"}},
	}, "")
	bob := lkproto.Participant(rooms.ParticipantInfo{Sid: "PA_bob", Identity: "bob", State: rooms.StateActive, Version: 4,
		Tracks: []rooms.TrackInfo{{Sid: "TR_1", Kind: "video", Name: "cam", Source: "camera", Muted: true}}}, "")
	for _, tc := range []struct {
		name  string
		join  Join
		check func(t *testing.T, j *livekit.JoinResponse)
	}{
		{"defaults", Join{Room: lkproto.Room(rooms.RoomInfo{Sid: "RM_1", Name: "r1", CreatedAt: joined}), Participant: alice, Others: []*livekit.ParticipantInfo{bob}, Server: ServerInfo{NodeID: "ND_1"}},
			func(t *testing.T, j *livekit.JoinResponse) {
				if j.Room.GetSid() != "RM_1" || j.Room.GetName() != "r1" || j.Room.GetCreationTime() != 1700000000 || j.Room.GetCreationTimeMs() != 1700000000123 {
					t.Errorf("room %v", j.Room)
				}
				p := j.GetParticipant()
				if p.GetSid() != "PA_alice" || p.GetIdentity() != "alice" || p.GetName() != "Alice" || p.GetState() != livekit.ParticipantInfo_JOINED ||
					p.GetVersion() != 1 || p.GetJoinedAt() != 1700000000 || p.GetAttributes()["k"] != "v" || p.GetMetadata() != "m" {
					t.Errorf("participant %v", p)
				}
				perm := p.GetPermission()
				if !perm.GetCanPublish() || !perm.GetCanSubscribe() || !perm.GetCanPublishData() || len(perm.GetCanPublishSources()) != 1 || perm.GetCanPublishSources()[0] != livekit.TrackSource_CAMERA {
					t.Errorf("permission %v", perm)
				}
				if len(j.GetOtherParticipants()) != 1 {
					t.Fatalf("others %v", j.GetOtherParticipants())
				}
				o := j.GetOtherParticipants()[0]
				if o.GetState() != livekit.ParticipantInfo_ACTIVE || len(o.GetTracks()) != 1 {
					t.Fatalf("other %v", o)
				}
				if tr := o.GetTracks()[0]; tr.GetSid() != "TR_1" || tr.GetType() != livekit.TrackType_VIDEO || tr.GetSource() != livekit.TrackSource_CAMERA || !tr.GetMuted() {
					t.Errorf("track %v", tr)
				}
				si := j.GetServerInfo()
				if si.GetEdition() != livekit.ServerInfo_Standard || si.GetVersion() != "1.13.5" || si.GetProtocol() != 17 || si.GetNodeId() != "ND_1" || j.GetServerVersion() != "1.13.5" {
					t.Errorf("server info %v / %q", si, j.GetServerVersion())
				}
				if j.GetPingInterval() != 5 || j.GetPingTimeout() != 15 || j.GetSubscriberPrimary() || len(j.GetIceServers()) != 0 {
					t.Errorf("ping %d/%d subscriberPrimary %v ice %v", j.GetPingInterval(), j.GetPingTimeout(), j.GetSubscriberPrimary(), j.GetIceServers())
				}
			}},
		{"configured ICE servers and pings", Join{Room: &livekit.Room{Sid: "RM_1"}, Participant: alice, PingInterval: 7, PingTimeout: 21,
			ICEServers: []ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}, Username: "u", Credential: "c"}}},
			func(t *testing.T, j *livekit.JoinResponse) {
				if j.GetPingInterval() != 7 || j.GetPingTimeout() != 21 {
					t.Errorf("ping %d/%d", j.GetPingInterval(), j.GetPingTimeout())
				}
				if len(j.GetIceServers()) != 1 || j.GetIceServers()[0].GetUrls()[0] != "stun:127.0.0.1:3478" || j.GetIceServers()[0].GetCredential() != "c" {
					t.Errorf("ice %v", j.GetIceServers())
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sr := roundTrip(t, JoinResponse(tc.join))
			if sr.GetJoin() == nil {
				t.Fatalf("not a join: %v", sr)
			}
			tc.check(t, sr.GetJoin())
		})
	}
}

func TestServerMessages(t *testing.T) {
	now := time.UnixMilli(1700000000456)
	trickle, err := Trickle(`{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 7882 typ host","sdpMid":"0","sdpMLineIndex":0}`, TargetPublisher)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		r     Response
		check func(t *testing.T, sr *livekit.SignalResponse)
	}{
		{"update with a leaver", ParticipantUpdate(lkproto.Participant(rooms.ParticipantInfo{Sid: "PA_1", Identity: "a", State: rooms.StateDisconnected, Version: 3}, rooms.ReasonDuplicateIdentity)),
			func(t *testing.T, sr *livekit.SignalResponse) {
				ps := sr.GetUpdate().GetParticipants()
				if len(ps) != 1 || ps[0].GetState() != livekit.ParticipantInfo_DISCONNECTED || ps[0].GetDisconnectReason() != livekit.DisconnectReason_DUPLICATE_IDENTITY || ps[0].GetVersion() != 3 {
					t.Errorf("%v", ps)
				}
			}},
		{"reason only with DISCONNECTED", ParticipantUpdate(lkproto.Participant(rooms.ParticipantInfo{Sid: "PA_1", State: rooms.StateActive}, rooms.ReasonLeft)),
			func(t *testing.T, sr *livekit.SignalResponse) {
				if r := sr.GetUpdate().GetParticipants()[0].GetDisconnectReason(); r != livekit.DisconnectReason_UNKNOWN_REASON {
					t.Errorf("reason %v", r)
				}
			}},
		{"track_published echoes cid", TrackPublished("cid-9", lkproto.Track(rooms.TrackInfo{Sid: "TR_9", Kind: "audio", Source: "microphone", Name: "mic"})),
			func(t *testing.T, sr *livekit.SignalResponse) {
				tp := sr.GetTrackPublished()
				if tp.GetCid() != "cid-9" || tp.GetTrack().GetSid() != "TR_9" || tp.GetTrack().GetType() != livekit.TrackType_AUDIO || tp.GetTrack().GetSource() != livekit.TrackSource_MICROPHONE {
					t.Errorf("%v", tp)
				}
			}},
		{"track_unpublished", TrackUnpublished("TR_9"), func(t *testing.T, sr *livekit.SignalResponse) {
			if sr.GetTrackUnpublished().GetTrackSid() != "TR_9" {
				t.Errorf("%v", sr)
			}
		}},
		{"pong in ms", Pong(now), func(t *testing.T, sr *livekit.SignalResponse) {
			if sr.GetPong() != 1700000000456 {
				t.Errorf("pong %d", sr.GetPong())
			}
		}},
		{"pong_resp", PongResp(42, now), func(t *testing.T, sr *livekit.SignalResponse) {
			if p := sr.GetPongResp(); p.GetLastPingTimestamp() != 42 || p.GetTimestamp() != 1700000000456 {
				t.Errorf("%v", p)
			}
		}},
		{"leave disconnect", Leave("server_shutdown", LeaveDisconnect), func(t *testing.T, sr *livekit.SignalResponse) {
			l := sr.GetLeave()
			if l.GetReason() != livekit.DisconnectReason_SERVER_SHUTDOWN || l.GetAction() != livekit.LeaveRequest_DISCONNECT || l.GetCanReconnect() {
				t.Errorf("%v", l)
			}
		}},
		{"leave for a stale resume", Leave("state_mismatch", LeaveReconnect), func(t *testing.T, sr *livekit.SignalResponse) {
			l := sr.GetLeave()
			if l.GetReason() != livekit.DisconnectReason_STATE_MISMATCH || l.GetAction() != livekit.LeaveRequest_RECONNECT || !l.GetCanReconnect() {
				t.Errorf("%v", l)
			}
		}},
		{"answer echoes id", Answer("v=0", 2, map[string]string{"0": "TR_1"}), func(t *testing.T, sr *livekit.SignalResponse) {
			a := sr.GetAnswer()
			if a.GetType() != "answer" || a.GetSdp() != "v=0" || a.GetId() != 2 || a.GetMidToTrackId()["0"] != "TR_1" {
				t.Errorf("%v", a)
			}
		}},
		{"offer", Offer("v=0", 4, nil), func(t *testing.T, sr *livekit.SignalResponse) {
			if o := sr.GetOffer(); o.GetType() != "offer" || o.GetId() != 4 {
				t.Errorf("%v", o)
			}
		}},
		{"trickle", trickle, func(t *testing.T, sr *livekit.SignalResponse) {
			tr := sr.GetTrickle()
			var c map[string]any
			if err := json.Unmarshal([]byte(tr.GetCandidateInit()), &c); err != nil {
				t.Fatal(err)
			}
			if _, ok := c["sdpMid"].(string); !ok || c["sdpMLineIndex"] != float64(0) || tr.GetTarget() != livekit.SignalTarget_PUBLISHER {
				t.Errorf("%v", tr)
			}
		}},
		{"refresh_token", RefreshToken("jwt"), func(t *testing.T, sr *livekit.SignalResponse) {
			if sr.GetRefreshToken() != "jwt" {
				t.Errorf("%v", sr)
			}
		}},
		{"room_update", RoomUpdate(lkproto.Room(rooms.RoomInfo{Sid: "RM_1", Name: "r", Metadata: "x", Participants: make([]rooms.ParticipantInfo, 2)})), func(t *testing.T, sr *livekit.SignalResponse) {
			r := sr.GetRoomUpdate().GetRoom()
			if r.GetSid() != "RM_1" || r.GetMetadata() != "x" || r.GetNumParticipants() != 2 {
				t.Errorf("%v", r)
			}
		}},
		{"mute", Mute("TR_1", true), func(t *testing.T, sr *livekit.SignalResponse) {
			if m := sr.GetMute(); m.GetSid() != "TR_1" || !m.GetMuted() {
				t.Errorf("%v", m)
			}
		}},
		{"reconnect", Reconnect(nil, ServerInfo{}, 7), func(t *testing.T, sr *livekit.SignalResponse) {
			r := sr.GetReconnect()
			if r == nil || r.GetLastMessageSeq() != 7 || r.GetServerInfo().GetVersion() != "1.13.5" {
				t.Errorf("%v", r)
			}
		}},
		{"request_response not_allowed", RequestResponse(5, "not_allowed", "no"), func(t *testing.T, sr *livekit.SignalResponse) {
			r := sr.GetRequestResponse()
			if r.GetRequestId() != 5 || r.GetReason() != livekit.RequestResponse_NOT_ALLOWED || r.GetMessage() != "no" {
				t.Errorf("%v", r)
			}
		}},
		{"request_response ok", RequestResponse(6, "ok", ""), func(t *testing.T, sr *livekit.SignalResponse) {
			if r := sr.GetRequestResponse(); r.GetReason() != livekit.RequestResponse_OK {
				t.Errorf("%v", r)
			}
		}},
		{"speakers_changed", SpeakersChanged(Speaker{SID: "PA_1", Level: 0.9, Active: true}), func(t *testing.T, sr *livekit.SignalResponse) {
			s := sr.GetSpeakersChanged().GetSpeakers()
			if len(s) != 1 || s[0].GetSid() != "PA_1" || !s[0].GetActive() {
				t.Errorf("%v", s)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, roundTrip(t, tc.r))
		})
	}
}

func TestTrickleRefusesShapesClientsChokeOn(t *testing.T) {
	for _, bad := range []string{
		"",
		"null",
		`{"candidate":"c"}`,
		`{"candidate":"c","sdpMid":"0"}`,
		`{"candidate":"c","sdpMid":0,"sdpMLineIndex":0}`,
		`{"candidate":"c","sdpMid":"0","sdpMLineIndex":"0"}`,
		`{"candidate":"c","sdpMid":null,"sdpMLineIndex":0}`,
	} {
		if _, err := Trickle(bad, TargetPublisher); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
