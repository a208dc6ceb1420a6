package signal

import (
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Journal records what sessions do (connections opened and closed, faults
// applied); *journal.Journal satisfies it. It must not block.
type Journal interface {
	Record(typ, room, identity string, detail map[string]any)
}

// Faults are the test-control fault rules of the rtc target (SPEC §10), as
// sessions consult them; the admin package implements them, journaling each
// application. room and identity are the session's participant. None may
// block: they run on room, reader and writer goroutines.
type Faults interface {
	// Outgoing is asked before each frame to the participant is written:
	// delay it, or drop it.
	Outgoing(room, identity string) (delay time.Duration, drop bool)
	// Connection is asked when the participant joins or resumes, and when
	// rules change (Hub.ApplyFaults): closeCode > 0 ends the session with a
	// close frame of that code; abort drops its TCP connection without one.
	Connection(room, identity string) (closeCode int, abort bool)
	// Silenced tells whether to stop answering the participant's pings
	// (WebSocket pings and the dialect's own) and to stop sending ours.
	Silenced(room, identity string) bool
}

// Journal entry types this package writes (the journal's own names).
const (
	entryConnectionOpened = "connection_opened"
	entryConnectionClosed = "connection_closed"
)

// subject is who a session speaks for, known once it joined a room.
type subject struct{ room, identity string }

// subjectHolder is embedded state of a Session for the fault hooks.
type subjectHolder struct {
	subj     atomic.Pointer[subject]
	peerCode atomic.Int64 // close code the peer sent, if any
}

// Subject returns the room and identity the session joined as ("" before).
func (s *Session) Subject() (room, identity string) {
	if p := s.subj.Load(); p != nil {
		return p.room, p.identity
	}
	return "", ""
}

// setSubject records who the session speaks for (from the first event of a
// join or resume, which passes through its sink) and applies connection
// faults to it.
func (s *Session) setSubject(room, identity string) {
	s.subj.Store(&subject{room: room, identity: identity})
	s.applyConnectionFault()
}

// Silenced reports whether a silence fault holds for the session: dialects
// then leave the client's pings unanswered.
func (s *Session) Silenced() bool {
	f := s.hub.opts.Faults
	p := s.subj.Load()
	return f != nil && p != nil && f.Silenced(p.room, p.identity)
}

// applyConnectionFault ends the session when a close or abort rule says so.
func (s *Session) applyConnectionFault() {
	f := s.hub.opts.Faults
	p := s.subj.Load()
	if f == nil || p == nil || s.ended() {
		return
	}
	code, abort := f.Connection(p.room, p.identity)
	switch {
	case abort:
		s.abortConn()
	case code > 0:
		s.end(cause{code: code, text: "fault", leave: rooms.ReasonClosed})
	}
}

// abortConn drops the TCP connection at once, without a close frame, as a
// lost network would (RST where the platform allows).
func (s *Session) abortConn() {
	s.end(cause{leave: rooms.ReasonClosed, text: "aborted"})
	conn := s.hub.connOf(s)
	if conn == nil {
		return
	}
	nc := conn.NetConn()
	if tc, ok := rawConn(nc).(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = nc.Close()
}

// outgoingFault applies latency and drop rules to one frame; false: do not
// write it (dropped, or the session ended while it waited).
func (s *Session) outgoingFault() bool {
	f := s.hub.opts.Faults
	p := s.subj.Load()
	if f == nil || p == nil {
		return true
	}
	delay, drop := f.Outgoing(p.room, p.identity)
	if drop {
		return false
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.done:
			return false
		}
	}
	return true
}

// record writes a journal entry for this session, if there is a journal.
func (s *Session) record(typ string, detail map[string]any) {
	j := s.hub.opts.Journal
	if j == nil {
		return
	}
	room, identity := s.Subject()
	detail["ip"] = s.ip
	detail["dialect"] = s.dialect.Name()
	detail["connection"] = s.id
	j.Record(typ, room, identity, detail)
}

// notePeerClose remembers the close code the peer sent.
func (s *Session) notePeerClose(err error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		s.peerCode.Store(int64(ce.Code))
	}
}

// recordClosed journals how the session ended: the close code we sent, or
// the peer's, or 1006 when the connection just dropped.
func (s *Session) recordClosed(readErr error) {
	c := s.why
	code, by := c.code, "server"
	switch {
	case code != 0:
	case errors.Is(readErr, websocket.ErrReadLimit):
		code = CloseTooBig
	case s.peerCode.Load() != 0:
		code, by = int(s.peerCode.Load()), "client"
	default:
		code, by = websocket.CloseAbnormalClosure, "network"
		if c.text == "aborted" {
			by = "server"
		}
	}
	reason := c.text
	if reason == "" {
		reason = string(c.leave)
	}
	s.record(entryConnectionClosed, map[string]any{"code": code, "reason": reason, "by": by})
}

// ApplyFaults applies the close and abort rules to every joined session
// (called when rules are added).
func (h *Hub) ApplyFaults() {
	for _, s := range h.snapshot() {
		s.applyConnectionFault()
	}
}

// EndAll ends every client session with reason (a test-control reset ends
// them with room_deleted); agent workers stay connected (their jobs end with
// the rooms). New upgrades are still accepted.
func (h *Hub) EndAll(reason rooms.Reason) int {
	n := 0
	for _, s := range h.snapshot() {
		if s.dialect.Name() == agentDialectName {
			continue
		}
		s.End(reason)
		n++
	}
	return n
}
