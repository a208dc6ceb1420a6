package signal

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Close codes this package sends (RFC 6455 §7.4.1).
const (
	CloseNormal        = websocket.CloseNormalClosure           // 1000
	CloseGoingAway     = websocket.CloseGoingAway               // 1001
	CloseProtocolError = websocket.CloseProtocolError           // 1002
	CloseInvalidData   = websocket.CloseInvalidFramePayloadData // 1007
	ClosePolicy        = websocket.ClosePolicyViolation         // 1008
	CloseTooBig        = websocket.CloseMessageTooBig           // 1009
	CloseInternalError = websocket.CloseInternalServerErr       // 1011
)

// Reasons in close frames and notices that are not room leave reasons.
const (
	ReasonRateLimited = "rate_limited"
	reasonInvalidUTF8 = "invalid UTF-8 in text frame"
	reasonInternal    = "internal error"
)

// cause says how a session ends.
type cause struct {
	code   int    // close code we send; 0: none (the peer closed, or gorilla already sent one)
	text   string // close frame reason
	notice string // reason of the final notice; "": none
	flush  bool   // write what is queued before the notice
	leave  rooms.Reason
}

func roomCause(r rooms.Reason) cause {
	switch r {
	case rooms.ReasonServerShutdown:
		return cause{code: CloseGoingAway, text: string(r), notice: string(r), flush: true, leave: r}
	case rooms.ReasonSlowConsumer:
		// The outbox is full: no notice, no flush.
		return cause{code: ClosePolicy, text: string(r), leave: r}
	}
	return cause{code: CloseNormal, text: string(r), notice: string(r), flush: true, leave: r}
}

// outItem is one queued frame, or one room event to encode on the writer.
type outItem struct {
	msgType int
	data    []byte
	ev      rooms.Event
	enc     Encoder
}

// Session is one WebSocket connection. Handlers use its methods; the hub
// runs it.
type Session struct {
	ctx     context.Context
	hub     *Hub
	ip      string
	grant   *Grant
	dialect Dialect
	handler Handler
	conn    *websocket.Conn
	watch   *frameWatch // the client's frame headers (framewatch.go)

	outbox     chan *outItem // never closed; drained by the writer; pointers keep an idle queue small
	done       chan struct{} // closed once by end
	readerDone chan struct{}
	writerDone chan struct{}
	once       sync.Once
	why        cause // written before done is closed

	id uint64 // connection number in the journal
	subjectHolder
}

func newSession(ctx context.Context, h *Hub, ip string, g *Grant, d Dialect) *Session {
	return &Session{
		ctx:        ctx,
		hub:        h,
		ip:         ip,
		grant:      g,
		dialect:    d,
		outbox:     make(chan *outItem, h.opts.Outbox),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

// Context is cancelled when the session is over.
func (s *Session) Context() context.Context { return s.ctx }

// RemoteIP is the client IP the session was admitted for.
func (s *Session) RemoteIP() string { return s.ip }

// Grant is the token verified on the upgrade request, or nil.
func (s *Session) Grant() *Grant { return s.grant }

// Send queues a frame for the client without blocking. A full outbox ends
// the session as a slow consumer and returns false.
func (s *Session) Send(msgType int, data []byte) bool {
	return s.enqueue(&outItem{msgType: msgType, data: data})
}

func (s *Session) enqueue(it *outItem) bool {
	select {
	case <-s.done:
		return true // going away; nothing more to report
	default:
	}
	select {
	case s.outbox <- it:
		return true
	default:
		s.End(rooms.ReasonSlowConsumer)
		return false
	}
}

// Sink returns the rooms.Sink of a member joined through this session;
// events are encoded by enc on the writer goroutine.
func (s *Session) Sink(enc Encoder) rooms.Sink { return sink{s: s, enc: enc} }

type sink struct {
	s   *Session
	enc Encoder
}

func (k sink) Send(ev rooms.Event) bool {
	select {
	case <-k.s.done:
		return true
	default:
	}
	select {
	case k.s.outbox <- &outItem{ev: ev, enc: k.enc}:
		if ev.Kind == rooms.EventJoined || ev.Kind == rooms.EventParticipantResumed {
			k.s.setSubject(ev.RoomName, ev.Participant.Identity)
		}
		return true
	default:
		return false // the room removes the member and calls Close
	}
}

func (k sink) Close(reason rooms.Reason) { k.s.End(reason) }

// End ends the session for a room reason: the client gets the dialect's
// notice (unless slow_consumer) and a close frame (1000; 1001 for
// server_shutdown; 1008 for slow_consumer).
func (s *Session) End(reason rooms.Reason) { s.end(roomCause(reason)) }

// EndRateLimited ends the session for going over the message rate (1008).
func (s *Session) EndRateLimited() {
	s.end(cause{code: ClosePolicy, text: ReasonRateLimited, notice: ReasonRateLimited, leave: rooms.ReasonClosed})
}

func (s *Session) end(c cause) {
	s.once.Do(func() {
		s.why = c
		close(s.done)
	})
}

func (s *Session) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// abort drops the TCP connection (shutdown ran out of time).
func (s *Session) abort() {
	s.end(cause{leave: rooms.ReasonServerShutdown})
	if s.conn != nil {
		_ = s.conn.NetConn().Close()
	}
}

// run is the reader loop; it starts the writer and returns when both are done.
func (s *Session) run(conn *websocket.Conn) {
	h := s.hub
	lim := s.dialect.Limits()
	s.hub.setConn(s, conn)
	if lim.ReadLimit > 0 {
		conn.SetReadLimit(lim.ReadLimit)
	}
	_ = conn.SetReadDeadline(time.Now().Add(h.opts.PongWait))
	conn.SetPongHandler(func(string) error {
		return conn.SetReadDeadline(time.Now().Add(h.opts.PongWait))
	})
	conn.SetPingHandler(func(data string) error {
		_ = conn.SetReadDeadline(time.Now().Add(h.opts.PongWait))
		if s.Silenced() {
			return nil // a silence fault: the client's pings go unanswered
		}
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(h.opts.WriteWait))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})
	echoClose := conn.CloseHandler()
	conn.SetCloseHandler(func(code int, text string) error {
		if s.watch != nil && s.watch.oneByteClose.Load() {
			return errCloseOneByte // answered with 1002 by finish
		}
		return echoClose(code, text)
	})
	var limiter interface{ Allow() bool }
	if lim.Rate > 0 {
		limiter = ratelimit.NewMessageBucket(lim.Rate, max(lim.Burst, 1))
	}

	// The handler exists before the writer starts, which reads it.
	s.safely(func() { s.handler = s.dialect.NewHandler(s) })
	go s.writeLoop()
	if s.handler != nil {
		s.safely(s.handler.Open)
	}
	var readErr error
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			s.notePeerClose(err)
			readErr = err
			s.end(readCause(err))
			break
		}
		_ = conn.SetReadDeadline(time.Now().Add(h.opts.PongWait))
		if s.ended() {
			continue // closing: read on until the peer's close frame
		}
		if limiter != nil && !limiter.Allow() {
			s.EndRateLimited()
			continue
		}
		if mt == websocket.TextMessage && !utf8.Valid(data) {
			s.end(cause{code: CloseInvalidData, text: reasonInvalidUTF8, leave: rooms.ReasonClosed})
			continue
		}
		if s.handler != nil {
			s.safely(func() { s.handler.Message(mt, data) })
		}
	}
	close(s.readerDone)
	if s.handler != nil {
		s.safely(func() { s.handler.Closed(s.why.leave) })
	}
	<-s.writerDone
	s.recordClosed(readErr)
}

// safely runs fn; a panic ends this session with 1011 and nothing else.
func (s *Session) safely(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			s.hub.log.Error("rtc session panic", "panic", v, "ip", s.ip)
			s.end(cause{code: CloseInternalError, text: reasonInternal, leave: rooms.ReasonClosed})
		}
	}()
	fn()
}

func readCause(err error) cause {
	var ne net.Error
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return cause{leave: rooms.ReasonClosed} // gorilla sent 1009
	case errors.Is(err, errCloseOneByte):
		return cause{code: CloseProtocolError, text: reasonBadClose, leave: rooms.ReasonClosed}
	case errors.As(err, &ne) && ne.Timeout():
		return cause{leave: rooms.ReasonTimeout} // no pong in time
	}
	return cause{leave: rooms.ReasonClosed}
}

func (s *Session) writeLoop() {
	defer close(s.writerDone)
	ping := time.NewTicker(s.hub.opts.PingPeriod)
	defer ping.Stop()
	for {
		select {
		case it := <-s.outbox:
			if !s.outgoingFault() {
				continue
			}
			if !s.write(it) {
				s.end(cause{leave: rooms.ReasonClosed})
			}
		case <-ping.C:
			if s.Silenced() {
				continue
			}
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.hub.opts.WriteWait)); err != nil {
				s.end(cause{leave: rooms.ReasonClosed})
			}
		case <-s.done:
			s.finish()
			return
		}
	}
}

// write writes one queued item; false when the connection failed.
func (s *Session) write(it *outItem) bool {
	if it.enc != nil {
		ok := false
		s.safely(func() { it.msgType, it.data, ok = it.enc(it.ev) })
		if !ok {
			return true
		}
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.hub.opts.WriteWait))
	return s.conn.WriteMessage(it.msgType, it.data) == nil
}

// finish runs on the writer once the session has ended: what is queued (for
// orderly ends), the notice, the close frame, then a bounded wait for the
// peer's close before the TCP connection is dropped.
func (s *Session) finish() {
	c := s.why
	grace := s.hub.opts.CloseGrace
	if c.code != 0 {
		ok := true
		if c.flush {
			for n := len(s.outbox); n > 0 && ok; n-- {
				ok = s.write(<-s.outbox)
			}
		}
		if ok && c.notice != "" && s.handler != nil {
			var (
				mt   int
				data []byte
				has  bool
			)
			s.safely(func() { mt, data, has = s.handler.Notice(c.notice) })
			if has {
				ok = s.write(&outItem{msgType: mt, data: data})
			}
		}
		if ok {
			msg := websocket.FormatCloseMessage(c.code, c.text)
			_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(s.hub.opts.WriteWait))
		}
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-s.readerDone:
		s.linger(grace)
	case <-t.C:
	}
	_ = s.conn.Close()
}

// linger reads and drops what the peer still sends for a moment, so that
// closing with unread data does not reset the connection before the peer
// has read our close frame.
func (s *Session) linger(d time.Duration) {
	nc := s.conn.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(d))
	_, _ = io.Copy(io.Discard, io.LimitReader(nc, maxLingerBytes))
}
