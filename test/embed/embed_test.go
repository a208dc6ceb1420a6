// Package embed is a module of its own that uses livekit-mock the way a Go
// team's backend tests would: through the public livekitmock package, with a
// replace directive pointing at this checkout.
package embed

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/livekit-mock/livekit-mock/livekitmock"
)

// Two servers at once with a zero Config: mint a token, join the JSON
// dialect, see the participant in /api/rooms/:room, close both, and the
// goroutine count is back within 3 s.
func TestTwoServersFromAnotherModule(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx := context.Background()
	var servers []*livekitmock.Server
	for range 2 {
		s, err := livekitmock.Start(ctx, livekitmock.Config{})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, s)
	}
	if servers[0].URL() == servers[1].URL() {
		t.Fatal("two servers on one address")
	}
	var conns []*websocket.Conn
	for i, s := range servers {
		identity := []string{"alice", "bob"}[i]
		token, err := s.Token("standup", identity)
		if err != nil {
			t.Fatal(err)
		}
		ws, _, err := websocket.DefaultDialer.Dial(s.WSURL()+"/rtc?access_token="+url.QueryEscape(token), nil)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, ws)
		if err := ws.WriteJSON(map[string]any{"type": "join_room", "roomName": "standup", "participant": map[string]string{"identity": identity}}); err != nil {
			t.Fatal(err)
		}
		for {
			var msg struct{ Type, Error string }
			if err := ws.ReadJSON(&msg); err != nil {
				t.Fatal(err)
			}
			if msg.Type == "error" {
				t.Fatal(msg.Error)
			}
			if msg.Type == "room_joined" {
				break
			}
		}
		resp, err := http.Get(s.URL() + "/api/rooms/standup")
		if err != nil {
			t.Fatal(err)
		}
		var room struct{ Participants []string }
		err = json.NewDecoder(resp.Body).Decode(&room)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !slices.Equal(room.Participants, []string{identity}) {
			t.Fatalf("server %d: %d %v %v", i, resp.StatusCode, room.Participants, err)
		}
	}
	for _, ws := range conns {
		ws.Close()
	}
	for _, s := range servers {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d 3 s after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
