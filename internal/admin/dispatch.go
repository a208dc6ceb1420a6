package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Scripted agents in dispatch: agents configured at start-up (AGENTS_FILE,
// AGENT_DEFAULT) join rooms as a dispatched agent worker's agent would. The
// agent dispatcher calls DispatchAgent when a room job finds no worker
// registered under its agent name.

// ErrNoScript: the catalog has no agent of that name.
var ErrNoScript = errors.New("no scripted agent of that name")

// DispatchAgent adds the catalog's agent agentName ("": the default one,
// Options.DefaultAgent) to the room called room
// whose sid is roomSid ("": any room of that name that exists), as
// identity "agent-AJ_…" with lk.agent.name set. It never creates a room.
// The agent leaves once the last other participant has left.
func (a *Admin) DispatchAgent(ctx context.Context, room, roomSid, agentName string) (rooms.ParticipantInfo, error) {
	if a.o.Catalog == nil {
		return rooms.ParticipantInfo{}, ErrNoScript
	}
	if agentName == "" { // LiveKit's default dispatch: the unnamed agent
		agentName = a.o.DefaultAgent
	}
	s, ok := a.o.Catalog.Lookup(agentName)
	if !ok {
		return rooms.ParticipantInfo{}, fmt.Errorf("%w: %q", ErrNoScript, agentName)
	}
	return a.addAgent(ctx, Fake{
		Room: room, Identity: newID("agent-AJ_"), Name: agentName, Agent: &s, AgentName: agentName,
		roomSid: roomSid, dispatched: true,
	})
}
