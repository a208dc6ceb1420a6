package webhook

import (
	"maps"
	"strings"

	"github.com/livekit/protocol/livekit"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// The LiveKit shapes of registry values. The Twirp adapter in httpapi uses
// them too, so that webhooks and RoomService answers show the same thing.

// RoomProto converts a room; NumParticipants and NumPublishers come from
// r.Participants.
func RoomProto(r rooms.RoomInfo) *livekit.Room {
	out := &livekit.Room{
		Sid:              r.Sid,
		Name:             r.Name,
		Metadata:         r.Metadata,
		EmptyTimeout:     seconds(r.EmptyTimeout.Seconds()),
		DepartureTimeout: seconds(r.DepartureTimeout.Seconds()),
		NumParticipants:  uint32(r.NumParticipants()),
	}
	if r.MaxParticipants > 0 {
		out.MaxParticipants = uint32(r.MaxParticipants)
	}
	if !r.CreatedAt.IsZero() {
		out.CreationTime = r.CreatedAt.Unix()
		out.CreationTimeMs = r.CreatedAt.UnixMilli()
	}
	for _, p := range r.Participants {
		if len(p.Tracks) > 0 {
			out.NumPublishers++
		}
	}
	return out
}

func seconds(s float64) uint32 {
	if s <= 0 {
		return 0
	}
	if s >= 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}

// ParticipantProto converts a participant. reason is used only for a
// DISCONNECTED participant.
func ParticipantProto(p rooms.ParticipantInfo, reason rooms.Reason) *livekit.ParticipantInfo {
	out := &livekit.ParticipantInfo{
		Sid:         p.Sid,
		Identity:    p.Identity,
		Name:        p.Name,
		Metadata:    p.Metadata,
		Attributes:  maps.Clone(p.Attributes),
		State:       livekit.ParticipantInfo_State(p.State),
		Version:     p.Version,
		Permission:  PermissionProto(p.Permission),
		IsPublisher: len(p.Tracks) > 0,
	}
	if !p.JoinedAt.IsZero() {
		out.JoinedAt = p.JoinedAt.Unix()
		out.JoinedAtMs = p.JoinedAt.UnixMilli()
	}
	if p.State == rooms.StateDisconnected {
		out.DisconnectReason = DisconnectReason(reason)
	}
	for _, t := range p.Tracks {
		out.Tracks = append(out.Tracks, TrackProto(t))
	}
	return out
}

// PermissionProto converts a permission.
func PermissionProto(p rooms.Permission) *livekit.ParticipantPermission {
	out := &livekit.ParticipantPermission{
		CanSubscribe:      p.CanSubscribe,
		CanPublish:        p.CanPublish,
		CanPublishData:    p.CanPublishData,
		CanUpdateMetadata: p.CanUpdateMetadata,
		Hidden:            p.Hidden,
	}
	for _, s := range p.CanPublishSources {
		if v, ok := livekit.TrackSource_value[strings.ToUpper(s)]; ok && v != 0 {
			out.CanPublishSources = append(out.CanPublishSources, livekit.TrackSource(v))
		}
	}
	return out
}

// PermissionFrom converts a LiveKit permission to the registry's.
func PermissionFrom(p *livekit.ParticipantPermission) rooms.Permission {
	out := rooms.Permission{
		CanSubscribe:      p.GetCanSubscribe(),
		CanPublish:        p.GetCanPublish(),
		CanPublishData:    p.GetCanPublishData(),
		CanUpdateMetadata: p.GetCanUpdateMetadata(),
		Hidden:            p.GetHidden(),
	}
	for _, s := range p.GetCanPublishSources() {
		if s != livekit.TrackSource_UNKNOWN {
			out.CanPublishSources = append(out.CanPublishSources, strings.ToLower(s.String()))
		}
	}
	return out
}

// TrackProto converts a track.
func TrackProto(t rooms.TrackInfo) *livekit.TrackInfo {
	out := &livekit.TrackInfo{
		Sid:      t.Sid,
		Name:     t.Name,
		Muted:    t.Muted,
		Width:    t.Width,
		Height:   t.Height,
		MimeType: t.MimeType,
	}
	switch t.Kind {
	case rooms.KindAudio:
		out.Type = livekit.TrackType_AUDIO
	case rooms.KindVideo:
		out.Type = livekit.TrackType_VIDEO
	case rooms.KindData:
		out.Type = livekit.TrackType_DATA
	}
	if v, ok := livekit.TrackSource_value[strings.ToUpper(t.Source)]; ok {
		out.Source = livekit.TrackSource(v)
	}
	return out
}

// DisconnectReason maps a registry reason to LiveKit's, as the LiveKit
// dialect reports it (internal/signal/pbwire/reasons.go); a lower-case
// LiveKit reason name maps to itself, anything else to UNKNOWN_REASON.
func DisconnectReason(r rooms.Reason) livekit.DisconnectReason {
	switch r {
	case rooms.ReasonLeft:
		return livekit.DisconnectReason_CLIENT_INITIATED
	case rooms.ReasonClosed, rooms.ReasonSlowConsumer:
		return livekit.DisconnectReason_SIGNAL_CLOSE
	case rooms.ReasonDuplicateIdentity:
		return livekit.DisconnectReason_DUPLICATE_IDENTITY
	case rooms.ReasonRemoved:
		return livekit.DisconnectReason_PARTICIPANT_REMOVED
	case rooms.ReasonRoomDeleted:
		return livekit.DisconnectReason_ROOM_DELETED
	case rooms.ReasonServerShutdown:
		return livekit.DisconnectReason_SERVER_SHUTDOWN
	case rooms.ReasonTimeout:
		return livekit.DisconnectReason_CONNECTION_TIMEOUT
	}
	if v, ok := livekit.DisconnectReason_value[strings.ToUpper(string(r))]; ok {
		return livekit.DisconnectReason(v)
	}
	return livekit.DisconnectReason_UNKNOWN_REASON
}
