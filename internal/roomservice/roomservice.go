// Package roomservice is LiveKit's RoomService API (the server SDKs' Twirp
// API) without its transport: grant checks, limits and the real server's
// errors, acting on the room registry. Requests and answers are plain values
// and rooms types; the Twirp framing (protobuf and protojson) lives in
// internal/httpapi/twirp.go.
//
// Behaviour follows livekit-server v1.13.5 (pkg/service/roomservice.go and
// roommanager.go), with one deliberate tightening: muting a track that does
// not exist is not_found here, where the real server answers 200 with no
// track.
package roomservice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Limits of the real server's default configuration.
const (
	MaxNameLength     = 256       // room names and participant names, in bytes
	MaxMetadataSize   = 512 << 10 // room and participant metadata
	MaxAttributesSize = 64 << 10  // participant attributes, keys and values together
	NonceSize         = 16        // SendData nonce: absent or 16 bytes
)

// Bounds on lists in one request, so that no request costs more than its
// (1 MiB) body suggests.
const (
	maxParticipantCap = 1<<31 - 1 // keeps int conversions safe on 32-bit builds
	maxListNames      = 1 << 16
	maxTrackSids      = 1 << 16
	maxDestinations   = 1 << 16
)

// Code is a Twirp error code; the transport maps it to an HTTP status.
type Code string

// Error codes the service returns.
const (
	CodeInvalidArgument    Code = "invalid_argument"
	CodeUnauthenticated    Code = "unauthenticated"
	CodeNotFound           Code = "not_found"
	CodeFailedPrecondition Code = "failed_precondition"
	CodeCanceled           Code = "canceled"
	CodeDeadlineExceeded   Code = "deadline_exceeded"
	CodeUnavailable        Code = "unavailable"
	CodeInternal           Code = "internal"
)

// Error is every error of the service: a Twirp code and the real server's
// message.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Msg }

func newError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Messages of the real server.
const (
	MsgPermissionDenied    = "permissions denied"
	MsgRoomNotFound        = "requested room does not exist"
	MsgParticipantNotFound = "participant does not exist"
	MsgTrackNotFound       = "track is not found"
	MsgRemoteUnmute        = "remote unmute not enabled"
	MsgNoRoomName          = "no room name"
)

// errPermission is the real server's answer to a missing or wrong grant
// (twirpAuthError): unauthenticated, not permission_denied.
var errPermission = &Error{Code: CodeUnauthenticated, Msg: MsgPermissionDenied}

// Registry is what the service needs from the room registry
// (*rooms.Registry).
type Registry interface {
	CreateRoom(ctx context.Context, name string, s rooms.RoomSettings) (rooms.RoomInfo, bool, error)
	List() []rooms.RoomInfo
	Get(name string) (rooms.RoomInfo, bool)
	DeleteRoom(ctx context.Context, name string, reason rooms.Reason) error
	UpdateRoomMetadata(ctx context.Context, name, metadata string) (rooms.RoomInfo, error)
	GetParticipant(ctx context.Context, room, identity string) (rooms.ParticipantInfo, error)
	RemoveParticipant(ctx context.Context, room, identity string, reason rooms.Reason) error
	MuteTrack(ctx context.Context, room, identity, trackSid string, muted bool) (rooms.TrackInfo, error)
	UpdateParticipant(ctx context.Context, room, identity string, u rooms.Update, perm *rooms.Permission) (rooms.ParticipantInfo, error)
	UpdateSubscriptions(ctx context.Context, room, identity string, trackSids []string, subscribe bool) error
	SendData(ctx context.Context, room string, pkt rooms.DataPacket, destinationSids []string) error
}

// Options configure the service.
type Options struct {
	// AllowRemoteUnmute lets MutePublishedTrack unmute (LiveKit's
	// room.enable_remote_unmute, off by default).
	AllowRemoteUnmute bool
}

// Service answers RoomService calls. It is safe for concurrent use.
type Service struct {
	reg  Registry
	opts Options
}

// New returns a service acting on reg.
func New(reg Registry, o Options) *Service { return &Service{reg: reg, opts: o} }

// Grant checks, as the real server's EnsureCreatePermission,
// EnsureListPermission and EnsureAdminPermission. A nil claim (no token)
// has no grant.

func canCreate(c *auth.Claims) error {
	if c == nil || c.Video == nil || !c.Video.RoomCreate {
		return errPermission
	}
	return nil
}

func canList(c *auth.Claims) error {
	if c == nil || c.Video == nil || !c.Video.RoomList {
		return errPermission
	}
	return nil
}

func canAdmin(c *auth.Claims, room string) error {
	if c == nil || c.Video == nil || !c.Video.RoomAdmin || c.Video.Room != room {
		return errPermission
	}
	return nil
}

// roomError maps a registry error to the real server's answer.
func roomError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rooms.ErrRoomNotFound):
		return &Error{Code: CodeNotFound, Msg: MsgRoomNotFound}
	case errors.Is(err, rooms.ErrParticipantNotFound):
		return &Error{Code: CodeNotFound, Msg: MsgParticipantNotFound}
	case errors.Is(err, rooms.ErrTrackNotFound):
		return &Error{Code: CodeNotFound, Msg: MsgTrackNotFound}
	case errors.Is(err, rooms.ErrClosed):
		return &Error{Code: CodeUnavailable, Msg: "server is shutting down"}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeDeadlineExceeded, Msg: "the room did not answer in time"}
	case errors.Is(err, context.Canceled):
		return &Error{Code: CodeCanceled, Msg: "request canceled"}
	}
	return &Error{Code: CodeInternal, Msg: "internal error"}
}

func checkRoomName(name string) error {
	if name == "" {
		return &Error{Code: CodeInvalidArgument, Msg: MsgNoRoomName}
	}
	if len(name) > MaxNameLength {
		return newError(CodeInvalidArgument, "room name length exceeds limits: max length %d", MaxNameLength)
	}
	return nil
}

func checkMetadata(md string) error {
	if len(md) > MaxMetadataSize {
		return newError(CodeInvalidArgument, "metadata size exceeds limits: max %d bytes", MaxMetadataSize)
	}
	return nil
}

func checkAttributes(a map[string]string) error {
	n := 0
	for k, v := range a {
		n += len(k) + len(v)
	}
	if n > MaxAttributesSize {
		return newError(CodeInvalidArgument, "attribute size exceeds limits: max %d bytes", MaxAttributesSize)
	}
	return nil
}

// CreateRoom is the request of CreateRoom. Zero values mean "the default" for
// a new room and "unchanged" for an existing one, as in LiveKit.
type CreateRoom struct {
	Name             string
	EmptyTimeout     uint32 // seconds
	DepartureTimeout uint32 // seconds
	MaxParticipants  uint32
	Metadata         string
	// Agents are dispatched when the room is created (none: the default
	// unnamed agent); ignored for a room that exists.
	Agents []rooms.AgentDispatch
}

// MaxRoomAgents bounds the agents a room may be created with.
const MaxRoomAgents = rooms.MaxAgents

// CreateRoom creates the room, or returns the existing one with its settings
// updated (not an error). Grant: roomCreate.
func (s *Service) CreateRoom(ctx context.Context, c *auth.Claims, req CreateRoom) (rooms.RoomInfo, error) {
	if err := canCreate(c); err != nil {
		return rooms.RoomInfo{}, err
	}
	if err := checkRoomName(req.Name); err != nil {
		return rooms.RoomInfo{}, err
	}
	if err := checkMetadata(req.Metadata); err != nil {
		return rooms.RoomInfo{}, err
	}
	if len(req.Agents) > MaxRoomAgents {
		return rooms.RoomInfo{}, newError(CodeInvalidArgument, "at most %d agents per room", MaxRoomAgents)
	}
	for _, a := range req.Agents {
		if len(a.AgentName) > MaxNameLength || len(a.Metadata) > MaxMetadataSize {
			return rooms.RoomInfo{}, newError(CodeInvalidArgument, "agent name or metadata too long")
		}
	}
	max := req.MaxParticipants
	if max > maxParticipantCap {
		max = maxParticipantCap
	}
	info, _, err := s.reg.CreateRoom(ctx, req.Name, rooms.RoomSettings{
		EmptyTimeout:     time.Duration(req.EmptyTimeout) * time.Second,
		DepartureTimeout: time.Duration(req.DepartureTimeout) * time.Second,
		MaxParticipants:  int(max),
		Metadata:         req.Metadata,
		Agents:           req.Agents,
	})
	return info, roomError(err)
}

// ListRooms returns the rooms named, or every room when names is empty,
// oldest first. Unknown names are left out. Grant: roomList.
func (s *Service) ListRooms(_ context.Context, c *auth.Claims, names []string) ([]rooms.RoomInfo, error) {
	if err := canList(c); err != nil {
		return nil, err
	}
	all := s.reg.List()
	if len(names) == 0 {
		return all, nil
	}
	if len(names) > maxListNames {
		names = names[:maxListNames]
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	return slices.DeleteFunc(all, func(r rooms.RoomInfo) bool { return !want[r.Name] }), nil
}

// DeleteRoom closes the room; every participant is told room_deleted.
// Grant: roomCreate.
func (s *Service) DeleteRoom(ctx context.Context, c *auth.Claims, room string) error {
	if err := canCreate(c); err != nil {
		return err
	}
	return roomError(s.reg.DeleteRoom(ctx, room, rooms.ReasonRoomDeleted))
}

// ListParticipants returns the room's participants in join order; an
// unknown room has none (not an error, as in LiveKit). Grant: roomAdmin for
// this room.
func (s *Service) ListParticipants(_ context.Context, c *auth.Claims, room string) ([]rooms.ParticipantInfo, error) {
	if err := canAdmin(c, room); err != nil {
		return nil, err
	}
	info, ok := s.reg.Get(room)
	if !ok {
		return []rooms.ParticipantInfo{}, nil
	}
	return info.Participants, nil
}

// GetParticipant returns one participant. Grant: roomAdmin for this room.
func (s *Service) GetParticipant(ctx context.Context, c *auth.Claims, room, identity string) (rooms.ParticipantInfo, error) {
	if err := canAdmin(c, room); err != nil {
		return rooms.ParticipantInfo{}, err
	}
	p, err := s.reg.GetParticipant(ctx, room, identity)
	return p, roomError(err)
}

// RemoveParticipant ends the participant's session with reason removed.
// Grant: roomAdmin for this room.
func (s *Service) RemoveParticipant(ctx context.Context, c *auth.Claims, room, identity string) error {
	if err := canAdmin(c, room); err != nil {
		return err
	}
	return roomError(s.reg.RemoveParticipant(ctx, room, identity, rooms.ReasonRemoved))
}

// MutePublishedTrack mutes (or, when allowed, unmutes) a participant's
// track. Grant: roomAdmin for this room.
func (s *Service) MutePublishedTrack(ctx context.Context, c *auth.Claims, room, identity, trackSid string, muted bool) (rooms.TrackInfo, error) {
	if err := canAdmin(c, room); err != nil {
		return rooms.TrackInfo{}, err
	}
	if !muted && !s.opts.AllowRemoteUnmute {
		// The real server checks the participant first, then this.
		if _, err := s.reg.GetParticipant(ctx, room, identity); err != nil {
			return rooms.TrackInfo{}, roomError(err)
		}
		return rooms.TrackInfo{}, &Error{Code: CodeFailedPrecondition, Msg: MsgRemoteUnmute}
	}
	t, err := s.reg.MuteTrack(ctx, room, identity, trackSid, muted)
	return t, roomError(err)
}

// UpdateParticipant is the request of UpdateParticipant. Empty Name or
// Metadata means no change; an attribute with an empty value is deleted;
// a nil Permission leaves the permission as it is.
type UpdateParticipant struct {
	Room, Identity string
	Name           string
	Metadata       string
	Attributes     map[string]string
	Permission     *rooms.Permission
}

// UpdateParticipant changes a participant and tells everyone, the
// participant included. Grant: roomAdmin for this room.
func (s *Service) UpdateParticipant(ctx context.Context, c *auth.Claims, req UpdateParticipant) (rooms.ParticipantInfo, error) {
	// The real server checks the limits before the grant.
	if len(req.Name) > MaxNameLength {
		return rooms.ParticipantInfo{}, newError(CodeInvalidArgument, "name length exceeds limits: max length %d", MaxNameLength)
	}
	if err := checkMetadata(req.Metadata); err != nil {
		return rooms.ParticipantInfo{}, err
	}
	if err := checkAttributes(req.Attributes); err != nil {
		return rooms.ParticipantInfo{}, err
	}
	if err := canAdmin(c, req.Room); err != nil {
		return rooms.ParticipantInfo{}, err
	}
	var u rooms.Update
	if req.Name != "" {
		u.Name = &req.Name
	}
	if req.Metadata != "" {
		u.Metadata = &req.Metadata
	}
	u.Attributes = req.Attributes
	p, err := s.reg.UpdateParticipant(ctx, req.Room, req.Identity, u, req.Permission)
	return p, roomError(err)
}

// UpdateSubscriptions turns the participant's subscriptions to the listed
// tracks on or off. Grant: roomAdmin for this room.
func (s *Service) UpdateSubscriptions(ctx context.Context, c *auth.Claims, room, identity string, trackSids []string, subscribe bool) error {
	if err := canAdmin(c, room); err != nil {
		return err
	}
	if len(trackSids) > maxTrackSids {
		trackSids = trackSids[:maxTrackSids]
	}
	return roomError(s.reg.UpdateSubscriptions(ctx, room, identity, trackSids, subscribe))
}

// SendData is the request of SendData.
type SendData struct {
	Room                  string
	Data                  []byte
	Reliable              bool
	DestinationSids       []string
	DestinationIdentities []string
	Topic                 string
	Nonce                 []byte
}

// SendData delivers data from the server (empty sender) to the room or to
// the named participants. Grant: roomAdmin for this room.
func (s *Service) SendData(ctx context.Context, c *auth.Claims, req SendData) error {
	if err := canAdmin(c, req.Room); err != nil {
		return err
	}
	if n := len(req.Nonce); n != 0 && n != NonceSize {
		return newError(CodeInvalidArgument, "nonce should be 16-bytes or not present, got: %d bytes", n)
	}
	ids, sids := req.DestinationIdentities, req.DestinationSids
	if len(ids) > maxDestinations {
		ids = ids[:maxDestinations]
	}
	if len(sids) > maxDestinations {
		sids = sids[:maxDestinations]
	}
	pkt := rooms.DataPacket{Payload: req.Data, Topic: req.Topic, Destinations: ids, Reliable: req.Reliable, Nonce: req.Nonce}
	return roomError(s.reg.SendData(ctx, req.Room, pkt, sids))
}

// UpdateRoomMetadata sets the room's metadata and tells its participants.
// Grant: roomAdmin for this room.
func (s *Service) UpdateRoomMetadata(ctx context.Context, c *auth.Claims, room, metadata string) (rooms.RoomInfo, error) {
	if err := checkMetadata(metadata); err != nil {
		return rooms.RoomInfo{}, err
	}
	if err := canAdmin(c, room); err != nil {
		return rooms.RoomInfo{}, err
	}
	info, err := s.reg.UpdateRoomMetadata(ctx, room, metadata)
	return info, roomError(err)
}
