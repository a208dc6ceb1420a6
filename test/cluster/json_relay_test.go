package cluster_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// readNext reads the next JSON message, within 10 s.
func readNext(t *testing.T, conn *websocket.Conn) map[string]any {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m map[string]any
	if err := conn.ReadJSON(&m); err != nil {
		t.Fatalf("reading the next message: %v", err)
	}
	return m
}

func identityOf(m map[string]any) any {
	p, _ := m["participant"].(map[string]any)
	return p["identity"]
}

func joinTokenless(t *testing.T, conn *websocket.Conn, room, identity string) map[string]any {
	t.Helper()
	if err := conn.WriteJSON(map[string]any{"type": "join_room", "roomName": room,
		"participant": map[string]any{"identity": identity}}); err != nil {
		t.Fatal(err)
	}
	// The next message is the room: a relayed session never shows the
	// home's welcome.
	m := readNext(t, conn)
	if m["type"] != "room_joined" {
		t.Fatalf("%s's answer to join_room: %v, want room_joined", identity, m)
	}
	return m
}

// TestJSONJoinRelay: JSON-dialect clients without a token name their room
// only in join_room; whichever instance they reach, they meet in one room
// on its home instance.
func TestJSONJoinRelay(t *testing.T) {
	t.Parallel()
	bin := needTools(t)
	rds := startRedis(t)
	a := startInstance(t, bin, "a", rds.url())
	b := startInstance(t, bin, "b", rds.url())
	c := client(t)

	alice := dialWS(t, a, "")
	if w := readUntil(t, alice, "welcome"); w["serverInfo"].(map[string]any)["node"] != "a" {
		t.Fatalf("alice's welcome: %v", w)
	}
	joinTokenless(t, alice, "tokenless", "alice")

	bob := dialWS(t, b, "")
	if w := readUntil(t, bob, "welcome"); w["serverInfo"].(map[string]any)["node"] != "b" {
		t.Fatalf("bob's welcome: %v", w)
	}
	joined := joinTokenless(t, bob, "tokenless", "bob")
	if ps, _ := joined["room"].(map[string]any)["participants"].([]any); !slices.Contains(ps, any("alice")) {
		t.Fatalf("bob's room_joined (through b) does not list alice: %v", joined)
	}
	if p := readUntil(t, alice, "participant_connected"); identityOf(p) != "bob" {
		t.Fatalf("alice saw %v", p)
	}

	// Tracks and data, both ways.
	_ = alice.WriteJSON(map[string]any{"type": "publish_track", "trackKind": "audio", "trackName": "mic"})
	if tr := readUntil(t, bob, "track_subscribed"); tr["track"].(map[string]any)["participant"] != "alice" {
		t.Fatalf("bob got %v", tr)
	}
	_ = bob.WriteJSON(map[string]any{"type": "publish_track", "trackKind": "video", "trackName": "cam"})
	if tr := readUntil(t, alice, "track_subscribed"); tr["track"].(map[string]any)["participant"] != "bob" {
		t.Fatalf("alice got %v", tr)
	}
	_ = bob.WriteJSON(map[string]any{"type": "send_data", "payload": "hello through b"})
	if d := readUntil(t, alice, "data_received"); d["payload"] != "hello through b" || d["from"] != "bob" {
		t.Fatalf("alice got %v", d)
	}
	_ = alice.WriteJSON(map[string]any{"type": "send_data", "payload": "hello from a"})
	if d := readUntil(t, bob, "data_received"); d["payload"] != "hello from a" || d["from"] != "alice" {
		t.Fatalf("bob got %v", d)
	}
	// The JSON ping is answered (by the home, through b).
	_ = bob.WriteJSON(map[string]any{"type": "ping", "timestamp": 1})
	readUntil(t, bob, "pong")

	// One room, homed on a, with both; b hosts no copy.
	got := do(t, c, "GET", a.base+"/api/rooms/tokenless", "")
	if got.status != 200 || got.body["instance"] != "a" || got.body["numParticipants"] != float64(2) {
		t.Fatalf("GET /api/rooms/tokenless on a: %d %s", got.status, got.raw)
	}
	// b answers for it too, at once (it asks the home; no heartbeat needed).
	got = do(t, c, "GET", b.base+"/api/rooms/tokenless", "")
	if got.status != 200 || got.body["instance"] != "a" || got.body["numParticipants"] != float64(2) {
		t.Fatalf("GET /api/rooms/tokenless on b: %d %s", got.status, got.raw)
	}
	// And acts on it: the RoomService on b reaches the room on a.
	admin := serverToken(t, "tokenless")
	if got := twirp(t, c, b, admin, "ListParticipants", `{"room":"tokenless"}`); got.status != 200 || !strings.Contains(got.raw, `"identity":"alice"`) {
		t.Fatalf("ListParticipants on b: %d %s", got.status, got.raw)
	}
	if got := twirp(t, c, b, admin, "SendData", `{"room":"tokenless","data":"aGk=","kind":"RELIABLE","destination_identities":["alice"]}`); got.status != 200 {
		t.Fatalf("SendData on b: %d %s", got.status, got.raw)
	}
	if d := readUntil(t, alice, "data_received"); d["payload"] != "hi" {
		t.Fatalf("alice got %v from the server's SendData on b", d)
	}
	waitUntil(t, 10*time.Second, "b lists the room once, on a", func() bool {
		rs := roomsOf(t, c, b)
		return len(rs) == 1 && rs["tokenless"] == "a"
	})

	// Bob leaves on b: a tells alice.
	_ = bob.WriteJSON(map[string]any{"type": "leave_room"})
	readUntil(t, bob, "room_left")
	if p := readUntil(t, alice, "participant_disconnected"); identityOf(p) != "bob" {
		t.Fatalf("alice saw %v", p)
	}

	// Carol closes her socket to b with 1000: she leaves the room on a.
	carol := dialWS(t, b, "")
	readUntil(t, carol, "welcome")
	joinTokenless(t, carol, "tokenless", "carol")
	if p := readUntil(t, alice, "participant_connected"); identityOf(p) != "carol" {
		t.Fatalf("alice saw %v", p)
	}
	_ = carol.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"),
		time.Now().Add(time.Second))
	if p := readUntil(t, alice, "participant_disconnected"); identityOf(p) != "carol" {
		t.Fatalf("alice saw %v", p)
	}

	// Dave is relayed through b; b shuts down: dave gets server_shutdown
	// and 1001, and leaves the room on a.
	dave := dialWS(t, b, "")
	readUntil(t, dave, "welcome")
	joinTokenless(t, dave, "tokenless", "dave")
	if p := readUntil(t, alice, "participant_connected"); identityOf(p) != "dave" {
		t.Fatalf("alice saw %v", p)
	}
	b.stop(t)
	if d := readUntil(t, dave, "disconnected"); d["reason"] != "server_shutdown" {
		t.Fatalf("dave's notice: %v", d)
	}
	_ = dave.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := dave.ReadMessage()
	if ce := (*websocket.CloseError)(nil); !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("dave's socket after b stopped: %v, want close 1001", err)
	}
	if p := readUntil(t, alice, "participant_disconnected"); identityOf(p) != "dave" {
		t.Fatalf("alice saw %v", p)
	}
}

// TestJSONJoinRelayHomeLeaves: when the home ends the relayed session, the
// client sees the home's notice and close code through the relaying
// instance.
func TestJSONJoinRelayHomeLeaves(t *testing.T) {
	t.Parallel()
	bin := needTools(t)
	rds := startRedis(t)
	a := startInstance(t, bin, "a", rds.url())
	b := startInstance(t, bin, "b", rds.url())

	alice := dialWS(t, a, "")
	readUntil(t, alice, "welcome")
	joinTokenless(t, alice, "going", "alice")
	bob := dialWS(t, b, "")
	readUntil(t, bob, "welcome")
	joinTokenless(t, bob, "going", "bob")

	a.stop(t)
	if d := readUntil(t, bob, "disconnected"); d["reason"] != "server_shutdown" {
		t.Fatalf("bob's notice: %v", d)
	}
	_ = bob.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := bob.ReadMessage()
	if ce := (*websocket.CloseError)(nil); !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("bob's socket after a stopped: %v, want close 1001", err)
	}
}

// serverToken signs a RoomService token (roomAdmin, roomList for room) with
// the instances' default key pair.
func serverToken(t *testing.T, room string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(map[string]any{
		"iss": "devkey", "sub": "svc", "exp": time.Now().Add(time.Hour).Unix(),
		"video": map[string]any{"roomAdmin": true, "roomList": true, "room": room},
	})
	m := hmac.New(sha256.New, []byte("secret"))
	m.Write([]byte(head))
	return head + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// twirp calls a RoomService method on in with a Bearer token.
func twirp(t *testing.T, c *http.Client, in *instance, token, method, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, in.base+"/twirp/livekit.RoomService/"+method, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, raw: string(raw)}
}
