// Package server runs an http.Handler on our own http.Server with the
// timeouts of SPEC §3.6 and shuts it down in order.
package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Options tune the http.Server. Zero values take the defaults.
type Options struct {
	ReadHeaderTimeout time.Duration // default 5 s (slowloris)
	IdleTimeout       time.Duration // default 120 s
	MaxHeaderBytes    int           // default 64 KiB: /rtc/v1?join_request= carries a gzipped SDP
	ShutdownTimeout   time.Duration // default 5 s
}

// Hook is one step of the shutdown. Hooks run in the order they were added,
// each with the shutdown deadline in ctx, while the listener is already closed.
type Hook struct {
	Name string
	Run  func(ctx context.Context)
}

// Server is an http.Server with ordered shutdown hooks.
type Server struct {
	srv     *http.Server
	timeout time.Duration

	mu    sync.Mutex
	hooks []Hook
}

// New builds a Server for h.
func New(h http.Handler, o Options) *Server {
	if o.ReadHeaderTimeout == 0 {
		o.ReadHeaderTimeout = 5 * time.Second
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.MaxHeaderBytes == 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	return &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: o.ReadHeaderTimeout,
			IdleTimeout:       o.IdleTimeout,
			MaxHeaderBytes:    o.MaxHeaderBytes,
			// No WriteTimeout and no ReadTimeout: streaming routes (SSE, long
			// polls, WebSockets) would be cut off. The handler bounds reading
			// each request body and writing its answer per route instead
			// (httpapi's handlerDeadline).
		},
		timeout: o.ShutdownTimeout,
	}
}

// OnShutdown adds a hook.
func (s *Server) OnShutdown(name string, run func(ctx context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, Hook{Name: name, Run: run})
}

// Serve serves on ln until ctx ends, then shuts down: the listener closes,
// the hooks run in order, idle connections close and active requests get
// until the shutdown timeout. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.srv.Shutdown(sctx) }()
	s.mu.Lock()
	hooks := append([]Hook(nil), s.hooks...)
	s.mu.Unlock()
	for _, h := range hooks {
		h.Run(sctx)
	}
	err := <-done
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// Requests still running past the deadline are cut off.
		_ = s.srv.Close()
		return nil
	}
	return err
}
