package rooms

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Server-side operations of the RoomService API (LiveKit's RoomService):
// they act on any participant, with no participant grant checked.

// ReasonAdmin marks an EventTrackMuted or EventParticipantUpdated caused by
// the server API rather than by the participant, so that a dialect can tell
// the participant itself (LiveKit sends the publisher a `mute` request).
const ReasonAdmin Reason = "admin"

// Event kinds of UpdateSubscriptions, delivered to the subscriber only:
// Participant is the track's owner, Track the track. They are numbered apart
// from model.go's list so that both can grow independently.
const (
	EventTrackSubscribed EventKind = iota + 100
	EventTrackUnsubscribed
)

// RoomSettings are what CreateRoom may set. As in LiveKit, a zero value
// leaves the setting as it is (a new room takes the registry's defaults).
type RoomSettings struct {
	EmptyTimeout     time.Duration
	DepartureTimeout time.Duration
	MaxParticipants  int
	Metadata         string
	// Agents apply only to a room CreateRoom creates (RoomInfo.Agents).
	Agents []AgentDispatch
}

// applySettings sets the non-zero settings; it reports whether the metadata changed.
func (st *roomState) applySettings(s RoomSettings) (metadataChanged bool) {
	if s.EmptyTimeout > 0 && s.EmptyTimeout != st.emptyTimeout {
		st.emptyTimeout = s.EmptyTimeout
		st.rearm = true
	}
	if s.DepartureTimeout > 0 && s.DepartureTimeout != st.departureTimeout {
		st.departureTimeout = s.DepartureTimeout
		st.rearm = true
	}
	if s.MaxParticipants > 0 {
		st.maxPart = s.MaxParticipants
	}
	if s.Metadata != "" && s.Metadata != st.metadata {
		st.metadata = s.Metadata
		return true
	}
	return false
}

// create returns the room called name; a room it creates runs init before
// announcing EventRoomStarted.
func (r *Registry) create(name string, init func(*roomState)) (rm *room, created bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, false, ErrClosed
	}
	if rm := r.rooms[name]; rm != nil {
		return rm, false, nil
	}
	rm = newRoom(r, name)
	rm.init = init
	r.rooms[name] = rm
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		rm.run()
	}()
	return rm, true, nil
}

// CreateRoom creates the room called name with settings, or applies the
// settings to the existing room (a metadata change is announced as
// EventRoomUpdated). created tells which.
func (r *Registry) CreateRoom(ctx context.Context, name string, s RoomSettings) (info RoomInfo, created bool, err error) {
	init := func(st *roomState) { st.applySettings(s); st.rearm = false; st.agents = cloneAgents(s.Agents) }
	for range maxAttempts {
		rm, fresh, err := r.create(name, init)
		if err != nil {
			return RoomInfo{}, false, err
		}
		err = rm.do(ctx, func(st *roomState) {
			if !fresh && st.applySettings(s) {
				st.announceRoom()
			}
			info = st.roomInfo(false, "")
		})
		if !errors.Is(err, errGone) {
			return info, fresh, err
		}
	}
	return RoomInfo{}, false, ErrRoomNotFound
}

// announceRoom tells every member and the observer about the room's new
// metadata.
func (st *roomState) announceRoom() {
	ev := st.event(EventRoomUpdated)
	ri := st.roomInfo(false, "")
	ri.Participants = nil
	ev.Room = &ri
	st.broadcast(ev, "")
}

// withMember runs fn on the room goroutine with the member called identity.
func (r *Registry) withMember(ctx context.Context, room, identity string, fn func(*roomState, *member) error) error {
	var ferr error
	err := r.withRoom(ctx, room, false, func(st *roomState) {
		m := st.byIdentity[identity]
		if m == nil {
			ferr = ErrParticipantNotFound
			return
		}
		ferr = fn(st, m)
	})
	if err != nil {
		return err
	}
	return ferr
}

// GetParticipant returns a copy of the participant identity of room.
func (r *Registry) GetParticipant(ctx context.Context, room, identity string) (ParticipantInfo, error) {
	var p ParticipantInfo
	err := r.withMember(ctx, room, identity, func(_ *roomState, m *member) error {
		p = m.info.clone()
		return nil
	})
	return p, err
}

// MuteTrack sets the muted flag of one of identity's tracks on the server's
// behalf; the event carries ReasonAdmin.
func (r *Registry) MuteTrack(ctx context.Context, room, identity, trackSid string, muted bool) (TrackInfo, error) {
	var t TrackInfo
	err := r.withMember(ctx, room, identity, func(st *roomState, m *member) error {
		i := slices.IndexFunc(m.info.Tracks, func(x TrackInfo) bool { return x.Sid == trackSid })
		if i < 0 {
			return ErrTrackNotFound
		}
		m.info.Tracks[i].Muted = muted
		t = m.info.Tracks[i]
		st.changedBy(m, EventTrackMuted, t, ReasonAdmin)
		return nil
	})
	return t, err
}

// UpdateParticipant changes identity's name, metadata or attributes (as
// Member.Update, without the canUpdateMetadata check) and, when perm is not
// nil, replaces its permission. The update carries ReasonAdmin.
func (r *Registry) UpdateParticipant(ctx context.Context, room, identity string, u Update, perm *Permission) (ParticipantInfo, error) {
	var p ParticipantInfo
	err := r.withMember(ctx, room, identity, func(st *roomState, m *member) error {
		applyUpdate(&m.info, u)
		if perm != nil {
			m.info.Permission = *perm
			m.info.Permission.CanPublishSources = slices.Clone(perm.CanPublishSources)
			// As LiveKit: tracks the new permission does not allow are
			// unpublished, each announced before the participant's update.
			for _, t := range slices.Clone(m.info.Tracks) {
				if m.info.Permission.canPublishSource(t.Source) {
					continue
				}
				m.info.Tracks = slices.DeleteFunc(m.info.Tracks, func(x TrackInfo) bool { return x.Sid == t.Sid })
				st.changedBy(m, EventTrackUnpublished, t, ReasonAdmin)
			}
		}
		st.changedBy(m, EventParticipantUpdated, TrackInfo{}, ReasonAdmin)
		p = m.info.clone()
		return nil
	})
	return p, err
}

// changedBy is changed with a reason on the event.
func (st *roomState) changedBy(m *member, k EventKind, t TrackInfo, reason Reason) {
	m.info.Version++
	ev := st.event(k)
	ev.Participant = m.info.clone()
	ev.Track = t
	ev.Reason = reason
	st.broadcast(ev, "")
}

// UpdateSubscriptions turns identity's subscription to each listed track on
// or off, and tells that participant (EventTrackSubscribed or
// EventTrackUnsubscribed). Sids of tracks not in the room are ignored, as in
// LiveKit.
func (r *Registry) UpdateSubscriptions(ctx context.Context, room, identity string, trackSids []string, subscribe bool) error {
	return r.withMember(ctx, room, identity, func(st *roomState, m *member) error {
		kind := EventTrackUnsubscribed
		if subscribe {
			kind = EventTrackSubscribed
		}
		for _, sid := range trackSids {
			owner, t, ok := st.track(sid)
			if !ok || owner == m {
				continue
			}
			if subscribe {
				delete(m.unsubscribed, sid)
			} else {
				m.unsubscribed[sid] = true
			}
			ev := st.event(kind)
			ev.Participant = owner.info.clone()
			ev.Track = t
			st.observe(ev)
			st.deliver(m, ev)
		}
		return nil
	})
}

// track finds a published track and its owner.
func (st *roomState) track(sid string) (*member, TrackInfo, bool) {
	for _, o := range st.members {
		for _, t := range o.info.Tracks {
			if t.Sid == sid {
				return o, t, true
			}
		}
	}
	return nil, TrackInfo{}, false
}

// SendData delivers a packet from the server (empty sender) to everyone in
// room, or only to the participants named by pkt.Destinations (identities)
// and destinationSids; unknown names are ignored.
func (r *Registry) SendData(ctx context.Context, room string, pkt DataPacket, destinationSids []string) error {
	return r.withRoom(ctx, room, false, func(st *roomState) {
		pkt.FromIdentity, pkt.FromSid = "", ""
		pkt.Destinations = slices.Clone(pkt.Destinations)
		for _, sid := range destinationSids {
			if m := st.bySid[sid]; m != nil && !slices.Contains(pkt.Destinations, m.info.Identity) {
				pkt.Destinations = append(pkt.Destinations, m.info.Identity)
			}
		}
		if len(pkt.Destinations) == 0 && len(destinationSids) > 0 {
			return // every destination is unknown: deliver to nobody
		}
		if st.duplicate(pkt.Nonce) {
			return
		}
		ev := st.event(EventDataReceived)
		ev.Data = &pkt
		st.observe(ev)
		for _, o := range st.members {
			if len(pkt.Destinations) > 0 && !slices.Contains(pkt.Destinations, o.info.Identity) {
				continue
			}
			st.deliver(o, ev)
		}
	})
}
