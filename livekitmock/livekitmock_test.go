package livekitmock_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/livekit-mock/livekit-mock/livekitmock"
)

// Two servers started, used and closed leave no goroutine behind.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 2 {
		var servers []*livekitmock.Server
		for range 2 {
			s, err := livekitmock.Start(context.Background(), livekitmock.Config{})
			if err != nil {
				t.Fatal(err)
			}
			servers = append(servers, s)
		}
		for _, s := range servers {
			token, _ := s.Token("r", "alice")
			ws, _, err := websocket.DefaultDialer.Dial(s.WSURL()+"/rtc?access_token="+url.QueryEscape(token), nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = ws.WriteJSON(map[string]any{"type": "join_room", "roomName": "r", "participant": map[string]string{"identity": "alice"}})
			if _, err := s.Admin().WaitEvent(context.Background(), livekitmock.EventFilter{Type: "participant_joined", Room: "r", Identity: "alice"}); err != nil {
				t.Fatal(err)
			}
			_ = s.Admin().AddParticipant(context.Background(), "r", livekitmock.Participant{Identity: "bot", Tracks: []livekitmock.Track{{Kind: "audio"}}})
			defer ws.Close()
		}
		for _, s := range servers {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil { // twice is fine
				t.Fatal(err)
			}
		}
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// Cancelling Start's context stops the server.
func TestStartContextStopsTheServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := livekitmock.Start(ctx, livekitmock.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop with its context")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.URL() + "/health"); err == nil {
		t.Fatal("a stopped server still answers")
	}
}

// Settings are checked as the binary checks its environment: an unknown
// name or a bad value is refused, naming it.
func TestBadSettingsNameTheVariable(t *testing.T) {
	for setting, want := range map[string]string{"ROOM_EMPTY_TIEMOUT": "ROOM_EMPTY_TIEMOUT", "MAX_PARTICIPANTS": "MAX_PARTICIPANTS"} {
		_, err := livekitmock.Start(context.Background(), livekitmock.Config{Settings: map[string]string{setting: "lots"}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=lots: %v", setting, err)
		}
	}
}

// The settings reach the server: here the per-room cap.
func TestSettingsApply(t *testing.T) {
	s := livekitmock.StartT(t, livekitmock.Config{Settings: map[string]string{"MAX_PARTICIPANTS": "1"}})
	ctx := context.Background()
	if err := s.Admin().AddParticipant(ctx, "r", livekitmock.Participant{Identity: "one"}); err != nil {
		t.Fatal(err)
	}
	err := s.Admin().AddParticipant(ctx, "r", livekitmock.Participant{Identity: "two"})
	var e *livekitmock.Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden || !strings.Contains(e.Message, "full") {
		t.Fatalf("second participant of a room capped at 1: %v", err)
	}
}

// A wait that runs out is a timeout error, not a hang.
func TestWaitEventTimesOut(t *testing.T) {
	s := livekitmock.StartT(t, livekitmock.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := s.Admin().WaitEvent(ctx, livekitmock.EventFilter{Type: "participant_joined", Room: "nobody"})
	var e *livekitmock.Error
	if !errors.As(err, &e) || e.Status != http.StatusRequestTimeout {
		t.Fatalf("wait with nothing to wait for: %v", err)
	}
	if err := s.Admin().Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A scripted agent added from Go speaks on demand; the journal says when it
// has. A bad script is refused naming the field; a bad AGENT_DEFAULT stops
// the start.
func TestScriptedAgentFromGo(t *testing.T) {
	s := livekitmock.StartT(t, livekitmock.Config{})
	ctx := context.Background()
	a := s.Admin()
	err := a.AddParticipant(ctx, "r", livekitmock.Participant{Identity: "assistant", Kind: "agent",
		Agent: &livekitmock.AgentScript{Replies: []livekitmock.AgentReply{{When: "x"}}}})
	var e *livekitmock.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !strings.Contains(e.Message, "agent.replies[0].say") {
		t.Fatalf("bad script: %v", err)
	}
	if err := a.AddParticipant(ctx, "r", livekitmock.Participant{Identity: "assistant", Kind: "agent",
		Agent: &livekitmock.AgentScript{Greeting: "Hi"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Say(ctx, "r", "assistant", "Ready when you are."); err != nil {
		t.Fatal(err)
	}
	ev, err := a.WaitEvent(ctx, livekitmock.EventFilter{Type: "agent_said", Room: "r"})
	if err != nil || ev.Detail["text"] != "Ready when you are." {
		t.Fatalf("agent_said: %+v, %v", ev, err)
	}
	if _, err := livekitmock.Start(ctx, livekitmock.Config{Settings: map[string]string{"AGENT_DEFAULT": "nobody"}}); err == nil || !strings.Contains(err.Error(), "AGENT_DEFAULT") {
		t.Fatalf("AGENT_DEFAULT=nobody: %v", err)
	}
}
