package roomservice

import (
	"context"
	"errors"

	"github.com/livekit-mock/livekit-mock/internal/agents"
	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// LiveKit's AgentDispatchService without its transport: the same
// authorisation as RoomService's room calls (roomAdmin for that room), and
// CreateDispatch creating the room when it does not exist (which then also
// gets its default dispatch, as on LiveKit).

// Dispatcher is what the service needs from the agents (*agents.Dispatcher).
type Dispatcher interface {
	CreateDispatch(room, agentName, metadata string) (agents.Dispatch, error)
	ListDispatch(room, id string) []agents.Dispatch
	DeleteDispatch(room, id string) (agents.Dispatch, error)
}

// MsgDispatchNotFound is the real server's answer to an unknown dispatch.
const MsgDispatchNotFound = "dispatch ID not found"

// DispatchService answers AgentDispatchService calls.
type DispatchService struct {
	reg Registry
	d   Dispatcher
}

// NewDispatchService returns the service.
func NewDispatchService(reg Registry, d Dispatcher) *DispatchService {
	return &DispatchService{reg: reg, d: d}
}

func checkDispatchRoom(c *auth.Claims, room string) error {
	if err := canAdmin(c, room); err != nil {
		return err
	}
	switch {
	case room == "":
		return &Error{Code: CodeInvalidArgument, Msg: MsgNoRoomName}
	case len(room) > MaxNameLength:
		return newError(CodeInvalidArgument, "room name is longer than %d bytes", MaxNameLength)
	}
	return nil
}

// CreateDispatch asks for agentName in room, creating the room if needed.
func (s *DispatchService) CreateDispatch(ctx context.Context, c *auth.Claims, room, agentName, metadata string) (agents.Dispatch, error) {
	if err := checkDispatchRoom(c, room); err != nil {
		return agents.Dispatch{}, err
	}
	switch {
	case len(agentName) > MaxNameLength:
		return agents.Dispatch{}, newError(CodeInvalidArgument, "agent name is longer than %d bytes", MaxNameLength)
	case len(metadata) > MaxMetadataSize:
		return agents.Dispatch{}, newError(CodeInvalidArgument, "metadata is larger than %d bytes", MaxMetadataSize)
	}
	if _, _, err := s.reg.CreateRoom(ctx, room, rooms.RoomSettings{}); err != nil {
		return agents.Dispatch{}, roomError(err)
	}
	dp, err := s.d.CreateDispatch(room, agentName, metadata)
	if err != nil {
		// The room closed in between, or it is homed on another instance.
		return agents.Dispatch{}, &Error{Code: CodeNotFound, Msg: MsgRoomNotFound}
	}
	return dp, nil
}

// ListDispatch lists room's dispatches, or the one called id.
func (s *DispatchService) ListDispatch(_ context.Context, c *auth.Claims, room, id string) ([]agents.Dispatch, error) {
	if err := checkDispatchRoom(c, room); err != nil {
		return nil, err
	}
	return s.d.ListDispatch(room, id), nil
}

// DeleteDispatch removes a dispatch and ends its jobs.
func (s *DispatchService) DeleteDispatch(_ context.Context, c *auth.Claims, room, id string) (agents.Dispatch, error) {
	if err := checkDispatchRoom(c, room); err != nil {
		return agents.Dispatch{}, err
	}
	dp, err := s.d.DeleteDispatch(room, id)
	if errors.Is(err, agents.ErrDispatchNotFound) {
		return agents.Dispatch{}, &Error{Code: CodeNotFound, Msg: MsgDispatchNotFound}
	}
	return dp, err
}
