package signal

import (
	"context"
	"sync"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/lkproto"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// LiveKit resumes (SPEC §8, §10 "Reconnects") and SimulateScenario.
//
// A session whose socket drops without a leave (closed, aborted, ping
// timeout) parks: its member is detached in the registry (others see
// nothing) and its publisher peer is kept, both for RESUME_WINDOW. A resume
// of the same room and identity (the real server looks the session up by
// identity; a sid, when given, must match) takes them over: ReconnectResponse
// first, then a full participant update and a room update, and the client's
// ICE-restart offer is answered on the kept peer.

// The scenarios' windows and counts are livekit-server v1.13.5's.
const (
	simulateWindow      = 5 * time.Second
	simulateDropResumes = 3
	maxSpeakerUpdate    = time.Hour // bounds a client's speaker_update value
	// takeoverWait bounds how long a resume waits for a session the server
	// still holds to close and park.
	takeoverWait         = 3 * time.Second
	reasonMigration      = rooms.Reason("migration")
	simulatedSignalClose = "simulated"
)

// Scenario names (pbwire.SimulateRequest.Scenario).
const (
	scenarioSpeakerUpdate        = "speaker_update"
	scenarioNodeFailure          = "node_failure"
	scenarioMigration            = "migration"
	scenarioServerLeave          = "server_leave"
	scenarioDisconnectOnResume   = "disconnect_signal_on_resume"
	scenarioDisconnectNoMessages = "disconnect_signal_on_resume_no_messages"
)

type lkKey struct{ room, identity string }

func keyOf(g Grant) lkKey { return lkKey{room: g.Room, identity: g.Identity} }

// parkedSession is what a dropped session leaves for its resume. While
// parked it is listed in the hub as a session without a socket, so that
// shutdown and a test-control reset end it too.
type parkedSession struct {
	sid     string
	member  *rooms.Member
	peer    *rtc.Peer     // nil without an engine
	taken   chan struct{} // closed once it left the table (resumed, replaced, closed)
	takeOne sync.Once
}

func (pk *parkedSession) take() { pk.takeOne.Do(func() { close(pk.taken) }) }

// simState holds a participant's pending resume scenarios.
type simState struct {
	closeResumeUntil time.Time // disconnect_signal_on_resume
	dropLeft         int       // disconnect_signal_on_resume_no_messages
	dropUntil        time.Time
}

// resumeTable knows the LiveKit sessions of one dialect by room and
// identity: the live ones and the parked ones.
type resumeTable struct {
	mu      sync.Mutex
	live    map[lkKey]*lkHandler
	parked  map[lkKey]*parkedSession
	sims    map[lkKey]*simState
	changed chan struct{} // closed and replaced on every park
	closed  bool
	stop    chan struct{} // closed by Close: ends scenario timers
	wg      sync.WaitGroup
}

func newResumeTable() *resumeTable {
	return &resumeTable{
		live:    map[lkKey]*lkHandler{},
		parked:  map[lkKey]*parkedSession{},
		sims:    map[lkKey]*simState{},
		changed: make(chan struct{}),
		stop:    make(chan struct{}),
	}
}

// Close ends every parked session's peer and the scenario timers; the
// registry keeps the detached members until their windows end. For tests
// and shutdown.
func (l *LiveKit) Close() {
	t := l.res
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	close(t.stop)
	parked := t.parked
	t.parked = map[lkKey]*parkedSession{}
	t.mu.Unlock()
	for _, pk := range parked {
		pk.take()
		if pk.peer != nil {
			_ = pk.peer.Close()
		}
	}
	t.wg.Wait()
}

// joined records h as the live session of its key; a parked session of
// the same identity is over (the registry replaced its member).
func (t *resumeTable) joined(h *lkHandler, _ *rooms.Member) {
	key := keyOf(h.j.Grant)
	t.mu.Lock()
	t.live[key] = h
	pk := t.parked[key]
	delete(t.parked, key)
	t.mu.Unlock()
	if pk != nil {
		pk.take()
		if pk.peer != nil {
			_ = pk.peer.Close()
		}
	}
}

// gone forgets h as a live session.
func (t *resumeTable) gone(h *lkHandler) {
	key := keyOf(h.j.Grant)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.live[key] == h {
		delete(t.live, key)
	}
}

// park keeps h's member and peer for the resume window when the socket
// dropped without a leave; false: the session is over for good.
func (h *lkHandler) park(reason rooms.Reason) bool {
	if (reason != rooms.ReasonClosed && reason != rooms.ReasonTimeout) || h.s.why.notice != "" {
		return false // a leave was sent, or the server ended the session
	}
	m := h.member.Load()
	if m == nil {
		return false
	}
	t := h.res
	hub := h.s.hub
	window := hub.opts.ResumeWindow
	// The placeholder that stands for the parked session in the hub.
	ps := newSession(context.Background(), hub, h.s.ip, nil, h.s.dialect)
	unlist, ok := hub.hold(ps)
	if !ok {
		return false
	}
	pk := &parkedSession{sid: m.Sid(), member: m, peer: h.peer, taken: make(chan struct{})}
	key := keyOf(h.j.Grant)
	var err error
	if h.peer != nil {
		// The peer outlives the signalling: data goes on both ways.
		log := h.log
		h.peer.SetHandlers(rtc.Handlers{OnData: func(label string, payload []byte) {
			relayData(context.Background(), m, log, label, payload)
		}})
		err = m.DetachKeepingData(context.Background(), window, h.parkedSink(t, key, pk))
	} else {
		err = m.Detach(context.Background(), window)
	}
	if err != nil {
		unlist()
		return false
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		unlist()
		return false // Closed leaves the member (detached or not) at once
	}
	h.member.Store(nil)
	if t.live[key] == h {
		delete(t.live, key)
	}
	old := t.parked[key]
	t.parked[key] = pk
	t.wg.Add(1)
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
	if old != nil {
		old.take()
		if old.peer != nil {
			_ = old.peer.Close()
		}
	}
	go func() {
		defer t.wg.Done()
		defer unlist()
		tm := time.NewTimer(window)
		defer tm.Stop()
		select {
		case <-tm.C:
			t.end(key, pk, rooms.ReasonTimeout)
		case <-ps.done: // shutdown or reset
			t.end(key, pk, ps.why.leave)
		case <-pk.taken:
		}
	}()
	return true
}

// end ends a parked session: its window is over (others see it leave with
// reason timeout; the registry's own timer may have done so already), or
// the hub ended it.
func (t *resumeTable) end(key lkKey, pk *parkedSession, reason rooms.Reason) {
	t.mu.Lock()
	if t.parked[key] != pk {
		t.mu.Unlock()
		return
	}
	delete(t.parked, key)
	t.mu.Unlock()
	pk.take()
	if pk.peer != nil {
		_ = pk.peer.Close()
	}
	_ = pk.member.Leave(context.Background(), reason)
}

// claim takes the parked session of key for a resume. A session still live
// (the client gave up on a socket the server still holds, e.g. under a
// silence fault) is closed without a leave and claimed once it parked.
// nil: nothing to resume.
func (t *resumeTable) claim(ctx context.Context, key lkKey, sid string) *parkedSession {
	timer := time.NewTimer(takeoverWait)
	defer timer.Stop()
	for {
		t.mu.Lock()
		if pk := t.parked[key]; pk != nil {
			if sid != "" && sid != pk.sid {
				t.mu.Unlock()
				return nil
			}
			delete(t.parked, key)
			t.mu.Unlock()
			pk.take()
			return pk
		}
		old, ch := t.live[key], t.changed
		t.mu.Unlock()
		if old == nil {
			return nil
		}
		if m := old.member.Load(); m == nil || (sid != "" && m.Sid() != sid) {
			return nil
		}
		old.s.end(cause{code: CloseNormal, text: "resumed elsewhere", leave: rooms.ReasonClosed})
		select {
		case <-ch:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// sim runs fn on key's scenario state; states whose windows are over at
// now are dropped.
func (t *resumeTable) sim(key lkKey, now time.Time, fn func(*simState) bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.sims[key]
	if s == nil {
		s = &simState{}
		t.sims[key] = s
	}
	ok := fn(s)
	for k, st := range t.sims {
		if (st.dropLeft == 0 || !now.Before(st.dropUntil)) && !now.Before(st.closeResumeUntil) {
			delete(t.sims, k)
		}
	}
	return ok
}

// speakers sends speakers_changed to every LiveKit session in room.
func (t *resumeTable) speakers(room string, sp pbwire.Speaker) {
	t.mu.Lock()
	var to []*lkHandler
	for k, h := range t.live {
		if k.room == room {
			to = append(to, h)
		}
	}
	t.mu.Unlock()
	for _, h := range to {
		h.send(pbwire.SpeakersChanged(sp))
	}
}

// after runs fn after d unless the table closes first.
func (t *resumeTable) after(d time.Duration, fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-tm.C:
			fn()
		case <-t.stop:
		}
	}()
}

// resume runs in Open for a reconnect: re-attach the parked session, or
// ask for a full rejoin (leave STATE_MISMATCH/RECONNECT as the first frame).
func (h *lkHandler) resume() {
	g, p := h.j.Grant, h.j.Params
	key := keyOf(g)
	now := h.o.Now()
	if h.res.sim(key, now, func(s *simState) bool {
		if s.dropLeft > 0 && now.Before(s.dropUntil) {
			s.dropLeft--
			return true
		}
		s.dropLeft = 0
		return false
	}) {
		// disconnect_signal_on_resume_no_messages: the resume fails.
		h.s.end(cause{code: CloseNormal, text: simulatedSignalClose, leave: rooms.ReasonClosed})
		return
	}
	pk := h.res.claim(h.ctx(), key, p.ParticipantSID)
	if pk == nil {
		h.s.End(reasonStateMismatch)
		return
	}
	// Media state is per session: a resumed single-PeerConnection session
	// gets a fresh one, which republishes the kept connection's tracks and
	// rebuilds its subscriptions (startMedia gives /rtc resumes none: a new
	// subscriber PeerConnection would break the client's DTLS).
	if err := h.startMedia(); err != nil {
		h.log.Warn("livekit: cannot restore media on resume", "err", err)
	}
	h.peer = pk.peer
	if h.peer != nil {
		h.peer.SetHandlers(h.peerHandlers())
	}
	enc := lkEncoder{identity: g.Identity, o: h.o, media: h.media}
	m, err := h.o.Registry.Resume(h.ctx(), pk.sid, func(info rooms.ParticipantInfo, _ any) rooms.Sink {
		if info.Identity != g.Identity {
			return nil
		}
		return &resumeSink{Sink: h.sink(h.s.Sink(enc.resumed)), h: h}
	})
	if err != nil {
		h.log.Info("livekit: resume refused", "room", g.Room, "err", err)
		if h.peer != nil {
			_ = h.peer.Close()
			h.peer = nil
		}
		h.s.End(reasonStateMismatch)
		return
	}
	h.member.Store(m)
	h.res.joined(h, m)
	if p.PublisherOffer != nil {
		h.offer(*p.PublisherOffer)
	}
	if h.j.Refresh != nil {
		h.refresh()
		h.wg.Add(1)
		go h.refreshLoop()
	}
	if h.res.sim(key, now, func(s *simState) bool {
		hit := now.Before(s.closeResumeUntil)
		s.closeResumeUntil = time.Time{}
		return hit
	}) {
		// disconnect_signal_on_resume: this resume completed; now the
		// signal drops (no leave), and the next resume succeeds.
		h.s.end(cause{code: CloseNormal, text: simulatedSignalClose, flush: true, leave: rooms.ReasonClosed})
	}
}

// resumeSink puts ReconnectResponse before the resumed participant update
// and a room update after it: livekit-client drops every other message
// until it has its reconnect answer.
type resumeSink struct {
	rooms.Sink
	h *lkHandler
}

func (r *resumeSink) Send(ev rooms.Event) bool {
	if ev.Kind != rooms.EventParticipantResumed {
		return r.Sink.Send(ev)
	}
	b, err := pbwire.Reconnect(r.h.o.ICEServers, r.h.o.Server, 0).Encode(0)
	if err != nil || !r.h.s.Send(BinaryMessage, b) || !r.Sink.Send(ev) {
		return false
	}
	if ev.Room == nil {
		return true
	}
	room := lkproto.Room(*ev.Room)
	room.NumParticipants++ // the snapshot leaves the resumed participant out
	b, err = pbwire.RoomUpdate(room).Encode(0)
	if err != nil {
		return true
	}
	return r.h.s.Send(BinaryMessage, b)
}

// resumed encodes like encode, except that the resume's first event is the
// full participant update: the client itself, then every other.
func (e lkEncoder) resumed(ev rooms.Event) (int, []byte, bool) {
	if ev.Kind != rooms.EventParticipantResumed {
		return e.encode(ev)
	}
	if e.media != nil {
		e.media.observe(ev) // republish the kept peer's tracks, subscribe again
	}
	ps := []rooms.ParticipantInfo{ev.Participant}
	if ev.Room != nil {
		for _, p := range ev.Room.Participants {
			ps = append(ps, asSeen(p))
		}
	}
	return e.frame(pbwire.ParticipantUpdate(lkproto.Participants(ps, "")...))
}

// asSeen is a participant as other clients see it in a snapshot: one
// waiting to be resumed shows ACTIVE, as on the real server (which never
// tells others of a dropped signal). livekit-client drops DISCONNECTED
// entries, and nothing would announce the participant after its resume.
func asSeen(p rooms.ParticipantInfo) rooms.ParticipantInfo {
	if p.State == rooms.StateDisconnected {
		p.State = rooms.StateActive
	}
	return p
}

// simulate honours a client's SimulateScenario as livekit-server v1.13.5
// does; scenarios it has no case for are ignored.
func (h *lkHandler) simulate(r pbwire.SimulateRequest) {
	m := h.member.Load()
	if m == nil {
		return
	}
	key := keyOf(h.j.Grant)
	switch r.Scenario {
	case scenarioSpeakerUpdate:
		sid, room := m.Sid(), key.room
		h.res.speakers(room, pbwire.Speaker{SID: sid, Level: 0.9, Active: true})
		d := min(max(time.Duration(r.Value)*time.Second, 0), maxSpeakerUpdate)
		h.res.after(d, func() { h.res.speakers(room, pbwire.Speaker{SID: sid}) })
	case scenarioNodeFailure, scenarioMigration:
		reason := rooms.ReasonServerShutdown
		if r.Scenario == scenarioMigration {
			reason = reasonMigration
		}
		// The node is gone: others see the participant leave, the client
		// only sees its socket close (1000, no leave) and tries to resume.
		if mm := h.member.Swap(nil); mm != nil {
			_ = mm.Leave(h.ctx(), reason)
		}
		h.res.gone(h)
		if h.peer != nil {
			_ = h.peer.Close()
		}
		h.s.end(cause{code: CloseNormal, text: string(reason), flush: true, leave: reason})
	case scenarioServerLeave:
		h.s.End(rooms.ReasonServerShutdown)
	case scenarioDisconnectOnResume:
		now := h.o.Now()
		h.res.sim(key, now, func(s *simState) bool { s.closeResumeUntil = now.Add(simulateWindow); return true })
	case scenarioDisconnectNoMessages:
		now := h.o.Now()
		h.res.sim(key, now, func(s *simState) bool {
			s.dropLeft, s.dropUntil = simulateDropResumes, now.Add(simulateWindow)
			return true
		})
	}
}
