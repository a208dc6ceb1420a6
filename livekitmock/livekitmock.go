// Package livekitmock runs a stand-in for a LiveKit server inside a Go
// program: the same server as the livekit-mock binary, started on a free
// port of 127.0.0.1 and gone when closed, the way net/http/httptest starts
// an HTTP server for a test.
//
// A test starts one with StartT (or Start and Close), points its code under
// test at URL or WSURL with the key pair of APIKey and APISecret, mints
// participant tokens with Token, and drives or inspects the server through
// Admin: reset between tests, wait for journal events instead of sleeping,
// add fake participants.
//
// Several servers run in one process at once; none of them touches the
// process environment or any global state.
package livekitmock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/internal/server"
)

// Config configures a server. The zero Config is the binary's defaults,
// except that it listens on a free port of 127.0.0.1 with a free UDP port for
// media.
type Config struct {
	// Settings are the server's settings by the names of the binary's
	// environment variables ("LIVEKIT_API_KEY", "ROOM_DEPARTURE_TIMEOUT",
	// "MAX_PARTICIPANTS", ...). Absent ones take their defaults; PORT
	// defaults to 0 (a free port). The process environment is never read.
	// An unknown name or a bad value makes Start fail, naming it.
	Settings map[string]string

	// Log receives the server's log lines (LOG_FORMAT, LOG_LEVEL); nil
	// discards them.
	Log io.Writer
}

// Server is a running server. Its methods are safe for concurrent use.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	srv     *server.Server
	ln      net.Listener
	issuer  *auth.Issuer
	udpPort int
	started time.Time

	cancel    context.CancelFunc
	stopAfter func() bool   // unregisters the stop on Start's ctx
	done      chan struct{} // closed when serving and shutdown have ended
	serveErr  error         // set before done closes

	closeOnce sync.Once
	closeErr  error
	admin     *Admin
}

// Start builds a server from cfg and starts serving; it returns once the
// server accepts connections. Cancelling ctx stops the server as Close does;
// Close must still be called to wait for it.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	settings := map[string]string{"PORT": "0"}
	for k, v := range cfg.Settings {
		settings[k] = v
	}
	c, err := config.FromSettings(settings)
	if err == nil {
		err = c.Resolve() // the host: addresses, host name, media directory
	}
	if err != nil {
		return nil, fmt.Errorf("livekitmock: %w", err)
	}
	s, err := build(ctx, c, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("livekitmock: %w", err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel, s.done = cancel, make(chan struct{})
	s.stopAfter = context.AfterFunc(ctx, cancel)
	go func() {
		defer close(s.done)
		s.serveErr = s.srv.Serve(sctx, s.ln)
		s.log.Info("livekit-mock stopped")
	}()
	s.admin = &Admin{base: s.URL(), hc: &http.Client{}}
	return s, nil
}

// StartT starts a server for a test or benchmark: it fails tb when the
// server cannot start and closes the server when tb ends.
func StartT(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := Start(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("livekitmock: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("livekitmock: close: %v", err)
		}
	})
	return s
}

// URL is the server's HTTP base URL, such as http://127.0.0.1:43117: the
// token service, RoomService (/twirp), /api/rooms and /__admin live under it.
func (s *Server) URL() string { return "http://" + s.hostPort() }

// WSURL is the URL LiveKit clients connect to, such as ws://127.0.0.1:43117.
func (s *Server) WSURL() string { return "ws://" + s.hostPort() }

func (s *Server) hostPort() string {
	a, ok := s.ln.Addr().(*net.TCPAddr)
	if !ok {
		return s.ln.Addr().String()
	}
	host := a.IP.String()
	if a.IP.IsUnspecified() { // listening everywhere: reach it on loopback
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(a.Port))
}

// UDPPort is the one UDP port that carries every participant's media.
func (s *Server) UDPPort() int { return s.udpPort }

// APIKey is the key tokens are minted with (LIVEKIT_API_KEY, "devkey" by
// default).
func (s *Server) APIKey() string { return s.cfg.APIKey }

// APISecret is the secret that goes with APIKey (LIVEKIT_API_SECRET,
// "secret" by default): give both to a LiveKit server SDK.
func (s *Server) APISecret() string { return s.cfg.APISecret }

// Token mints a participant token for room and identity with the grants a
// client needs to join, publish, subscribe and send data, valid for an hour.
func (s *Server) Token(room, identity string) (string, error) {
	tok, _, err := s.issuer.Mint(auth.Claims{Identity: identity, Name: identity, Video: &auth.VideoGrant{
		Room: room, RoomJoin: true, CanPublish: auth.Bool(true), CanSubscribe: auth.Bool(true),
		CanPublishData: auth.Bool(true),
	}}, time.Hour)
	return tok, err
}

// AdminToken mints a token for the server APIs (RoomService and
// AgentDispatchService): create, list and administer every room.
func (s *Server) AdminToken() (string, error) {
	tok, _, err := s.issuer.Mint(auth.Claims{Identity: "livekitmock-admin", Video: &auth.VideoGrant{
		RoomCreate: true, RoomList: true, RoomAdmin: true,
	}}, time.Hour)
	return tok, err
}

// Admin is the client of the server's test-control API.
func (s *Server) Admin() *Admin { return s.admin }

// Close stops the server: sessions are told and closed, rooms end, and every
// goroutine the server started has returned when Close returns. It is safe to
// call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stopAfter()
		s.cancel()
		<-s.done
		if s.serveErr != nil && !errors.Is(s.serveErr, http.ErrServerClosed) {
			s.closeErr = s.serveErr
		}
		s.admin.hc.CloseIdleConnections()
	})
	return s.closeErr
}

// Done is closed once the server has stopped (Close, or Start's ctx ended)
// and shut down.
func (s *Server) Done() <-chan struct{} { return s.done }

// Version is the LiveKit server version the mock reports to clients.
const Version = version
