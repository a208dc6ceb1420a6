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
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/agents"
	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal"
)

func serveAgents(t *testing.T, registerTimeout time.Duration) (*signal.Hub, string) {
	t.Helper()
	hub := signal.NewHub(signal.Options{CloseGrace: 100 * time.Millisecond})
	d := agents.New(agents.Options{Minter: auth.NewIssuer("devkey", "secret", nil)})
	dialect := signal.AgentDialect(signal.AgentOptions{Dispatcher: d, RegisterTimeout: registerTimeout})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adm, err := hub.Admit("127.0.0.1")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if err := hub.Serve(w, r, signal.Request{Admission: adm, Dialect: dialect}); errors.Is(err, signal.ErrShuttingDown) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hub.Shutdown(ctx)
		srv.Close()
		d.Close()
	})
	return hub, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func workerSend(t *testing.T, c *websocket.Conn, m *livekit.WorkerMessage) {
	t.Helper()
	b, _ := proto.Marshal(m)
	if err := c.WriteMessage(websocket.BinaryMessage, b); err != nil {
		t.Fatal(err)
	}
}

func serverMessage(t *testing.T, c *websocket.Conn) *livekit.ServerMessage {
	t.Helper()
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var m livekit.ServerMessage
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestAgentWorkerMustRegisterInTime(t *testing.T) {
	_, url := serveAgents(t, 50*time.Millisecond)
	c := dial(t, url)
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "no register in time" {
		t.Fatalf("want close 1008, got %v", err)
	}
}

func TestAgentWorkerRegisteredStaysAndOutlivesEndAll(t *testing.T) {
	hub, url := serveAgents(t, 50*time.Millisecond)
	c := dial(t, url)
	workerSend(t, c, &livekit.WorkerMessage{Message: &livekit.WorkerMessage_Register{Register: &livekit.RegisterWorkerRequest{}}})
	if reg := serverMessage(t, c).GetRegister(); !strings.HasPrefix(reg.GetWorkerId(), "AW_") {
		t.Fatalf("register answer: %v", reg)
	}
	time.Sleep(100 * time.Millisecond) // past the register timeout: it no longer applies
	if n := hub.EndAll(rooms.ReasonRoomDeleted); n != 0 {
		t.Fatalf("EndAll ended %d sessions, the worker among them", n)
	}
	workerSend(t, c, &livekit.WorkerMessage{Message: &livekit.WorkerMessage_Ping{Ping: &livekit.WorkerPing{Timestamp: 7}}})
	if pong := serverMessage(t, c).GetPong(); pong.GetLastTimestamp() != 7 || pong.GetTimestamp() == 0 {
		t.Fatalf("pong: %v", pong)
	}
	workerSend(t, c, &livekit.WorkerMessage{Message: &livekit.WorkerMessage_Register{Register: &livekit.RegisterWorkerRequest{}}})
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "already registered" {
		t.Fatalf("second register: %v", err)
	}
}
