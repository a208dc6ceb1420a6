package signal_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/signal/jsonwire"
)

const relayMark = "X-Test-Relay"

// fixedHome sends every room to one home URL ("" keeps them here).
type fixedHome struct{ url string }

func (f fixedHome) Remote(context.Context, string) (string, bool) { return f.url, f.url != "" }
func (f fixedHome) RelayHeader(ip string) http.Header {
	h := http.Header{}
	h.Set(relayMark, "edge")
	h.Set("X-Forwarded-For", ip)
	return h
}

// jsonNode is one instance serving the JSON dialect on a real listener.
type jsonNode struct {
	http    string // base URL
	ws      string // /rtc WebSocket URL
	hub     *signal.Hub
	upgrade chan http.Header // headers of the upgrades it served
	journal chanJournal
}

type journalEntry struct {
	typ, identity string
	detail        map[string]any
}

// chanJournal hands the hub's journal entries to the test; it never blocks.
type chanJournal chan journalEntry

func (j chanJournal) Record(typ, _, identity string, detail map[string]any) {
	select {
	case j <- journalEntry{typ, identity, detail}:
	default:
	}
}

// closedCode waits for the journal's connection_closed of identity.
func (n *jsonNode) closedCode(t *testing.T, identity string) any {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case e := <-n.journal:
			if e.typ == "connection_closed" && e.identity == identity {
				return e.detail["code"]
			}
		case <-deadline.C:
			t.Fatalf("no connection_closed for %s", identity)
		}
	}
}

// startJSON serves the JSON dialect; homes (if any) applies to upgrades
// that are not relayed already, as the HTTP layer does.
func startJSON(t *testing.T, node string, homes signal.Homes) *jsonNode {
	t.Helper()
	reg := rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
	journal := make(chanJournal, 64)
	hub := signal.NewHub(signal.Options{CloseGrace: 200 * time.Millisecond, Journal: journal})
	opts := signal.JSONOptions{Registry: reg, Server: jsonwire.ServerInfo{Node: node, Protocol: 1},
		Limits: signal.Limits{ReadLimit: 64 << 10}}
	relayed := signal.NewJSONDialect(opts)
	opts.Homes = homes
	dialect := signal.NewJSONDialect(opts)
	n := &jsonNode{hub: hub, upgrade: make(chan http.Header, 16), journal: journal}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case n.upgrade <- r.Header.Clone():
		default:
		}
		adm, err := hub.Admit("127.0.0.1")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		d := dialect
		if r.Header.Get(relayMark) != "" {
			d = relayed
		}
		if err := hub.Serve(w, r, signal.Request{Admission: adm, Dialect: d}); errors.Is(err, signal.ErrShuttingDown) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hub.Shutdown(ctx)
		srv.Close()
		reg.Close()
	})
	n.http = srv.URL
	n.ws = "ws" + strings.TrimPrefix(srv.URL, "http") + "/rtc"
	return n
}

func next(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	var m map[string]any
	if err := c.ReadJSON(&m); err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

func nextOf(t *testing.T, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	for {
		if m := next(t, c); m["type"] == typ {
			return m
		}
	}
}

// joinAs dials n, checks the welcome names n, joins room and returns the
// message that answered the join.
func joinAs(t *testing.T, n *jsonNode, node, room, identity string) (*websocket.Conn, map[string]any) {
	t.Helper()
	c := dial(t, n.ws)
	if w := next(t, c); w["type"] != "welcome" || w["serverInfo"].(map[string]any)["node"] != node {
		t.Fatalf("%s's welcome: %v, want one from %s", identity, w, node)
	}
	if err := c.WriteJSON(map[string]any{"type": "join_room", "roomName": room,
		"participant": map[string]any{"identity": identity}}); err != nil {
		t.Fatal(err)
	}
	return c, next(t, c)
}

func who(m map[string]any) any {
	p, _ := m["participant"].(map[string]any)
	return p["identity"]
}

func TestJSONRelayJoin(t *testing.T) {
	home := startJSON(t, "home", nil)
	edge := startJSON(t, "edge", fixedHome{home.http})

	alice, _ := joinAs(t, home, "home", "r", "alice")
	<-home.upgrade
	bob, joined := joinAs(t, edge, "edge", "r", "bob")
	<-edge.upgrade
	// The home's welcome is swallowed: the join's answer comes first.
	if joined["type"] != "room_joined" {
		t.Fatalf("bob's answer to join_room: %v, want room_joined", joined)
	}
	if ps, _ := joined["room"].(map[string]any)["participants"].([]any); !slices.Contains(ps, any("alice")) {
		t.Fatalf("bob's room does not list alice: %v", joined)
	}
	h := <-home.upgrade
	if h.Get(relayMark) != "edge" || h.Get("X-Forwarded-For") != "127.0.0.1" {
		t.Fatalf("the relayed upgrade's header: %v", h)
	}
	if p := nextOf(t, alice, "participant_connected"); who(p) != "bob" {
		t.Fatalf("alice saw %v", p)
	}

	_ = bob.WriteJSON(map[string]any{"type": "send_data", "payload": "from bob"})
	if d := nextOf(t, alice, "data_received"); d["payload"] != "from bob" {
		t.Fatalf("alice got %v", d)
	}
	_ = alice.WriteJSON(map[string]any{"type": "publish_track", "trackKind": "audio"})
	if tr := nextOf(t, bob, "track_subscribed"); tr["track"].(map[string]any)["participant"] != "alice" {
		t.Fatalf("bob got %v", tr)
	}
	// Frames keep their type: JSON in a binary frame is answered too.
	_ = bob.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping","timestamp":7}`))
	if p := nextOf(t, bob, "pong"); p["timestamp"] != float64(7) {
		t.Fatalf("bob's pong: %v", p)
	}
	// A second join goes to the home, which answers it.
	_ = bob.WriteJSON(map[string]any{"type": "join_room", "roomName": "r", "participant": map[string]any{"identity": "bob"}})
	if e := nextOf(t, bob, "error"); e["code"] != jsonwire.CodeAlreadyJoined {
		t.Fatalf("bob's second join: %v", e)
	}

	// Bob closes his socket to the edge with 4001: the home's side closes
	// with 4001 too, and the home drops him.
	_ = bob.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"), time.Now().Add(time.Second))
	if p := nextOf(t, alice, "participant_disconnected"); who(p) != "bob" {
		t.Fatalf("alice saw %v", p)
	}
	if code := home.closedCode(t, "bob"); code != 4001 {
		t.Fatalf("the home's side of bob closed with %v, want 4001", code)
	}
}

// Whichever side ends, the relayed client gets the notice and 1001, and the
// room on the home loses the participant.
func TestJSONRelayEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(home, edge *jsonNode)
	}{
		{"home shuts down", func(home, _ *jsonNode) { shutdown(home.hub) }},
		{"edge shuts down", func(_, edge *jsonNode) { shutdown(edge.hub) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := startJSON(t, "home", nil)
			edge := startJSON(t, "edge", fixedHome{home.http})
			alice, _ := joinAs(t, home, "home", "r", "alice")
			bob, joined := joinAs(t, edge, "edge", "r", "bob")
			if joined["type"] != "room_joined" {
				t.Fatalf("bob: %v", joined)
			}
			nextOf(t, alice, "participant_connected")
			done := make(chan struct{})
			go func() { defer close(done); tc.stop(home, edge) }()
			if d := nextOf(t, bob, "disconnected"); d["reason"] != string(rooms.ReasonServerShutdown) {
				t.Fatalf("bob's notice: %v", d)
			}
			if code := closeCode(t, bob); code != websocket.CloseGoingAway {
				t.Fatalf("bob's close code %d, want 1001", code)
			}
			if tc.name == "edge shuts down" {
				if p := nextOf(t, alice, "participant_disconnected"); who(p) != "bob" {
					t.Fatalf("alice saw %v", p)
				}
			}
			<-done
		})
	}
}

func shutdown(h *signal.Hub) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.Shutdown(ctx)
}

// A home that cannot be reached, or refuses, gets the client an error; the
// session stays open.
func TestJSONRelayHomeUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "too many", http.StatusTooManyRequests)
	}))
	defer refusing.Close()

	for _, tc := range []struct {
		name, home, want string
	}{
		{"nobody listens", gone, "unreachable"},
		{"home refuses", refusing.URL, "(429)"},
		{"not http", "ftp://127.0.0.1:1", "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edge := startJSON(t, "edge", fixedHome{tc.home})
			c, m := joinAs(t, edge, "edge", "r", "bob")
			if m["type"] != "error" || m["code"] != jsonwire.CodeInternal || !strings.Contains(m["error"].(string), tc.want) {
				t.Fatalf("answer to join_room: %v, want an error saying %q", m, tc.want)
			}
			_ = c.WriteJSON(map[string]any{"type": "ping", "timestamp": 1})
			if p := next(t, c); p["type"] != "pong" {
				t.Fatalf("after the refusal: %v", p)
			}
		})
	}
}

// A resumable join relayed to the home is resumed at the home, with the
// home's key. A resume at another instance finds no such participant
// there: it gets the unknown sid's answer, key or not.
func TestJSONRelayResume(t *testing.T) {
	home := startJSON(t, "home", nil)
	edge := startJSON(t, "edge", fixedHome{home.http})
	alice, _ := joinAs(t, home, "home", "r", "alice")

	bob := dial(t, edge.ws)
	next(t, bob) // welcome
	_ = bob.WriteJSON(map[string]any{"type": "join_room", "roomName": "r", "resumable": true, "participant": map[string]any{"identity": "bob"}})
	joined := nextOf(t, bob, "room_joined")
	sid, key := joined["participant"].(map[string]any)["sid"], joined["resumeKey"]
	if k, _ := key.(string); len(k) < 22 {
		t.Fatalf("room_joined through the edge has no resume key: %v", joined)
	}
	nextOf(t, alice, "participant_connected")
	_ = bob.NetConn().Close()
	home.closedCode(t, "bob")

	answer := func(n *jsonNode, msg map[string]any) map[string]any {
		t.Helper()
		c := dial(t, n.ws)
		next(t, c) // welcome
		_ = c.WriteJSON(msg)
		return next(t, c)
	}
	unknown := answer(edge, map[string]any{"type": "resume", "participantSid": "PA_unknown"})
	if got := answer(edge, map[string]any{"type": "resume", "participantSid": sid, "resumeKey": key}); !maps.Equal(got, unknown) || got["code"] != jsonwire.CodeNotFound {
		t.Fatalf("resume at the edge: %v, want the unknown sid's %v", got, unknown)
	}
	if got := answer(home, map[string]any{"type": "resume", "participantSid": sid}); !maps.Equal(got, unknown) {
		t.Fatalf("resume at the home without the key: %v, want %v", got, unknown)
	}
	if got := answer(home, map[string]any{"type": "resume", "participantSid": sid, "resumeKey": key}); got["type"] != "resumed" {
		t.Fatalf("resume at the home with the key: %v", got)
	}
}
