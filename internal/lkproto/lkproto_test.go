package lkproto

import (
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// One participant as signalling, Twirp and webhooks all show it: its kind
// (an agent is an agent everywhere), its tracks, its permission and, once
// gone, why.
func TestParticipant(t *testing.T) {
	joined := time.Unix(1700000000, 123e6)
	p := Participant(rooms.ParticipantInfo{
		Sid: "PA_a", Identity: "assistant", Name: "A", Metadata: "m", Attributes: map[string]string{"lk.agent.state": "listening"},
		State: rooms.StateDisconnected, Version: 3, JoinedAt: joined, Kind: "agent",
		Permission: rooms.Permission{CanPublish: true, CanSubscribe: true, CanPublishSources: []string{"microphone", "bogus"}},
		Tracks:     []rooms.TrackInfo{{Sid: "TR_1", Kind: rooms.KindAudio, Name: "mic", Source: "microphone", Muted: true}},
	}, rooms.ReasonRemoved)
	if p.GetKind() != livekit.ParticipantInfo_AGENT {
		t.Errorf("kind %v", p.GetKind())
	}
	if p.GetState() != livekit.ParticipantInfo_DISCONNECTED || p.GetDisconnectReason() != livekit.DisconnectReason_PARTICIPANT_REMOVED {
		t.Errorf("state %v reason %v", p.GetState(), p.GetDisconnectReason())
	}
	if p.GetJoinedAt() != 1700000000 || p.GetJoinedAtMs() != 1700000000123 || !p.GetIsPublisher() || p.GetVersion() != 3 {
		t.Errorf("joined %d/%d publisher %v version %d", p.GetJoinedAt(), p.GetJoinedAtMs(), p.GetIsPublisher(), p.GetVersion())
	}
	if src := p.GetPermission().GetCanPublishSources(); len(src) != 1 || src[0] != livekit.TrackSource_MICROPHONE {
		t.Errorf("sources %v", src)
	}
	if tr := p.GetTracks(); len(tr) != 1 || tr[0].GetType() != livekit.TrackType_AUDIO || tr[0].GetSource() != livekit.TrackSource_MICROPHONE || !tr[0].GetMuted() {
		t.Errorf("tracks %v", tr)
	}
	if active := Participant(rooms.ParticipantInfo{State: rooms.StateActive}, rooms.ReasonLeft); active.GetDisconnectReason() != livekit.DisconnectReason_UNKNOWN_REASON || active.GetKind() != livekit.ParticipantInfo_STANDARD {
		t.Errorf("an active participant: reason %v kind %v", active.GetDisconnectReason(), active.GetKind())
	}
}

// The counts of a room come from its participants.
func TestRoom(t *testing.T) {
	r := Room(rooms.RoomInfo{Sid: "RM_1", Name: "r", CreatedAt: time.Unix(1700000000, 0), MaxParticipants: 4,
		EmptyTimeout: 300 * time.Second, DepartureTimeout: 20 * time.Second,
		Participants: []rooms.ParticipantInfo{{Identity: "a", Tracks: []rooms.TrackInfo{{Sid: "TR_1"}}}, {Identity: "b"}}})
	if r.GetNumParticipants() != 2 || r.GetNumPublishers() != 1 || r.GetMaxParticipants() != 4 || r.GetEmptyTimeout() != 300 ||
		r.GetDepartureTimeout() != 20 || r.GetCreationTime() != 1700000000 {
		t.Errorf("%v", r)
	}
}

func TestPermissionRoundTrip(t *testing.T) {
	in := rooms.Permission{CanPublish: true, CanPublishData: true, Hidden: true, CanPublishSources: []string{"camera", "screen_share"}}
	out := PermissionFrom(Permission(in))
	if out.CanPublish != in.CanPublish || out.CanSubscribe || !out.Hidden || len(out.CanPublishSources) != 2 || out.CanPublishSources[1] != "screen_share" {
		t.Errorf("%+v", out)
	}
}

func TestDisconnectReasons(t *testing.T) {
	for reason, want := range map[rooms.Reason]livekit.DisconnectReason{
		"left":                livekit.DisconnectReason_CLIENT_INITIATED,
		"closed":              livekit.DisconnectReason_SIGNAL_CLOSE,
		"duplicate_identity":  livekit.DisconnectReason_DUPLICATE_IDENTITY,
		"removed":             livekit.DisconnectReason_PARTICIPANT_REMOVED,
		"room_deleted":        livekit.DisconnectReason_ROOM_DELETED,
		"room_closed":         livekit.DisconnectReason_ROOM_CLOSED,
		"server_shutdown":     livekit.DisconnectReason_SERVER_SHUTDOWN,
		"slow_consumer":       livekit.DisconnectReason_SIGNAL_CLOSE,
		"timeout":             livekit.DisconnectReason_CONNECTION_TIMEOUT,
		"state_mismatch":      livekit.DisconnectReason_STATE_MISMATCH,
		"join_failure":        livekit.DisconnectReason_JOIN_FAILURE,
		"migration":           livekit.DisconnectReason_MIGRATION,
		"client_initiated":    livekit.DisconnectReason_CLIENT_INITIATED,
		"participant_removed": livekit.DisconnectReason_PARTICIPANT_REMOVED,
		"connection_timeout":  livekit.DisconnectReason_CONNECTION_TIMEOUT,
		"something else":      livekit.DisconnectReason_UNKNOWN_REASON,
		"":                    livekit.DisconnectReason_UNKNOWN_REASON,
	} {
		if got := DisconnectReason(reason); got != want {
			t.Errorf("%q → %s, want %s", reason, got, want)
		}
	}
	// What a client says when it leaves, in the registry's words.
	for r, want := range map[livekit.DisconnectReason]rooms.Reason{
		livekit.DisconnectReason_CLIENT_INITIATED:    "left",
		livekit.DisconnectReason_UNKNOWN_REASON:      "left",
		livekit.DisconnectReason_SIGNAL_CLOSE:        "closed",
		livekit.DisconnectReason_DUPLICATE_IDENTITY:  "duplicate_identity",
		livekit.DisconnectReason_PARTICIPANT_REMOVED: "removed",
		livekit.DisconnectReason_ROOM_CLOSED:         "room_closed",
		livekit.DisconnectReason_SERVER_SHUTDOWN:     "server_shutdown",
		livekit.DisconnectReason_USER_REJECTED:       "user_rejected",
	} {
		if got := ReasonFrom(r); got != want {
			t.Errorf("%s → %q, want %q", r, got, want)
		}
	}
}
