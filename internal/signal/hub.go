package signal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Refusals of Admit and Serve, answered before the upgrade.
var (
	ErrShuttingDown             = errors.New("server is shutting down")
	ErrTooManyConnections       = errors.New("too many connections")
	ErrTooManyFromIP            = errors.New("too many connections from this IP")
	errHandshake                = errors.New("websocket handshake failed")
	defaultWriteWait            = 10 * time.Second
	defaultPongWait             = 60 * time.Second
	defaultCloseGrace           = time.Second
	defaultOutbox               = 256
	maxLingerBytes        int64 = 1 << 20
	defaultResumeWindow         = 15 * time.Second
)

// IsHandshakeError reports whether Serve failed in the upgrade itself; the
// response has then already been written through Dialect.RefuseHandshake.
func IsHandshakeError(err error) bool { return errors.Is(err, errHandshake) }

// Options configure a Hub. Zero durations take the defaults of SPEC §6
// (write 10 s, pong wait 60 s, ping every 9/10 of the pong wait).
type Options struct {
	MaxConnections      int // 0: no cap
	MaxConnectionsPerIP int // 0: no cap
	Outbox              int // queued messages per session; default 256
	WriteWait           time.Duration
	PongWait            time.Duration
	PingPeriod          time.Duration
	// CloseGrace is how long a closing session waits for the peer's close
	// frame before dropping the TCP connection; default 1 s.
	CloseGrace time.Duration
	Logger     *slog.Logger

	// Test control (faults.go): the journal of connections, the rtc fault
	// rules, and how long a resumable JSON session's participant waits
	// (RESUME_WINDOW; default 15 s). All optional.
	Journal      Journal
	Faults       Faults
	ResumeWindow time.Duration
}

// Hub owns every session: admission, the session set and shutdown.
type Hub struct {
	opts Options
	log  *slog.Logger
	// writeBufs lends write buffers to connections only while they write,
	// so an idle connection holds none.
	writeBufs sync.Pool
	wg        sync.WaitGroup // one per running Serve
	ids       atomic.Uint64  // connection numbers for the journal

	mu       sync.Mutex // guards the fields below
	shutting bool
	total    int            // admitted connections
	perIP    map[string]int // admitted connections per IP
	sessions map[*Session]struct{}
}

// NewHub returns a Hub.
func NewHub(o Options) *Hub {
	if o.WriteWait <= 0 {
		o.WriteWait = defaultWriteWait
	}
	if o.PongWait <= 0 {
		o.PongWait = defaultPongWait
	}
	if o.PingPeriod <= 0 || o.PingPeriod >= o.PongWait {
		o.PingPeriod = o.PongWait * 9 / 10
	}
	if o.CloseGrace <= 0 {
		o.CloseGrace = defaultCloseGrace
	}
	if o.Outbox <= 0 {
		o.Outbox = defaultOutbox
	}
	if o.ResumeWindow <= 0 {
		o.ResumeWindow = defaultResumeWindow
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{opts: o, log: log, perIP: map[string]int{}, sessions: map[*Session]struct{}{}}
}

// Admission is a connection slot taken before the upgrade.
type Admission struct {
	h    *Hub
	ip   string
	once sync.Once
}

// Admit takes a connection slot for ip, or says why not: ErrShuttingDown
// (503), ErrTooManyConnections (503) or ErrTooManyFromIP (429).
func (h *Hub) Admit(ip string) (*Admission, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.shutting:
		return nil, ErrShuttingDown
	case h.opts.MaxConnections > 0 && h.total >= h.opts.MaxConnections:
		return nil, ErrTooManyConnections
	case h.opts.MaxConnectionsPerIP > 0 && h.perIP[ip] >= h.opts.MaxConnectionsPerIP:
		return nil, ErrTooManyFromIP
	}
	h.total++
	h.perIP[ip]++
	return &Admission{h: h, ip: ip}, nil
}

// Release gives the slot back; Serve does it. Later calls do nothing.
func (a *Admission) Release() {
	a.once.Do(func() {
		h := a.h
		h.mu.Lock()
		defer h.mu.Unlock()
		h.total--
		if h.perIP[a.ip]--; h.perIP[a.ip] <= 0 {
			delete(h.perIP, a.ip)
		}
	})
}

// Connections returns the number of admitted connections.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

// Request is one upgrade to serve.
type Request struct {
	Admission *Admission // from Admit; released when Serve returns
	Dialect   Dialect
	// Grant is the token verified from the upgrade request, nil if none.
	Grant *Grant
}

// Serve upgrades the request and starts the session, which runs until the
// socket is done; it returns once the upgrade is over. An error means there
// was no session:
// ErrShuttingDown (nothing written: answer 503) or a handshake failure
// (IsHandshakeError: already answered).
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, req Request) error {
	ip := ""
	if req.Admission != nil {
		ip = req.Admission.ip
	}
	// The session's context belongs to the hub: after the hijack the
	// request's context no longer follows the socket.
	ctx, cancel := context.WithCancel(context.Background())
	s := newSession(ctx, h, ip, req.Grant, req.Dialect)
	s.id = h.ids.Add(1)

	h.mu.Lock()
	if h.shutting {
		h.mu.Unlock()
		cancel()
		if req.Admission != nil {
			req.Admission.Release()
		}
		return ErrShuttingDown
	}
	h.sessions[s] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	done := func() {
		cancel()
		if req.Admission != nil {
			req.Admission.Release()
		}
		h.mu.Lock()
		delete(h.sessions, s)
		h.mu.Unlock()
		h.wg.Done()
	}

	up := websocket.Upgrader{
		HandshakeTimeout:  h.opts.WriteWait,
		EnableCompression: false,
		WriteBufferPool:   &h.writeBufs,
		// A 1 KiB read buffer of its own instead of net/http's 4 KiB one:
		// larger frames are still read whole, through the buffer.
		ReadBufferSize: 1024,
		// The HTTP layer applied RTC_ALLOWED_ORIGINS before calling Serve.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, err error) {
			w.Header().Set("Sec-WebSocket-Version", "13")
			req.Dialect.RefuseHandshake(w, status, handshakeText(status))
		},
	}
	s.watch = &frameWatch{}
	conn, err := up.Upgrade(watchingWriter{ResponseWriter: w, watch: s.watch}, r, nil)
	if err != nil {
		done()
		return fmt.Errorf("%w: %w", errHandshake, err)
	}
	s.record(entryConnectionOpened, map[string]any{})
	// The session runs on goroutines of its own, owned by the hub (Shutdown
	// waits for them), and the HTTP handler returns at once: its goroutine's
	// stack, grown deep by the middleware chain, and net/http's buffers for
	// this request are released instead of being held for the socket's life.
	go func() {
		defer done()
		s.run(conn)
	}()
	return nil
}

func handshakeText(status int) string {
	switch status {
	case http.StatusMethodNotAllowed:
		return "WebSocket upgrade requires GET"
	case http.StatusBadRequest:
		return "Invalid WebSocket handshake"
	}
	return "WebSocket upgrade failed"
}

// Shutdown refuses new upgrades, tells every session server_shutdown (a
// notice, then close 1001) and waits for them until ctx is done; then it
// drops the connections that are left and returns ctx's error.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.shutting = true
	all := make([]*Session, 0, len(h.sessions))
	for s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.End(rooms.ReasonServerShutdown)
	}
	idle := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(idle)
	}()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
	}
	h.mu.Lock()
	for s := range h.sessions {
		s.abort()
	}
	h.mu.Unlock()
	<-idle
	return ctx.Err()
}

// hold lists a session that has no socket of its own, a LiveKit session
// parked for a resume, so that shutdown ends it and waits for it like any
// other; release unlists it. It fails once shutdown has begun.
func (h *Hub) hold(s *Session) (release func(), ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.shutting {
		return nil, false
	}
	h.sessions[s] = struct{}{}
	h.wg.Add(1)
	return func() {
		h.mu.Lock()
		delete(h.sessions, s)
		h.mu.Unlock()
		h.wg.Done()
	}, true
}

// snapshot lists the sessions the hub holds now.
func (h *Hub) snapshot() []*Session {
	h.mu.Lock()
	defer h.mu.Unlock()
	all := make([]*Session, 0, len(h.sessions))
	for s := range h.sessions {
		all = append(all, s)
	}
	return all
}

// setConn records the socket of a session once upgraded; connOf reads it
// from another goroutine (a fault that aborts the connection).
func (h *Hub) setConn(s *Session, conn *websocket.Conn) {
	h.mu.Lock()
	s.conn = conn
	h.mu.Unlock()
}

func (h *Hub) connOf(s *Session) *websocket.Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return s.conn
}

// IsWebSocketUpgrade reports whether r asks for a WebSocket upgrade
// (Connection: upgrade and Upgrade: websocket).
func IsWebSocketUpgrade(r *http.Request) bool { return websocket.IsWebSocketUpgrade(r) }
