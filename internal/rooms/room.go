package rooms

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// room is one room's goroutine and its command channel. Only run touches
// the roomState.
type room struct {
	reg  *Registry
	name string
	cmds chan func(*roomState) // unbuffered: a send returns once run has taken it
	quit chan struct{}         // closed by stop (registry shutdown)
	done chan struct{}         // closed when run returns
	once sync.Once
	init func(*roomState) // optional: settings applied before room_started (admin.go)
}

func newRoom(reg *Registry, name string) *room {
	return &room{
		reg:  reg,
		name: name,
		cmds: make(chan func(*roomState)),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
}

func (rm *room) stop() { rm.once.Do(func() { close(rm.quit) }) }

// do runs fn on the room goroutine and waits until it has run.
func (rm *room) do(ctx context.Context, fn func(*roomState)) error {
	ran := make(chan struct{})
	select {
	case rm.cmds <- func(st *roomState) { defer close(ran); fn(st) }:
		<-ran
		return nil
	case <-rm.done:
		return errGone
	case <-ctx.Done():
		return ctx.Err()
	}
}

// roomState is owned by the room goroutine.
type roomState struct {
	rm         *room
	reg        *Registry
	sid        string
	metadata   string
	createdAt  time.Time
	maxPart    int
	members    []*member // join order
	bySid      map[string]*member
	byIdentity map[string]*member
	everJoined bool
	evict      []*member // slow consumers found while delivering
	gone       bool      // closed: run returns after the current command

	// Per-room lifetimes (CreateRoom may change them); rearm restarts a
	// running empty-room timer with the new values.
	emptyTimeout     time.Duration
	departureTimeout time.Duration
	rearm            bool
	// Members waiting to be resumed (detach.go).
	detached map[*member]*detachedState
	// The timer of the earliest held announcement (see member.holding).
	holdTimer *time.Timer
	holdC     <-chan time.Time
	// The nonces of the last NonceMemory data packets (DataPacket.Nonce).
	nonces    map[[nonceSize]byte]bool
	nonceRing [][nonceSize]byte
	// The agent dispatches the room was created with (RoomInfo.Agents).
	agents []AgentDispatch
}

// NonceMemory is how many data packet nonces a room remembers, as LiveKit.
const NonceMemory = 100

const nonceSize = 16

// duplicate reports whether nonce was seen among the room's last
// NonceMemory nonces, and remembers it. Packets without a 16-byte nonce are
// never duplicates.
func (st *roomState) duplicate(nonce []byte) bool {
	if len(nonce) != nonceSize {
		return false
	}
	n := [nonceSize]byte(nonce)
	if st.nonces[n] {
		return true
	}
	if st.nonces == nil {
		st.nonces = make(map[[nonceSize]byte]bool, NonceMemory)
	}
	if len(st.nonceRing) == NonceMemory {
		delete(st.nonces, st.nonceRing[0])
		st.nonceRing = append(st.nonceRing[:0], st.nonceRing[1:]...)
	}
	st.nonces[n] = true
	st.nonceRing = append(st.nonceRing, n)
	return false
}

type member struct {
	info         ParticipantInfo
	sink         Sink
	unsubscribed map[string]bool // track sids this member turned off
	// A join not yet announced to the others (JoinRequest.Hold): until
	// holdUntil, events about this member wait in held.
	holding   bool
	holdUntil time.Time
	held      []heldEvent
	secret    any // JoinRequest.Secret
}

// heldEvent is a broadcast that waits for its participant's announcement,
// with the members it would have reached then (a member who joins later
// has the participant in its snapshot already).
type heldEvent struct {
	ev Event
	to []*member
}

func (rm *room) run() {
	defer close(rm.done)
	reg := rm.reg
	st := &roomState{
		rm:         rm,
		reg:        reg,
		sid:        reg.opts.IDs.RoomSid(),
		createdAt:  reg.opts.Now().UTC(),
		maxPart:    reg.opts.MaxParticipants,
		bySid:      make(map[string]*member),
		byIdentity: make(map[string]*member),

		emptyTimeout:     reg.opts.EmptyTimeout,
		departureTimeout: reg.opts.DepartureTimeout,
	}
	if rm.init != nil {
		rm.init(st)
	}
	st.observe(st.roomEvent(EventRoomStarted, ""))

	var (
		timer  *time.Timer
		expire <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		if st.holdTimer != nil {
			st.holdTimer.Stop()
		}
	}()
	for {
		if st.rearm && timer != nil {
			timer.Stop()
			timer, expire = nil, nil
		}
		st.rearm = false
		// An empty room waits for its timer; an occupied one does not.
		switch {
		case len(st.members) == 0 && timer == nil:
			d := st.emptyTimeout
			if st.everJoined {
				d = st.departureTimeout
			}
			timer = time.NewTimer(d)
			expire = timer.C
		case len(st.members) > 0 && timer != nil:
			timer.Stop()
			timer, expire = nil, nil
		}
		select {
		case fn := <-rm.cmds:
			if st.apply(fn) {
				return
			}
		case <-st.holdC:
			st.holdTimer, st.holdC = nil, nil
			st.releaseDue()
			st.settle()
		case <-expire:
			// A command already waiting (a join) wins over the timer.
			select {
			case fn := <-rm.cmds:
				timer, expire = nil, nil
				if st.apply(fn) {
					return
				}
				continue
			default:
			}
			st.closeNow(ReasonTimeout)
			return
		case <-rm.quit:
			st.shut(ReasonServerShutdown)
			return
		}
	}
}

// apply runs one command; true when the command closed the room.
func (st *roomState) apply(fn func(*roomState)) bool {
	fn(st)
	st.settle()
	return st.gone
}

// closeNow closes the room from inside a command or the timer: no command
// is taken after it.
func (st *roomState) closeNow(reason Reason) {
	if st.gone {
		return
	}
	st.settle()
	st.reg.forget(st.rm)
	st.shut(reason)
	st.gone = true
}

// shut closes every member's session and announces the end of the room.
func (st *roomState) shut(reason Reason) {
	for _, m := range st.members {
		m.sink.Close(reason)
		st.reg.participants.Add(-1)
		ev := st.event(EventParticipantLeft)
		ev.Participant = m.info.clone()
		ev.Reason = reason
		st.observe(ev)
	}
	st.members = nil
	clear(st.bySid)
	clear(st.byIdentity)
	st.observe(st.roomEvent(EventRoomClosed, reason))
}

func (st *roomState) event(k EventKind) Event {
	return Event{Kind: k, At: st.reg.opts.Now().UTC(), RoomName: st.rm.name, RoomSid: st.sid}
}

func (st *roomState) roomEvent(k EventKind, reason Reason) Event {
	ev := st.event(k)
	ri := st.roomInfo(false, "")
	ev.Room = &ri
	ev.Reason = reason
	return ev
}

func (st *roomState) observe(ev Event) {
	if o := st.reg.opts.Observer; o != nil {
		o.Observe(ev)
	}
}

// roomInfo copies the room; a snapshot leaves out except and hidden members
// (what a joiner may see).
func (st *roomState) roomInfo(snapshot bool, except string) RoomInfo {
	ri := RoomInfo{
		Name:             st.rm.name,
		Sid:              st.sid,
		Metadata:         st.metadata,
		CreatedAt:        st.createdAt,
		MaxParticipants:  st.maxPart,
		EmptyTimeout:     st.emptyTimeout,
		DepartureTimeout: st.departureTimeout,
		Agents:           cloneAgents(st.agents),
		Participants:     make([]ParticipantInfo, 0, len(st.members)),
	}
	for _, m := range st.members {
		if snapshot && (m.info.Sid == except || m.info.Permission.Hidden) {
			continue
		}
		ri.Participants = append(ri.Participants, m.info.clone())
	}
	return ri
}

// deliver queues ev for m; a full queue marks m as a slow consumer.
func (st *roomState) deliver(m *member, ev Event) {
	if st.bySid[m.info.Sid] != m {
		return
	}
	if !m.sink.Send(ev) && !slices.Contains(st.evict, m) {
		st.evict = append(st.evict, m)
	}
}

// broadcast observes ev and delivers it to every member but except. Events
// about a hidden participant reach only that participant. An event about a
// participant whose join is still held (JoinRequest.Hold) first releases
// the hold, so that the others hear of the join before anything else.
func (st *roomState) broadcast(ev Event, except string) {
	st.observe(ev)
	if h := st.bySid[ev.Participant.Sid]; h != nil {
		st.release(h)
	}
	st.send(ev, except)
}

// hold keeps ev, an event about m announced to everyone but except, for the
// others until m's hold ends; m itself, if not except, gets it now.
func (st *roomState) hold(m *member, ev Event, except string) {
	st.observe(ev)
	if except != m.info.Sid {
		st.deliver(m, ev)
	}
	var to []*member
	if !m.info.Permission.Hidden {
		for _, o := range st.members {
			if o != m {
				to = append(to, o)
			}
		}
	}
	m.held = append(m.held, heldEvent{ev: ev, to: to})
}

// send delivers ev as broadcast does, without observing it again.
func (st *roomState) send(ev Event, except string) {
	hidden := ev.Participant.Permission.Hidden
	for _, m := range st.members {
		if m.info.Sid == except || (hidden && m.info.Sid != ev.Participant.Sid) {
			continue
		}
		st.deliver(m, ev)
	}
}

// settle removes the slow consumers found by deliver, which may find more.
func (st *roomState) settle() {
	for len(st.evict) > 0 {
		m := st.evict[0]
		st.evict = st.evict[1:]
		if st.bySid[m.info.Sid] == m {
			st.remove(m, ReasonSlowConsumer, true)
		}
	}
}

// remove takes m out of the room and tells the others.
func (st *roomState) remove(m *member, reason Reason, closeSink bool) {
	st.release(m) // the others learn of the join before the leave
	delete(st.bySid, m.info.Sid)
	delete(st.byIdentity, m.info.Identity)
	st.forgetDetached(m)
	st.members = slices.DeleteFunc(st.members, func(x *member) bool { return x == m })
	st.reg.participants.Add(-1)
	if closeSink {
		m.sink.Close(reason)
	}
	m.info.State = StateDisconnected
	m.info.Version++
	ev := st.event(EventParticipantLeft)
	ev.Participant = m.info.clone()
	ev.Reason = reason
	st.broadcast(ev, m.info.Sid)
}

// full reports whether a join by identity (of kind) would exceed
// max_participants. As on LiveKit, dependent participants (agents, egress)
// are never refused and do not count; a member with the same identity would
// be replaced, so it does not count either.
func (st *roomState) full(identity, kind string) bool {
	if st.maxPart <= 0 || Dependent(kind) {
		return false
	}
	count := 0
	for _, m := range st.members {
		if !Dependent(m.info.Kind) && m.info.Identity != identity {
			count++
		}
	}
	return count >= st.maxPart
}

func (st *roomState) join(req JoinRequest, sink Sink) (*Member, error) {
	if st.full(req.Identity, req.Kind) {
		return nil, ErrRoomFull
	}
	old := st.byIdentity[req.Identity]
	if old != nil {
		st.remove(old, ReasonDuplicateIdentity, true)
	}
	p := ParticipantInfo{
		Sid:        st.reg.opts.IDs.ParticipantSid(),
		Identity:   req.Identity,
		Name:       req.Name,
		Metadata:   req.Metadata,
		Attributes: maps.Clone(req.Attributes),
		State:      req.State,
		Dialect:    req.Dialect,
		Kind:       req.Kind,
		JoinedAt:   st.reg.opts.Now().UTC(),
		Version:    1,
		Permission: req.Permission,
	}
	p.Permission.CanPublishSources = slices.Clone(p.Permission.CanPublishSources)
	if p.Attributes == nil {
		p.Attributes = map[string]string{}
	}
	// The snapshot goes first into the joiner's own queue: nothing can
	// overtake it.
	snap := st.event(EventJoined)
	ri := st.roomInfo(true, "")
	snap.Room = &ri
	snap.Participant = p.clone()
	if !sink.Send(snap) {
		return nil, ErrSlowConsumer
	}
	m := &member{info: p, sink: sink, unsubscribed: map[string]bool{}, secret: req.Secret}
	st.members = append(st.members, m)
	st.bySid[p.Sid] = m
	st.byIdentity[p.Identity] = m
	st.everJoined = true
	st.reg.participants.Add(1)
	if req.Hold > 0 {
		m.holding = true
		m.holdUntil = time.Now().Add(req.Hold) // the timer's clock, not Options.Now
		st.armHold()
	}
	ev := st.event(EventParticipantJoined)
	ev.Participant = p.clone()
	if m.holding {
		st.hold(m, ev, p.Sid)
	} else {
		st.broadcast(ev, p.Sid)
	}
	return &Member{rm: st.rm, sid: p.Sid, identity: p.Identity, roomSid: st.sid}, nil
}

// release ends m's hold: what waited is delivered to the others, in order.
func (st *roomState) release(m *member) {
	if !m.holding {
		return
	}
	m.holding = false
	held := m.held
	m.held = nil
	for _, h := range held {
		for _, o := range h.to {
			st.deliver(o, h.ev) // deliver skips those who left meanwhile
		}
	}
}

// forgetHeldFor takes m off the recipients of every held event: m has just
// been given a snapshot that already shows those participants as they are.
func (st *roomState) forgetHeldFor(m *member) {
	for _, o := range st.members {
		for i := range o.held {
			o.held[i].to = slices.DeleteFunc(o.held[i].to, func(x *member) bool { return x == m })
		}
	}
}

// releaseDue releases the holds that have run out and arms the timer for
// the next.
func (st *roomState) releaseDue() {
	now := time.Now()
	for _, m := range st.members {
		if m.holding && !now.Before(m.holdUntil) {
			st.release(m)
		}
	}
	st.armHold()
}

// armHold points the hold timer at the earliest hold still running.
func (st *roomState) armHold() {
	var next time.Time
	for _, m := range st.members {
		if m.holding && (next.IsZero() || m.holdUntil.Before(next)) {
			next = m.holdUntil
		}
	}
	if st.holdTimer != nil {
		st.holdTimer.Stop()
		st.holdTimer, st.holdC = nil, nil
	}
	if next.IsZero() {
		return
	}
	st.holdTimer = time.NewTimer(max(time.Until(next), 0))
	st.holdC = st.holdTimer.C
}

// changed bumps m's version and announces it to everyone, m included.
func (st *roomState) changed(m *member, k EventKind, t TrackInfo) {
	m.info.Version++
	ev := st.event(k)
	ev.Participant = m.info.clone()
	ev.Track = t
	st.broadcast(ev, "")
}

// Member is a session's handle on its participant. Its commands fail with
// ErrNotJoined once the participant has left or been replaced.
type Member struct {
	rm       *room
	sid      string
	identity string
	roomSid  string
}

// Sid returns the participant's PA_ sid.
func (h *Member) Sid() string { return h.sid }

// Identity returns the participant's identity.
func (h *Member) Identity() string { return h.identity }

// Room returns the room's name.
func (h *Member) Room() string { return h.rm.name }

// RoomSid returns the room's RM_ sid.
func (h *Member) RoomSid() string { return h.roomSid }

// with runs fn with the member on the room goroutine.
func (h *Member) with(ctx context.Context, fn func(*roomState, *member) error) error {
	var ferr error
	err := h.rm.do(ctx, func(st *roomState) {
		m := st.bySid[h.sid]
		if m == nil {
			ferr = ErrNotJoined
			return
		}
		ferr = fn(st, m)
	})
	if err == errGone {
		return ErrNotJoined
	}
	if err != nil {
		return err
	}
	return ferr
}

// Leave removes the participant; the others see EventParticipantLeft with
// reason. The member's own sink is not closed (the session is leaving).
func (h *Member) Leave(ctx context.Context, reason Reason) error {
	return h.with(ctx, func(st *roomState, m *member) error {
		st.remove(m, reason, false)
		return nil
	})
}

// Info returns a copy of the participant.
func (h *Member) Info(ctx context.Context) (ParticipantInfo, error) {
	var p ParticipantInfo
	err := h.with(ctx, func(_ *roomState, m *member) error { p = m.info.clone(); return nil })
	return p, err
}

// PublishTrack adds a track and announces it (EventTrackPublished, to the
// publisher too).
func (h *Member) PublishTrack(ctx context.Context, req TrackRequest) (TrackInfo, error) {
	var t TrackInfo
	err := h.with(ctx, func(st *roomState, m *member) error {
		if req.Source == "" {
			req.Source = SourceUnknown
		}
		if !m.info.Permission.canPublishSource(req.Source) {
			return ErrPermissionDenied
		}
		t = TrackInfo{
			Sid: st.reg.opts.IDs.TrackSid(), Kind: req.Kind, Name: req.Name, Source: req.Source, Muted: req.Muted,
			MimeType: req.MimeType, Width: req.Width, Height: req.Height, Stereo: req.Stereo,
		}
		m.info.Tracks = append(m.info.Tracks, t)
		st.changed(m, EventTrackPublished, t)
		return nil
	})
	return t, err
}

// UnpublishTrack removes one of the participant's tracks.
func (h *Member) UnpublishTrack(ctx context.Context, trackSid string) (TrackInfo, error) {
	var t TrackInfo
	err := h.with(ctx, func(st *roomState, m *member) error {
		i := slices.IndexFunc(m.info.Tracks, func(x TrackInfo) bool { return x.Sid == trackSid })
		if i < 0 {
			return ErrTrackNotFound
		}
		t = m.info.Tracks[i]
		m.info.Tracks = slices.Delete(m.info.Tracks, i, i+1)
		st.changed(m, EventTrackUnpublished, t)
		return nil
	})
	return t, err
}

// MuteTrack sets the muted flag of one of the participant's tracks.
func (h *Member) MuteTrack(ctx context.Context, trackSid string, muted bool) (TrackInfo, error) {
	var t TrackInfo
	err := h.with(ctx, func(st *roomState, m *member) error {
		i := slices.IndexFunc(m.info.Tracks, func(x TrackInfo) bool { return x.Sid == trackSid })
		if i < 0 {
			return ErrTrackNotFound
		}
		m.info.Tracks[i].Muted = muted
		t = m.info.Tracks[i]
		st.changed(m, EventTrackMuted, t)
		return nil
	})
	return t, err
}

// SetSubscribed records whether the participant wants another member's
// track. The track must exist in the room.
func (h *Member) SetSubscribed(ctx context.Context, trackSid string, subscribed bool) error {
	return h.with(ctx, func(st *roomState, m *member) error {
		if subscribed && !m.info.Permission.CanSubscribe {
			return ErrPermissionDenied
		}
		for _, o := range st.members {
			if slices.ContainsFunc(o.info.Tracks, func(x TrackInfo) bool { return x.Sid == trackSid }) {
				if subscribed {
					delete(m.unsubscribed, trackSid)
				} else {
					m.unsubscribed[trackSid] = true
				}
				return nil
			}
		}
		return ErrTrackNotFound
	})
}

// Update changes the participant's name, metadata or attributes
// (canUpdateMetadata required) and announces it.
func (h *Member) Update(ctx context.Context, u Update) (ParticipantInfo, error) {
	var p ParticipantInfo
	err := h.with(ctx, func(st *roomState, m *member) error {
		if !m.info.Permission.CanUpdateMetadata {
			return ErrPermissionDenied
		}
		applyUpdate(&m.info, u)
		st.changed(m, EventParticipantUpdated, TrackInfo{})
		p = m.info.clone()
		return nil
	})
	return p, err
}

func applyUpdate(p *ParticipantInfo, u Update) {
	if u.Name != nil {
		p.Name = *u.Name
	}
	if u.Metadata != nil {
		p.Metadata = *u.Metadata
	}
	for k, v := range u.Attributes {
		if v == "" {
			delete(p.Attributes, k)
		} else {
			p.Attributes[k] = v
		}
	}
}

// SetState changes the participant's state (a LiveKit participant becomes
// ACTIVE once its PeerConnection is up) and announces it.
func (h *Member) SetState(ctx context.Context, s State) error {
	return h.with(ctx, func(st *roomState, m *member) error {
		if m.info.State == s {
			return nil
		}
		m.info.State = s
		if m.holding { // JOINED → ACTIVE follows the held join
			m.info.Version++
			ev := st.event(EventParticipantUpdated)
			ev.Participant = m.info.clone()
			st.hold(m, ev, "")
			return nil
		}
		st.changed(m, EventParticipantUpdated, TrackInfo{})
		return nil
	})
}

// SendData delivers a data packet to the other members, or only to
// pkt.Destinations when given (unknown identities are ignored).
func (h *Member) SendData(ctx context.Context, pkt DataPacket) error {
	return h.with(ctx, func(st *roomState, m *member) error {
		if !m.info.Permission.CanPublishData {
			return ErrPermissionDenied
		}
		pkt.FromIdentity = m.info.Identity
		pkt.FromSid = m.info.Sid
		pkt.Destinations = slices.Clone(pkt.Destinations)
		if st.duplicate(pkt.Nonce) {
			return nil
		}
		st.release(m) // data from a participant the others do not know yet
		ev := st.event(EventDataReceived)
		ev.Participant = m.info.clone()
		ev.Data = &pkt
		st.observe(ev)
		for _, o := range st.members {
			if o == m || (len(pkt.Destinations) > 0 && !slices.Contains(pkt.Destinations, o.info.Identity)) {
				continue
			}
			if !pkt.IsUserData() && o.info.Dialect == DialectJSON {
				continue
			}
			st.deliver(o, ev)
		}
		return nil
	})
}
