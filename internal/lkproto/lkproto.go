// Package lkproto is the one conversion of room state (internal/rooms) to
// LiveKit's protobuf messages. Signalling (pbwire), the Twirp server APIs and
// webhooks all show a room, a participant, a track and a disconnect reason
// through these functions, so the three can never drift apart.
package lkproto

import (
	"maps"
	"strings"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Room converts a room; NumParticipants and NumPublishers are counted from
// r.Participants.
func Room(r rooms.RoomInfo) *livekit.Room {
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

// seconds clamps a duration in seconds to a uint32 field.
func seconds(s float64) uint32 {
	if s <= 0 {
		return 0
	}
	if s >= 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}

// Participant converts a participant. reason is reported only for a
// DISCONNECTED participant.
func Participant(p rooms.ParticipantInfo, reason rooms.Reason) *livekit.ParticipantInfo {
	out := &livekit.ParticipantInfo{
		Sid:         p.Sid,
		Identity:    p.Identity,
		Name:        p.Name,
		Metadata:    p.Metadata,
		Attributes:  maps.Clone(p.Attributes),
		State:       state(p.State),
		Version:     p.Version,
		Permission:  Permission(p.Permission),
		IsPublisher: len(p.Tracks) > 0,
	}
	if v, ok := livekit.ParticipantInfo_Kind_value[strings.ToUpper(p.Kind)]; ok {
		out.Kind = livekit.ParticipantInfo_Kind(v)
	}
	if !p.JoinedAt.IsZero() {
		out.JoinedAt = p.JoinedAt.Unix()
		out.JoinedAtMs = p.JoinedAt.UnixMilli()
	}
	if p.State == rooms.StateDisconnected {
		out.DisconnectReason = DisconnectReason(reason)
	}
	for _, t := range p.Tracks {
		out.Tracks = append(out.Tracks, Track(t))
	}
	return out
}

// Participants converts a list of participants with the same reason.
func Participants(ps []rooms.ParticipantInfo, reason rooms.Reason) []*livekit.ParticipantInfo {
	out := make([]*livekit.ParticipantInfo, 0, len(ps))
	for _, p := range ps {
		out = append(out, Participant(p, reason))
	}
	return out
}

func state(s rooms.State) livekit.ParticipantInfo_State {
	switch s {
	case rooms.StateJoined:
		return livekit.ParticipantInfo_JOINED
	case rooms.StateActive:
		return livekit.ParticipantInfo_ACTIVE
	case rooms.StateDisconnected:
		return livekit.ParticipantInfo_DISCONNECTED
	default:
		return livekit.ParticipantInfo_JOINING
	}
}

// Permission converts a permission.
func Permission(p rooms.Permission) *livekit.ParticipantPermission {
	out := &livekit.ParticipantPermission{
		CanSubscribe:      p.CanSubscribe,
		CanPublish:        p.CanPublish,
		CanPublishData:    p.CanPublishData,
		CanUpdateMetadata: p.CanUpdateMetadata,
		Hidden:            p.Hidden,
	}
	for _, s := range p.CanPublishSources {
		if src := Source(s); src != livekit.TrackSource_UNKNOWN {
			out.CanPublishSources = append(out.CanPublishSources, src)
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
		if name := SourceName(s); name != "" {
			out.CanPublishSources = append(out.CanPublishSources, name)
		}
	}
	return out
}

// Track converts a track.
func Track(t rooms.TrackInfo) *livekit.TrackInfo {
	return &livekit.TrackInfo{
		Sid:      t.Sid,
		Type:     Type(t.Kind),
		Name:     t.Name,
		Muted:    t.Muted,
		Width:    t.Width,
		Height:   t.Height,
		Source:   Source(t.Source),
		MimeType: t.MimeType,
	}
}

// Type is the track type of a registry kind ("audio", "video", "data");
// anything else is AUDIO, as LiveKit's zero value.
func Type(kind string) livekit.TrackType {
	switch strings.ToLower(kind) {
	case rooms.KindVideo:
		return livekit.TrackType_VIDEO
	case rooms.KindData:
		return livekit.TrackType_DATA
	}
	return livekit.TrackType_AUDIO
}

// KindName is the registry kind of a track type ("audio", "video", "data").
func KindName(t livekit.TrackType) string { return strings.ToLower(t.String()) }

// Source is the track source of a lower-case source name ("camera",
// "microphone", "screen_share", "screen_share_audio"); UNKNOWN otherwise.
func Source(name string) livekit.TrackSource {
	if v, ok := livekit.TrackSource_value[strings.ToUpper(name)]; ok {
		return livekit.TrackSource(v)
	}
	return livekit.TrackSource_UNKNOWN
}

// SourceName is the lower-case name of a track source; "" for UNKNOWN.
func SourceName(s livekit.TrackSource) string {
	if s == livekit.TrackSource_UNKNOWN {
		return ""
	}
	return strings.ToLower(s.String())
}

// registryReason is the LiveKit reason each of the registry's reasons is
// reported as.
func registryReason(r rooms.Reason) (livekit.DisconnectReason, bool) {
	switch r {
	case rooms.ReasonLeft:
		return livekit.DisconnectReason_CLIENT_INITIATED, true
	case rooms.ReasonClosed:
		return livekit.DisconnectReason_SIGNAL_CLOSE, true
	case rooms.ReasonDuplicateIdentity:
		return livekit.DisconnectReason_DUPLICATE_IDENTITY, true
	case rooms.ReasonRemoved:
		return livekit.DisconnectReason_PARTICIPANT_REMOVED, true
	case rooms.ReasonRoomDeleted:
		return livekit.DisconnectReason_ROOM_DELETED, true
	case ReasonRoomClosed:
		return livekit.DisconnectReason_ROOM_CLOSED, true
	case rooms.ReasonServerShutdown:
		return livekit.DisconnectReason_SERVER_SHUTDOWN, true
	case rooms.ReasonSlowConsumer:
		// LiveKit has no "slow consumer": from the client's side the server
		// dropped its signalling, which is what SIGNAL_CLOSE says.
		return livekit.DisconnectReason_SIGNAL_CLOSE, true
	case rooms.ReasonTimeout:
		return livekit.DisconnectReason_CONNECTION_TIMEOUT, true
	}
	return livekit.DisconnectReason_UNKNOWN_REASON, false
}

// ReasonRoomClosed is the reason of participants of a room that closed.
const ReasonRoomClosed rooms.Reason = "room_closed"

// DisconnectReason maps a registry reason, or a lower-case LiveKit reason
// name ("state_mismatch", "join_failure", "migration", ...), to LiveKit's;
// anything else is UNKNOWN_REASON.
func DisconnectReason(r rooms.Reason) livekit.DisconnectReason {
	if v, ok := registryReason(r); ok {
		return v
	}
	if v, ok := livekit.DisconnectReason_value[strings.ToUpper(string(r))]; ok {
		return livekit.DisconnectReason(v)
	}
	return livekit.DisconnectReason_UNKNOWN_REASON
}

// ReasonFrom maps a reason a client or an API sent to the registry's words:
// the inverse of DisconnectReason, with an unknown or client-initiated
// reason meaning "left".
func ReasonFrom(r livekit.DisconnectReason) rooms.Reason {
	switch r {
	case livekit.DisconnectReason_CLIENT_INITIATED, livekit.DisconnectReason_UNKNOWN_REASON:
		return rooms.ReasonLeft
	case livekit.DisconnectReason_SIGNAL_CLOSE:
		return rooms.ReasonClosed
	case livekit.DisconnectReason_CONNECTION_TIMEOUT:
		return rooms.ReasonTimeout
	case livekit.DisconnectReason_DUPLICATE_IDENTITY:
		return rooms.ReasonDuplicateIdentity
	case livekit.DisconnectReason_PARTICIPANT_REMOVED:
		return rooms.ReasonRemoved
	case livekit.DisconnectReason_ROOM_DELETED:
		return rooms.ReasonRoomDeleted
	case livekit.DisconnectReason_ROOM_CLOSED:
		return ReasonRoomClosed
	case livekit.DisconnectReason_SERVER_SHUTDOWN:
		return rooms.ReasonServerShutdown
	}
	return rooms.Reason(strings.ToLower(r.String()))
}

// RoomAgents converts the agents of a room's configuration (CreateRoom's
// agents, a token's roomConfig.agents).
func RoomAgents(list []*livekit.RoomAgentDispatch) []rooms.AgentDispatch {
	var out []rooms.AgentDispatch
	for _, a := range list {
		out = append(out, rooms.AgentDispatch{AgentName: a.GetAgentName(), Metadata: a.GetMetadata()})
	}
	return out
}

// RoomConfigAgents reads the agents of a token's roomConfig (LiveKit's
// RoomConfiguration as JSON), keeping at most max; cut says how many more it
// listed.
func RoomConfigAgents(raw []byte, max int) (list []rooms.AgentDispatch, cut int, err error) {
	var rc livekit.RoomConfiguration
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &rc); err != nil {
		return nil, 0, err
	}
	agents := rc.GetAgents()
	if len(agents) > max {
		cut, agents = len(agents)-max, agents[:max]
	}
	return RoomAgents(agents), cut, nil
}
