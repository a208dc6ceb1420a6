package rooms

import (
	"context"
	"errors"
	"time"
)

// Resumable participants (SPEC §8, §10 "Reconnects"). A session whose
// signalling drops without a leave may Detach its member: the participant
// stays in the room, marked DISCONNECTED, for a window; the others are not
// told. Registry.Resume re-attaches it to a new session's sink within the
// window; after it, the participant leaves with ReasonTimeout.

// Observer-only and resumer-only event kinds, numbered apart from model.go
// and admin.go.
const (
	// EventParticipantDetached tells observers that a participant lost its
	// session and waits to be resumed.
	EventParticipantDetached EventKind = iota + 200
	// EventParticipantResumed goes first to the resuming session's sink,
	// with Room the snapshot of the others (as EventJoined) and Participant
	// the resumed participant, its tracks included; observers see it too.
	EventParticipantResumed
)

// ErrNotResumable is returned by Resume when no participant with that sid
// waits to be resumed (never detached, window over, or replaced).
var ErrNotResumable = errors.New("no resumable participant with this sid")

// discardSink stands in for a detached member's session: events are
// dropped, except data events when data is set (DetachKeepingData).
type discardSink struct{ data Sink }

func (d discardSink) Send(ev Event) bool {
	if d.data != nil && ev.Kind == EventDataReceived {
		return d.data.Send(ev)
	}
	return true
}

func (d discardSink) Close(r Reason) {
	if d.data != nil {
		d.data.Close(r)
	}
}

// detachedState is what a member keeps while detached.
type detachedState struct {
	prev  State // state before the drop, restored on resume
	timer *time.Timer
}

// detachedSet returns the room's detached members, created on first use.
func (st *roomState) detachedSet() map[*member]*detachedState {
	if st.detached == nil {
		st.detached = map[*member]*detachedState{}
	}
	return st.detached
}

// forgetDetached stops m's window when it leaves by any other way.
func (st *roomState) forgetDetached(m *member) {
	if d := st.detached[m]; d != nil {
		d.timer.Stop()
		delete(st.detached, m)
	}
}

// Detach keeps the participant in the room for window, marked DISCONNECTED,
// its events dropped, until Registry.Resume re-attaches it; after the window
// it leaves with ReasonTimeout. The session's sink is let go without Close.
func (h *Member) Detach(ctx context.Context, window time.Duration) error {
	return h.detach(ctx, window, nil)
}

// DetachKeepingData is Detach for a participant whose data has a way to
// it besides its session (a LiveKit client's data channel outlives its
// signalling): data events go on to data while it is detached, and a false
// from data.Send removes it as a slow consumer (data.Close is told).
func (h *Member) DetachKeepingData(ctx context.Context, window time.Duration, data Sink) error {
	return h.detach(ctx, window, data)
}

func (h *Member) detach(ctx context.Context, window time.Duration, data Sink) error {
	sid := h.sid
	rm := h.rm
	return h.with(ctx, func(st *roomState, m *member) error {
		set := st.detachedSet()
		if set[m] != nil {
			return nil
		}
		d := &detachedState{prev: m.info.State}
		m.sink = discardSink{data: data}
		m.info.State = StateDisconnected
		set[m] = d
		d.timer = time.AfterFunc(window, func() {
			// The room may be gone by now; do then returns at once.
			_ = rm.do(context.Background(), func(st *roomState) {
				if st.detached[m] != d || st.bySid[sid] != m {
					return
				}
				st.remove(m, ReasonTimeout, false)
			})
		})
		ev := st.event(EventParticipantDetached)
		ev.Participant = m.info.clone()
		st.observe(ev)
		return nil
	})
}

// Resume re-attaches the detached participant sid to the sink newSink makes
// from the participant's info and the JoinRequest.Secret it joined with
// (newSink returning nil refuses, with ErrPermissionDenied: e.g. the new
// session's token names someone else, or it lacks the secret).
// The new sink gets EventParticipantResumed first. The participant keeps its
// sid, tracks and subscriptions; the others see nothing.
func (r *Registry) Resume(ctx context.Context, sid string, newSink func(p ParticipantInfo, secret any) Sink) (*Member, error) {
	r.mu.Lock()
	all := make([]*room, 0, len(r.rooms))
	for _, rm := range r.rooms {
		all = append(all, rm)
	}
	r.mu.Unlock()
	for _, rm := range all {
		var (
			out  *Member
			rerr error
			hit  bool
		)
		err := rm.do(ctx, func(st *roomState) {
			m := st.bySid[sid]
			d := st.detached[m]
			if m == nil || d == nil {
				return
			}
			hit = true
			sink := newSink(m.info.clone(), m.secret)
			if sink == nil {
				rerr = ErrPermissionDenied
				return
			}
			ev := st.event(EventParticipantResumed)
			ri := st.roomInfo(true, m.info.Sid)
			ev.Room = &ri
			m.info.State = d.prev
			ev.Participant = m.info.clone()
			if !sink.Send(ev) {
				rerr = ErrSlowConsumer
				return
			}
			d.timer.Stop()
			delete(st.detached, m)
			m.sink = sink
			st.forgetHeldFor(m) // its snapshot has the held participants already
			obs := ev
			obs.Room = nil
			st.observe(obs)
			out = &Member{rm: st.rm, sid: m.info.Sid, identity: m.info.Identity, roomSid: st.sid}
		})
		if err != nil && !errors.Is(err, errGone) {
			return nil, err
		}
		if hit {
			return out, rerr
		}
	}
	return nil, ErrNotResumable
}
