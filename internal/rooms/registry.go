package rooms

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/ids"
)

// Options configure a Registry.
type Options struct {
	EmptyTimeout     time.Duration // a room nobody joined closes after this
	DepartureTimeout time.Duration // a room closes this long after its last participant left
	MaxParticipants  int           // default per-room cap; 0: none
	IDs              *ids.Generator
	Now              func() time.Time
	Observer         Observer // optional
}

// Registry maps room names to rooms. Its mutex guards only the map: no
// room state, sends or I/O happen under it.
type Registry struct {
	opts Options
	wg   sync.WaitGroup // one per room goroutine

	participants atomic.Int64 // kept by the room goroutines

	mu     sync.Mutex // guards the fields below
	rooms  map[string]*room
	closed bool
}

// NewRegistry returns an empty registry.
func NewRegistry(o Options) *Registry {
	if o.IDs == nil {
		o.IDs = ids.New(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Registry{opts: o, rooms: make(map[string]*room)}
}

// maxAttempts bounds the retries when a room closes between lookup and use.
const maxAttempts = 8

// errGone is returned by room.do when the room goroutine has ended.
var errGone = errors.New("room closed")

// lookup returns the room called name, creating it when create is set; a
// room it creates runs init (when not nil) before EventRoomStarted.
func (r *Registry) lookup(name string, create bool, init func(*roomState)) (*room, error) {
	if create {
		rm, _, err := r.create(name, init)
		return rm, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if rm := r.rooms[name]; rm != nil {
		return rm, nil
	}
	return nil, ErrRoomNotFound
}

// forget removes rm from the map if it is still there; the room goroutine
// calls it when it decides to close.
func (r *Registry) forget(rm *room) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rooms[rm.name] == rm {
		delete(r.rooms, rm.name)
	}
}

// withRoom runs fn on the room's goroutine, retrying on a fresh room when the
// one found closed in between (only when create is set).
func (r *Registry) withRoom(ctx context.Context, name string, create bool, fn func(*roomState)) error {
	return r.withNewRoom(ctx, name, create, nil, fn)
}

// withNewRoom is withRoom where a room it creates first runs init.
func (r *Registry) withNewRoom(ctx context.Context, name string, create bool, init func(*roomState), fn func(*roomState)) error {
	for range maxAttempts {
		rm, err := r.lookup(name, create, init)
		if err != nil {
			return err
		}
		err = rm.do(ctx, fn)
		if !errors.Is(err, errGone) {
			return err
		}
		if !create {
			return ErrRoomNotFound
		}
	}
	return ErrRoomNotFound
}

// Reserve returns the room called name, creating it if absent. A room that
// nobody joins closes after EmptyTimeout.
func (r *Registry) Reserve(name string) (RoomInfo, error) {
	var info RoomInfo
	err := r.withRoom(context.Background(), name, true, func(st *roomState) { info = st.roomInfo(false, "") })
	return info, err
}

// Get returns a copy of the room called name.
func (r *Registry) Get(name string) (RoomInfo, bool) {
	var info RoomInfo
	err := r.withRoom(context.Background(), name, false, func(st *roomState) { info = st.roomInfo(false, "") })
	return info, err == nil
}

// List returns a copy of every room, oldest first.
func (r *Registry) List() []RoomInfo {
	r.mu.Lock()
	all := make([]*room, 0, len(r.rooms))
	for _, rm := range r.rooms {
		all = append(all, rm)
	}
	r.mu.Unlock()
	out := make([]RoomInfo, 0, len(all))
	for _, rm := range all {
		var info RoomInfo
		if rm.do(context.Background(), func(st *roomState) { info = st.roomInfo(false, "") }) == nil {
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(a, b RoomInfo) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Counts returns the number of rooms and of participants in them.
func (r *Registry) Counts() (rooms, participants int) {
	r.mu.Lock()
	n := len(r.rooms)
	r.mu.Unlock()
	return n, int(r.participants.Load())
}

// CheckJoin tells, before a session is set up, whether identity (a
// participant of kind) could join the room called name now: ErrRoomFull when
// the room is at its max_participants (a member with the same identity would
// be replaced, so it does not count; agents and egress never fill a room). A
// room that does not exist yet accepts anyone. Join checks again: this is
// for refusing early, not a reservation.
func (r *Registry) CheckJoin(name, identity, kind string) error {
	var full bool
	err := r.withRoom(context.Background(), name, false, func(st *roomState) { full = st.full(identity, kind) })
	switch {
	case errors.Is(err, ErrRoomNotFound):
		return nil
	case err != nil:
		return err
	case full:
		return ErrRoomFull
	}
	return nil
}

// Join adds a participant to the room req.Room, creating the room if needed.
// The joiner's sink receives EventJoined before any other event. A member
// with the same identity is replaced (told ReasonDuplicateIdentity).
func (r *Registry) Join(ctx context.Context, req JoinRequest, sink Sink) (*Member, error) {
	var (
		m   *Member
		jer error
	)
	var init func(*roomState)
	if req.RoomAgents != nil { // the token's roomConfig applies to a room the join creates
		init = func(st *roomState) { st.agents = cloneAgents(req.RoomAgents) }
	}
	err := r.withNewRoom(ctx, req.Room, true, init, func(st *roomState) { m, jer = st.join(req, sink) })
	if err != nil {
		return nil, err
	}
	return m, jer
}

// RemoveParticipant removes identity from room; its session is closed with
// reason (ReasonRemoved for admin and RoomService removals).
func (r *Registry) RemoveParticipant(ctx context.Context, room, identity string, reason Reason) error {
	var rerr error
	err := r.withRoom(ctx, room, false, func(st *roomState) {
		m := st.byIdentity[identity]
		if m == nil {
			rerr = ErrParticipantNotFound
			return
		}
		st.remove(m, reason, true)
	})
	if err != nil {
		return err
	}
	return rerr
}

// DeleteRoom closes the room at once; every member's session is closed with
// reason (ReasonRoomDeleted).
func (r *Registry) DeleteRoom(ctx context.Context, name string, reason Reason) error {
	return r.withRoom(ctx, name, false, func(st *roomState) { st.closeNow(reason) })
}

// UpdateRoomMetadata sets the room's metadata and tells its members.
func (r *Registry) UpdateRoomMetadata(ctx context.Context, name, metadata string) (RoomInfo, error) {
	var info RoomInfo
	err := r.withRoom(ctx, name, false, func(st *roomState) {
		st.metadata = metadata
		info = st.roomInfo(false, "")
		ev := st.event(EventRoomUpdated)
		ri := st.roomInfo(false, "")
		ri.Participants = nil
		ev.Room = &ri
		st.broadcast(ev, "")
	})
	return info, err
}

// Close ends every room (members' sessions are closed with
// ReasonServerShutdown) and waits for the room goroutines. Later calls
// return ErrClosed.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	all := make([]*room, 0, len(r.rooms))
	for _, rm := range r.rooms {
		all = append(all, rm)
	}
	clear(r.rooms)
	r.mu.Unlock()
	for _, rm := range all {
		rm.stop()
	}
	r.wg.Wait()
}
