package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Scripted agents in dispatch: agents configured at start-up (AGENTS_FILE,
// AGENT_DEFAULT) join rooms as a dispatched agent worker's agent would. The
// agent dispatcher calls DispatchAgent when a room wants an agent by a name
// no worker has registered; without a dispatcher, DefaultAgentObserver
// sends the default agent to every new room.

// ErrNoScript: the catalog has no agent of that name.
var ErrNoScript = errors.New("no scripted agent of that name")

// defaultQueue bounds the rooms waiting for the default agent.
const defaultQueue = 1024

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

// DefaultAgentObserver returns the rooms.Observer that sends the default
// scripted agent (Options.DefaultAgent) to each room that starts; nil when
// there is none. It never blocks: the joins happen on the Admin's own
// goroutine, started here, which ends at Close.
func (a *Admin) DefaultAgentObserver() rooms.Observer {
	if a.o.DefaultAgent == "" {
		return nil
	}
	type started struct{ name, sid string }
	q := make(chan started, defaultQueue)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			select {
			case <-a.ctx.Done():
				return
			case r := <-q:
				_, err := a.DispatchAgent(a.ctx, r.name, r.sid, a.o.DefaultAgent)
				if err != nil && !errors.Is(err, rooms.ErrRoomNotFound) && !errors.Is(err, context.Canceled) && !errors.Is(err, rooms.ErrClosed) {
					a.o.Logger.Warn("default scripted agent did not join", "room", r.name, "agent", a.o.DefaultAgent, "err", err)
				}
			}
		}
	}()
	return rooms.ObserverFunc(func(ev rooms.Event) {
		if ev.Kind != rooms.EventRoomStarted {
			return
		}
		select {
		case q <- started{ev.RoomName, ev.RoomSid}:
		default:
			a.o.Logger.Warn("default scripted agent: too many rooms starting at once, one left without", "room", ev.RoomName)
		}
	})
}
