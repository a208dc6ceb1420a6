package signal_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo is a minimal dialect: it echoes text frames and panics on "boom",
// in Message or, for "boom-later", in the encoder on the writer goroutine.
type echo struct{}

func (echo) Name() string                                           { return "echo" }
func (echo) Limits() signal.Limits                                  { return signal.Limits{ReadLimit: 1024} }
func (echo) RefuseHandshake(w http.ResponseWriter, s int, m string) { http.Error(w, m, s) }
func (echo) NewHandler(s *signal.Session) signal.Handler            { return &echoHandler{s: s} }

type echoHandler struct{ s *signal.Session }

func (h *echoHandler) Open() {}
func (h *echoHandler) Message(_ int, data []byte) {
	switch string(data) {
	case "boom":
		panic("handler bug")
	case "boom-later":
		sink := h.s.Sink(func(rooms.Event) (int, []byte, bool) { panic("encoder bug") })
		sink.Send(rooms.Event{})
	default:
		h.s.Send(signal.TextMessage, data)
	}
}
func (h *echoHandler) Notice(reason string) (int, []byte, bool) {
	return signal.TextMessage, []byte("bye " + reason), true
}
func (h *echoHandler) Closed(rooms.Reason) {}

func serve(t *testing.T) (*signal.Hub, string) {
	t.Helper()
	hub := signal.NewHub(signal.Options{CloseGrace: 100 * time.Millisecond})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adm, err := hub.Admit("127.0.0.1")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if err := hub.Serve(w, r, signal.Request{Admission: adm, Dialect: echo{}}); errors.Is(err, signal.ErrShuttingDown) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hub.Shutdown(ctx)
		srv.Close()
	})
	return hub, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c
}

func closeCode(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			t.Fatalf("no close frame: %v", err)
		}
	}
}

// F23: a panic closes that session with 1011 and nothing else.
func TestPanicClosesOnlyThatSession(t *testing.T) {
	for _, trigger := range []string{"boom", "boom-later"} {
		t.Run(trigger, func(t *testing.T) {
			hub, url := serve(t)
			bystander := dial(t, url)
			victim := dial(t, url)
			if err := victim.WriteMessage(websocket.TextMessage, []byte(trigger)); err != nil {
				t.Fatal(err)
			}
			if code := closeCode(t, victim); code != websocket.CloseInternalServerErr {
				t.Errorf("close %d, want 1011", code)
			}
			if err := bystander.WriteMessage(websocket.TextMessage, []byte("still here")); err != nil {
				t.Fatal(err)
			}
			if _, b, err := bystander.ReadMessage(); err != nil || string(b) != "still here" {
				t.Errorf("bystander: %q %v", b, err)
			}
			if n := hub.Connections(); n < 1 {
				t.Errorf("connections = %d", n)
			}
		})
	}
}

func TestShutdownSendsNoticeThenGoingAway(t *testing.T) {
	hub, url := serve(t)
	c := dial(t, url)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- hub.Shutdown(ctx)
	}()
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "bye server_shutdown" {
		t.Fatalf("notice %q %v", b, err)
	}
	if code := closeCode(t, c); code != websocket.CloseGoingAway {
		t.Errorf("close %d, want 1001", code)
	}
	if err := <-done; err != nil {
		t.Error(err)
	}
	if _, err := hub.Admit("127.0.0.1"); !errors.Is(err, signal.ErrShuttingDown) {
		t.Errorf("Admit after Shutdown: %v", err)
	}
}

func TestAdmissionCaps(t *testing.T) {
	hub := signal.NewHub(signal.Options{MaxConnections: 3, MaxConnectionsPerIP: 2})
	a1, _ := hub.Admit("a")
	if _, err := hub.Admit("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Admit("a"); !errors.Is(err, signal.ErrTooManyFromIP) {
		t.Errorf("third from a: %v", err)
	}
	if _, err := hub.Admit("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Admit("c"); !errors.Is(err, signal.ErrTooManyConnections) {
		t.Errorf("fourth in all: %v", err)
	}
	a1.Release()
	a1.Release() // idempotent
	if n := hub.Connections(); n != 2 {
		t.Errorf("connections = %d", n)
	}
	if _, err := hub.Admit("c"); err != nil {
		t.Error(err)
	}
}
