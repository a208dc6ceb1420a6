package livekitmock_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/livekit-mock/livekit-mock/livekitmock"
)

// A server for one test: StartT fails the test if the server cannot start
// and closes it when the test ends. The code under test gets URL, APIKey and
// APISecret, as it would get a LiveKit server's.
func ExampleStartT() {
	testJoin := func(t *testing.T) {
		srv := livekitmock.StartT(t, livekitmock.Config{})
		token, err := srv.Token("standup", "alice")
		if err != nil {
			t.Fatal(err)
		}
		_ = token // hand srv.WSURL() and token to the client under test
	}
	_ = testJoin
}

// Two servers at once, each on a port of its own. A participant joins one of
// them over the JSON dialect with a token minted by the server, and the room
// listing shows it.
func ExampleStart() {
	ctx := context.Background()
	a, err := livekitmock.Start(ctx, livekitmock.Config{})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	b, err := livekitmock.Start(ctx, livekitmock.Config{Settings: map[string]string{"LIVEKIT_API_KEY": "other"}})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	token, _ := a.Token("standup", "alice")
	ws, _, err := websocket.DefaultDialer.Dial(a.WSURL()+"/rtc?access_token="+url.QueryEscape(token), nil)
	if err != nil {
		panic(err)
	}
	defer ws.Close()
	_ = ws.WriteJSON(map[string]any{"type": "join_room", "roomName": "standup", "participant": map[string]string{"identity": "alice"}})
	for {
		var msg struct{ Type string }
		if err := ws.ReadJSON(&msg); err != nil {
			panic(err)
		}
		if msg.Type == "room_joined" {
			break
		}
	}

	resp, err := http.Get(a.URL() + "/api/rooms/standup")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var room struct{ Participants []string }
	_ = json.NewDecoder(resp.Body).Decode(&room)
	fmt.Println(room.Participants, a.URL() != b.URL(), b.APIKey())
	// Output: [alice] true other
}

// Tests wait for what they expect instead of sleeping: here for a fake
// participant the test added itself.
func ExampleAdmin_WaitEvent() {
	srv, err := livekitmock.Start(context.Background(), livekitmock.Config{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	ctx := context.Background()
	_ = srv.Admin().AddParticipant(ctx, "demo", livekitmock.Participant{
		Identity: "bot",
		Tracks:   []livekitmock.Track{{Kind: "audio", Source: "microphone"}},
	})
	ev, err := srv.Admin().WaitEvent(ctx, livekitmock.EventFilter{Type: "track_published", Room: "demo"})
	fmt.Println(ev.Identity, err)
	// Output: bot <nil>
}
