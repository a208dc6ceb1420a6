package rooms

import (
	"context"
	"errors"
	"sync"
)

// Server-side (fake) participants of the test-control API (SPEC §10). A fake
// is an ordinary member whose sink belongs to the server: both dialects
// render it like any other participant, with DialectFake.

// FakeRequest describes a fake participant and the tracks it publishes.
type FakeRequest struct {
	Room       string
	Identity   string
	Name       string
	Metadata   string
	Attributes map[string]string
	Kind       string // the participant kind ("agent", ...); "" standard
	// RoomSid, when set, joins only that room: not a room created since
	// under the same name, and never a new one (ErrRoomNotFound).
	RoomSid string
	// Existing joins only a room that exists (ErrRoomNotFound otherwise).
	Existing bool
	Tracks   []TrackRequest
	// OnEvent, when set, hears every event the fake receives (the join
	// snapshot, others joining and leaving, tracks, data), under the same
	// rules as OnMuted: the room's goroutine, no blocking.
	OnEvent func(Event)
	// OnMuted, when set, hears of each of the fake's tracks being muted or
	// unmuted (RoomService, /__admin), on the room's goroutine: it must
	// not block or call into the registry.
	OnMuted func(trackSid string, muted bool)
	// OnUnpublished, when set, hears of each of the fake's tracks being
	// unpublished (a permission revoked), under the same rules.
	OnUnpublished func(trackSid string)
}

// FakeSink is the sink of a fake participant: it accepts every event and
// tells, through Done, when the room has removed the participant.
type FakeSink struct {
	identity      string
	onMuted       func(trackSid string, muted bool)
	onUnpublished func(trackSid string)
	onEvent       func(Event)
	done          chan struct{}
	once          sync.Once
	mu            sync.Mutex
	reason        Reason
}

// NewFakeSink returns an open FakeSink.
func NewFakeSink() *FakeSink { return &FakeSink{done: make(chan struct{})} }

// Send accepts the event; a fake has nobody to show it to, but the mutes and
// unpublications of its own tracks go to OnMuted and OnUnpublished.
func (s *FakeSink) Send(ev Event) bool {
	if s.onEvent != nil {
		s.onEvent(ev)
	}
	if ev.Participant.Identity != s.identity {
		return true
	}
	switch {
	case ev.Kind == EventTrackMuted && s.onMuted != nil:
		s.onMuted(ev.Track.Sid, ev.Track.Muted)
	case ev.Kind == EventTrackUnpublished && s.onUnpublished != nil:
		s.onUnpublished(ev.Track.Sid)
	}
	return true
}

// Close records why the room removed the participant and closes Done.
func (s *FakeSink) Close(reason Reason) {
	s.once.Do(func() {
		s.mu.Lock()
		s.reason = reason
		s.mu.Unlock()
		close(s.done)
	})
}

// Done is closed once the participant is no longer in its room (removed,
// replaced, room deleted or closed).
func (s *FakeSink) Done() <-chan struct{} { return s.done }

// Reason says why Done was closed.
func (s *FakeSink) Reason() Reason {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// JoinFake adds a fake participant (every permission, ACTIVE, DialectFake)
// and publishes its tracks; others see it join, then each track published.
// A member with the same identity is replaced, as with any join.
func (r *Registry) JoinFake(ctx context.Context, req FakeRequest) (*Member, *FakeSink, ParticipantInfo, error) {
	sink := NewFakeSink()
	sink.identity, sink.onMuted, sink.onUnpublished, sink.onEvent = req.Identity, req.OnMuted, req.OnUnpublished, req.OnEvent
	jr := JoinRequest{
		Room:       req.Room,
		Identity:   req.Identity,
		Name:       req.Name,
		Metadata:   req.Metadata,
		Attributes: req.Attributes,
		Permission: AllPermissions(),
		Dialect:    DialectFake,
		Kind:       req.Kind,
		State:      StateActive,
	}
	var (
		m   *Member
		jer error
	)
	err := r.withRoom(ctx, req.Room, req.RoomSid == "" && !req.Existing, func(st *roomState) {
		if req.RoomSid != "" && st.sid != req.RoomSid {
			jer = ErrRoomNotFound
			return
		}
		m, jer = st.join(jr, sink)
	})
	if err = errors.Join(err, jer); err != nil {
		return nil, nil, ParticipantInfo{}, err
	}
	for _, t := range req.Tracks {
		if _, err := m.PublishTrack(ctx, t); err != nil {
			_ = m.Leave(context.Background(), ReasonRemoved)
			return nil, nil, ParticipantInfo{}, err
		}
	}
	info, err := m.Info(ctx)
	if err != nil {
		return nil, nil, ParticipantInfo{}, err
	}
	return m, sink, info, nil
}

// DeleteAllRooms closes every room at once, telling each member's session
// reason (ReasonRoomDeleted for a test-control reset). Rooms created
// meanwhile are left alone. It returns how many rooms it closed.
func (r *Registry) DeleteAllRooms(ctx context.Context, reason Reason) int {
	r.mu.Lock()
	all := make([]*room, 0, len(r.rooms))
	for _, rm := range r.rooms {
		all = append(all, rm)
	}
	r.mu.Unlock()
	n := 0
	for _, rm := range all {
		if rm.do(ctx, func(st *roomState) { st.closeNow(reason) }) == nil {
			n++
		}
	}
	return n
}
