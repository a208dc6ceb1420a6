package httpapi

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/signal/jsonwire"
)

// wait is the deadline of every wait in these tests; nothing normally takes
// more than milliseconds.
const wait = 5 * time.Second

// events records what the registry's observer sees, so tests wait on an
// event instead of sleeping.
type events struct {
	mu   sync.Mutex
	list []rooms.Event
	ch   chan struct{}
}

func (e *events) Observe(ev rooms.Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	close(e.ch)
	e.ch = make(chan struct{})
	e.mu.Unlock()
}

// waitFor waits until pred holds for some event seen so far.
func (e *events) waitFor(t *testing.T, what string, pred func(rooms.Event) bool) rooms.Event {
	t.Helper()
	timeout := time.After(wait)
	for {
		e.mu.Lock()
		for _, ev := range e.list {
			if pred(ev) {
				e.mu.Unlock()
				return ev
			}
		}
		ch := e.ch
		e.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("no %s event within %v", what, wait)
		}
	}
}

type rtcEnv struct {
	srv    *httptest.Server
	hub    *signal.Hub
	reg    *rooms.Registry
	cfg    *config.Config
	issuer *auth.Issuer
	ev     *events
	clock  *atomic.Int64 // verifier time, Unix seconds
}

// startRTC serves /rtc and /api/rooms on a real listener. Cleanup shuts the
// hub, the server and the registry down, then checks for leaked goroutines.
func startRTC(t *testing.T, env map[string]string, hubOpts signal.Options) *rtcEnv {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	cfg := testConfig(t, env)
	e := &rtcEnv{cfg: cfg, ev: &events{ch: make(chan struct{})}, clock: &atomic.Int64{}}
	e.clock.Store(time.Now().Unix())
	now := func() time.Time { return time.Unix(e.clock.Load(), 0) }
	e.issuer = auth.NewIssuer(cfg.APIKey, cfg.APISecret, time.Now)
	e.reg = rooms.NewRegistry(rooms.Options{
		EmptyTimeout: cfg.RoomEmptyTimeout, DepartureTimeout: cfg.RoomDepartureTimeout,
		MaxParticipants: cfg.MaxParticipants, IDs: ids.New(nil), Observer: e.ev,
	})
	hubOpts.MaxConnections = cfg.RTCMaxConnections
	hubOpts.MaxConnectionsPerIP = cfg.RTCMaxConnectionsPerIP
	if hubOpts.Outbox == 0 {
		hubOpts.Outbox = cfg.RTCOutbox
	}
	e.hub = signal.NewHub(hubOpts)

	// The whole HTTP surface (routes.go), so the real middleware applies.
	verifier := auth.NewVerifier(cfg.Keys, now)
	e.srv = serveDeps(t, cfg, nil, Deps{
		Logger: slog.New(slog.DiscardHandler), Issuer: e.issuer, Verifier: verifier, Registry: e.reg, Hub: e.hub,
		RTC: rtcEndpoint(cfg, e.hub, e.reg, verifier, nil),
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = e.hub.Shutdown(ctx)
		e.srv.Close()
		e.reg.Close()
	})
	return e
}

func (e *rtcEnv) wsURL(query string) string {
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/rtc"
	if query != "" {
		u += "?" + query
	}
	return u
}

func (e *rtcEnv) token(t *testing.T, room, identity string, video *auth.VideoGrant) string {
	t.Helper()
	if video == nil {
		video = &auth.VideoGrant{RoomJoin: true, Room: room}
	}
	tok, _, err := e.issuer.Mint(auth.Claims{Identity: identity, Name: identity, Video: video}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// client is one WebSocket client; it reads on the test goroutine.
type client struct {
	t    *testing.T
	c    *websocket.Conn
	name string
}

func (e *rtcEnv) dial(t *testing.T, query string, hdr http.Header) (*client, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: wait}
	c, resp, err := d.Dial(e.wsURL(query), hdr)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { _ = c.Close() })
	cl := &client{t: t, c: c}
	cl.expect("welcome")
	return cl, resp, nil
}

func (e *rtcEnv) connect(t *testing.T) *client {
	t.Helper()
	c, _, err := e.dial(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// joined connects and joins room as identity.
func (e *rtcEnv) joined(t *testing.T, room, identity string) *client {
	t.Helper()
	c := e.connect(t)
	c.name = identity
	c.send(map[string]any{"type": "join_room", "roomName": room, "participant": map[string]any{"identity": identity, "name": strings.ToUpper(identity)}})
	c.expect("room_joined")
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(websocket.TextMessage, b)
}

func (c *client) sendRaw(mt int, b []byte) {
	c.t.Helper()
	_ = c.c.SetWriteDeadline(time.Now().Add(wait))
	if err := c.c.WriteMessage(mt, b); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// next reads the next message.
func (c *client) next() map[string]any {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(wait))
	_, b, err := c.c.ReadMessage()
	if err != nil {
		c.t.Fatalf("%s: read: %v", c.name, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("%s: not a JSON object: %s", c.name, b)
	}
	return m
}

// expect reads the next message and checks its type.
func (c *client) expect(typ string) map[string]any {
	c.t.Helper()
	m := c.next()
	if m["type"] != typ {
		c.t.Fatalf("%s: got %v, want type %q", c.name, m, typ)
	}
	return m
}

// expectError reads an error message and checks its code; then checks the
// connection is still usable.
func (c *client) expectError(code string) map[string]any {
	c.t.Helper()
	m := c.expect("error")
	if m["code"] != code {
		c.t.Fatalf("%s: error %v, want code %q", c.name, m, code)
	}
	if s, _ := m["error"].(string); s == "" {
		c.t.Fatalf("%s: error without a sentence: %v", c.name, m)
	}
	c.send(map[string]any{"type": "ping", "timestamp": 7})
	if p := c.expect("pong"); p["timestamp"] != float64(7) {
		c.t.Fatalf("pong %v", p)
	}
	return m
}

// closed reads until the connection ends and returns the close code
// (1006 when it ended without a close frame).
func (c *client) closed() (int, string) {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		_ = c.c.SetReadDeadline(deadline)
		if _, _, err := c.c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Text
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("%s: connection still open after %v", c.name, wait)
			}
			return websocket.CloseAbnormalClosure, err.Error()
		}
	}
	c.t.Fatalf("%s: connection still open after %v", c.name, wait)
	return 0, ""
}

func obj(t *testing.T, v any, key string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)[key].(map[string]any)
	if !ok {
		t.Fatalf("%s is not an object in %v", key, v)
	}
	return m
}

// The rows of SPEC §6.1, in one conversation between alice, bob and carol.
func TestJSONDialectTable(t *testing.T) {
	e := startRTC(t, nil, signal.Options{})
	alice := e.joined(t, "r", "alice")
	bob := e.connect(t)
	bob.name = "bob"
	bob.send(map[string]any{"type": "join_room", "roomName": "r", "participant": map[string]any{"identity": "bob", "name": "Bob", "metadata": `{"role":"hr"}`}})
	rj := bob.expect("room_joined")
	room := obj(t, rj, "room")
	if room["name"] != "r" || !strings.HasPrefix(room["sid"].(string), "RM_") || room["metadata"] != "" {
		t.Errorf("room = %v", room)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", room["createdAt"].(string)); err != nil {
		t.Errorf("createdAt %v: %v", room["createdAt"], err)
	}
	if fmt.Sprint(room["participants"]) != "[alice bob]" {
		t.Errorf("participants = %v", room["participants"])
	}
	self := obj(t, rj, "participant")
	if self["identity"] != "bob" || self["name"] != "Bob" || self["metadata"] != `{"role":"hr"}` || !strings.HasPrefix(self["sid"].(string), "PA_") {
		t.Errorf("participant = %v", self)
	}
	others := rj["others"].([]any)
	if len(others) != 1 || others[0].(map[string]any)["identity"] != "alice" {
		t.Errorf("others = %v", others)
	}
	pc := alice.expect("participant_connected")
	if obj(t, pc, "participant")["identity"] != "bob" {
		t.Errorf("participant_connected = %v", pc)
	}
	carol := e.joined(t, "r", "carol")
	alice.expect("participant_connected")
	bob.expect("participant_connected")

	// publish_track
	alice.send(map[string]any{"type": "publish_track", "trackKind": "audio", "trackName": "mic", "source": "microphone"})
	pub := obj(t, alice.expect("track_published"), "track")
	sub := obj(t, bob.expect("track_subscribed"), "track")
	carol.expect("track_subscribed")
	tid, _ := pub["id"].(string)
	if !strings.HasPrefix(tid, "TR_") || pub["sid"] != tid || pub["kind"] != "audio" || pub["name"] != "mic" ||
		pub["source"] != "microphone" || pub["muted"] != false || pub["participant"] != "alice" {
		t.Errorf("track = %v", pub)
	}
	if fmt.Sprint(pub) != fmt.Sprint(sub) {
		t.Errorf("track_subscribed %v differs from track_published %v", sub, pub)
	}

	// mute_track
	alice.send(map[string]any{"type": "mute_track", "trackId": tid, "muted": true})
	for _, c := range []*client{alice, bob, carol} {
		if m := c.expect("track_muted"); m["trackId"] != tid || m["muted"] != true {
			t.Errorf("%s: track_muted = %v", c.name, m)
		}
	}

	// unsubscribe_track: the sender only
	bob.send(map[string]any{"type": "unsubscribe_track", "trackId": tid})
	if m := bob.expect("track_unsubscribed"); m["trackId"] != tid {
		t.Errorf("track_unsubscribed = %v", m)
	}

	// update_metadata
	bob.send(map[string]any{"type": "update_metadata", "metadata": "m2", "name": "Bobby", "attributes": map[string]string{"k": "v"}})
	for _, c := range []*client{bob, alice, carol} {
		p := obj(t, c.expect("participant_updated"), "participant")
		if p["identity"] != "bob" || p["metadata"] != "m2" || p["name"] != "Bobby" || fmt.Sprint(p["attributes"]) != "map[k:v]" {
			t.Errorf("%s: participant_updated = %v", c.name, p)
		}
	}

	// send_data, to everyone and to a destination; binary from nobody here.
	alice.send(map[string]any{"type": "send_data", "payload": "hello", "topic": "chat"})
	for _, c := range []*client{bob, carol} {
		if m := c.expect("data_received"); m["from"] != "alice" || m["payload"] != "hello" || m["topic"] != "chat" {
			t.Errorf("%s: data_received = %v", c.name, m)
		}
	}
	alice.send(map[string]any{"type": "send_data", "payload": "/w8=", "encoding": "base64", "destinationIdentities": []string{"carol"}})
	if m := carol.expect("data_received"); m["payload"] != "/w8=" || m["encoding"] != "base64" {
		t.Errorf("binary data_received = %v", m)
	}

	// unpublish_track
	alice.send(map[string]any{"type": "unpublish_track", "trackId": tid})
	if m := alice.expect("track_unpublished"); m["trackId"] != tid {
		t.Errorf("sender track_unpublished = %v", m)
	}
	// bob's next message proves he got no data meant for carol.
	if m := bob.expect("track_unpublished"); m["trackId"] != tid || m["participant"] != "alice" {
		t.Errorf("others track_unpublished = %v", m)
	}
	carol.expect("track_unpublished")

	// ping
	bob.send(map[string]any{"type": "ping"})
	if m := bob.expect("pong"); m["timestamp"] == nil || m["serverTime"] == nil {
		t.Errorf("pong = %v", m)
	}

	// leave_room keeps the socket open; the client may join again.
	bob.send(map[string]any{"type": "leave_room"})
	bob.expect("room_left")
	for _, c := range []*client{alice, carol} {
		m := c.expect("participant_disconnected")
		if obj(t, m, "participant")["identity"] != "bob" || m["reason"] != "left" {
			t.Errorf("%s: participant_disconnected = %v", c.name, m)
		}
	}
	if info, _ := e.reg.Get("r"); len(info.Participants) != 2 {
		t.Errorf("room still lists %d participants", len(info.Participants))
	}
	bob.send(map[string]any{"type": "join_room", "roomName": "r", "participant": map[string]any{"identity": "bob"}})
	bob.expect("room_joined")
	alice.expect("participant_connected")
}

// Every error code of SPEC §6.1 (and F2–F9, F25, F26); each keeps the
// connection open (expectError pings afterwards).
func TestJSONErrors(t *testing.T) {
	e := startRTC(t, map[string]string{"MAX_PARTICIPANTS": "1"}, signal.Options{})
	full := e.joined(t, "full", "owner")
	_ = full
	// MAX_PARTICIPANTS is 1: every case that joins uses its own room.
	noPublish := e.token(t, "np", "viewer", &auth.VideoGrant{RoomJoin: true, Room: "np", CanPublish: auth.Bool(false)})
	readOnly := func(room string) string {
		return e.token(t, room, "ro", &auth.VideoGrant{RoomJoin: true, Room: room, CanPublishData: auth.Bool(false)})
	}
	otherRoom := e.token(t, "elsewhere", "eve", nil)
	noJoin := e.token(t, "r", "nj", &auth.VideoGrant{Room: "r"})
	long := strings.Repeat("a", 300)
	longSub := e.token(t, "r", long, nil)
	longRoom := e.token(t, long, "lr", nil)
	noSub, _, _ := e.issuer.Mint(auth.Claims{Video: &auth.VideoGrant{RoomJoin: true, Room: "r"}}, time.Hour)

	join := func(room, identity string) map[string]any {
		return map[string]any{"type": "join_room", "roomName": room, "participant": map[string]any{"identity": identity}}
	}
	withToken := func(tok, room string) map[string]any {
		return map[string]any{"type": "join_room", "roomName": room, "token": tok}
	}
	cases := []struct {
		name  string
		setup []any // sent first; each answered by one message that is skipped
		raw   string
		msg   any
		code  string
		text  string
	}{
		{name: "F8 type not a string", raw: `{"type":42}`, code: "invalid_message", text: "Invalid message format"},
		{name: "F8 empty object", raw: `{}`, code: "invalid_message", text: "Invalid message format"},
		{name: "F8 array", raw: `[]`, code: "invalid_message", text: "Invalid message format"},
		{name: "F8 string", raw: `"hello"`, code: "invalid_message", text: "Invalid message format"},
		{name: "F8 null", raw: `null`, code: "invalid_message", text: "Invalid message format"},
		{name: "F9 malformed", raw: `{"type":"join_room"`, code: "invalid_message", text: "Invalid message format"},
		{name: "F7 unknown type", raw: `{"type":"nope"}`, code: "unknown_type"},
		{name: "F2 no identity", msg: map[string]any{"type": "join_room", "roomName": "r"}, code: "invalid_argument", text: "participant.identity is required"},
		{name: "F2 empty identity", msg: join("r", ""), code: "invalid_argument", text: "participant.identity is required"},
		{name: "F3 bad room", msg: join("<script>", "a"), code: "invalid_argument"},
		{name: "F3 bad identity", msg: join("r", "a\u202eb"), code: "invalid_argument"},
		{name: "field of the wrong type", msg: map[string]any{"type": "join_room", "roomName": 123}, code: "invalid_argument", text: "roomName must be a string"},
		{name: "F4 publish before join", msg: map[string]any{"type": "publish_track", "trackKind": "audio"}, code: "not_joined"},
		{name: "data before join", msg: map[string]any{"type": "send_data", "payload": "x"}, code: "not_joined"},
		{name: "leave before join", msg: map[string]any{"type": "leave_room"}, code: "not_joined"},
		{name: "F5 second join", setup: []any{join("r1", "a1")}, msg: join("r2", "a2"), code: "already_joined"},
		{name: "F25 room full", msg: join("full", "second"), code: "room_full"},
		{name: "not_found track", setup: []any{join("r3", "a3")}, msg: map[string]any{"type": "mute_track", "trackId": "TR_nope", "muted": true}, code: "not_found"},
		{name: "unpublish unknown track", setup: []any{join("r4", "a4")}, msg: map[string]any{"type": "unpublish_track", "trackId": "TR_nope"}, code: "not_found"},
		{name: "bad track kind", setup: []any{join("r5", "a5")}, msg: map[string]any{"type": "publish_track", "trackKind": "smell"}, code: "invalid_argument"},
		{name: "F26 canPublish false", setup: []any{withToken(noPublish, "np")}, msg: map[string]any{"type": "publish_track", "trackKind": "video"}, code: "permission_denied", text: "canPublish"},
		{name: "canPublishData false", setup: []any{withToken(readOnly("ro1"), "ro1")}, msg: map[string]any{"type": "send_data", "payload": "x"}, code: "permission_denied", text: "canPublishData"},
		{name: "update without canUpdateOwnMetadata", setup: []any{withToken(readOnly("ro2"), "ro2")}, msg: map[string]any{"type": "update_metadata", "metadata": "x"}, code: "permission_denied", text: "canUpdateOwnMetadata"},
		{name: "bad token in join_room", msg: withToken("not.a.token", "r"), code: "unauthenticated"},
		{name: "token for another room", msg: withToken(otherRoom, "r"), code: "permission_denied"},
		{name: "token without roomJoin", msg: withToken(noJoin, "r"), code: "unauthenticated"},
		{name: "D21 token with a 300-byte sub", msg: withToken(longSub, "r"), code: "invalid_argument", text: "token identity (sub) must be"},
		{name: "D21 token with a 300-byte room", msg: withToken(longRoom, ""), code: "invalid_argument", text: "token room (video.room) must be"},
		{name: "D20 token without a sub", msg: withToken(noSub, "r"), code: "invalid_argument", text: "token identity (sub) is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.connect(t)
			for _, s := range tc.setup {
				c.send(s)
				c.next()
			}
			if tc.raw != "" {
				c.sendRaw(websocket.TextMessage, []byte(tc.raw))
			} else {
				c.send(tc.msg)
			}
			m := c.expectError(tc.code)
			if !strings.Contains(m["error"].(string), tc.text) {
				t.Errorf("error %q does not say %q", m["error"], tc.text)
			}
			// F9: errors never close, however often.
			for range 3 {
				c.sendRaw(websocket.TextMessage, []byte(`{"type":`))
				c.expect("error")
			}
		})
	}
	// Refused joins registered nothing: only the rooms joined on purpose exist.
	for _, ri := range e.reg.List() {
		if !strings.HasPrefix(ri.Name, "r") && ri.Name != "np" && ri.Name != "full" {
			t.Errorf("room %q was created by a refused join", ri.Name)
		}
	}
}

// F1 with a token (query or join_room), E10 and F24.
func TestJSONTokens(t *testing.T) {
	e := startRTC(t, map[string]string{"RTC_REQUIRE_TOKEN": "true"}, signal.Options{})

	// E10: the upgrade succeeds, a join without a token is unauthenticated.
	c := e.connect(t)
	c.send(map[string]any{"type": "join_room", "roomName": "r", "participant": map[string]any{"identity": "anon"}})
	c.expectError("unauthenticated")

	// access_token on the upgrade: identity is its sub, the room its room.
	tok := e.token(t, "r", "alice", nil)
	c, _, err := e.dial(t, "access_token="+url.QueryEscape(tok), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "join_room", "participant": map[string]any{"identity": "mallory"}})
	if p := obj(t, c.expect("room_joined"), "participant"); p["identity"] != "alice" {
		t.Errorf("identity = %v, want the token's sub", p["identity"])
	}

	// token inside join_room
	b := e.connect(t)
	b.send(map[string]any{"type": "join_room", "roomName": "r", "token": e.token(t, "r", "bob", nil)})
	if p := obj(t, b.expect("room_joined"), "participant"); p["identity"] != "bob" {
		t.Errorf("identity = %v", p["identity"])
	}
	c.expect("participant_connected")

	// F24: the token expires during the session; the session goes on.
	e.clock.Add(int64((3 * time.Hour).Seconds()))
	b.send(map[string]any{"type": "publish_track", "trackKind": "video"})
	b.expect("track_published")
	c.expect("track_subscribed")
}

// E1–E11 and the 401s of row D for the JSON dialect.
func TestRTCHandshake(t *testing.T) {
	e := startRTC(t, map[string]string{"RTC_ALLOWED_ORIGINS": "http://app.example", "RTC_MAX_CONNECTIONS_PER_IP": "3"}, signal.Options{})
	star := startRTC(t, nil, signal.Options{})
	upgrade := func(h http.Header) http.Header {
		base := http.Header{
			"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
			"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="},
		}
		for k, v := range h {
			base[k] = v
		}
		return base
	}
	raw := func(env *rtcEnv, method, path string, h http.Header) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, env.srv.URL+path, nil)
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	jsonCode := func(resp *http.Response) string {
		t.Helper()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type = %q", ct)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		code, _ := m["code"].(string)
		return code
	}

	t.Run("E1 plain GET", func(t *testing.T) {
		resp := raw(e, "GET", "/rtc", http.Header{})
		if resp.StatusCode != 400 || jsonCode(resp) != "invalid_argument" {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("E2 POST upgrade", func(t *testing.T) {
		if resp := raw(e, "POST", "/rtc", upgrade(nil)); resp.StatusCode != 405 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("E3 version 8", func(t *testing.T) {
		resp := raw(e, "GET", "/rtc", upgrade(http.Header{"Sec-Websocket-Version": {"8"}}))
		if resp.StatusCode != 400 || resp.Header.Get("Sec-Websocket-Version") != "13" || jsonCode(resp) != "invalid_argument" {
			t.Errorf("status %d, version header %q", resp.StatusCode, resp.Header.Get("Sec-Websocket-Version"))
		}
	})
	t.Run("E4 bad key", func(t *testing.T) {
		if resp := raw(e, "GET", "/rtc", upgrade(http.Header{"Sec-Websocket-Key": {"short"}})); resp.StatusCode != 400 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("E5 any origin by default", func(t *testing.T) {
		if _, resp, err := star.dial(t, "", http.Header{"Origin": {"http://evil.example"}}); err != nil || resp.StatusCode != 101 {
			t.Errorf("err %v", err)
		}
	})
	t.Run("E6 origin not in the list", func(t *testing.T) {
		_, resp, err := e.dial(t, "", http.Header{"Origin": {"http://evil.example"}})
		if err == nil || resp.StatusCode != 403 || jsonCode(resp) != "origin_not_allowed" {
			t.Errorf("err %v resp %v", err, resp)
		}
		if _, resp, err := e.dial(t, "", http.Header{"Origin": {"HTTP://APP.EXAMPLE"}}); err != nil || resp.StatusCode != 101 {
			t.Errorf("listed origin, other case: %v", err)
		}
	})
	t.Run("E7 no origin with a list", func(t *testing.T) {
		if _, _, err := e.dial(t, "", nil); err != nil {
			t.Error(err)
		}
	})
	t.Run("E8 no compression", func(t *testing.T) {
		resp := raw(star, "GET", "/rtc", upgrade(http.Header{"Sec-Websocket-Extensions": {"permessage-deflate; client_max_window_bits"}}))
		if resp.StatusCode != 101 || resp.Header.Get("Sec-Websocket-Extensions") != "" {
			t.Errorf("status %d extensions %q", resp.StatusCode, resp.Header.Get("Sec-Websocket-Extensions"))
		}
	})
	t.Run("D bad access_token is 401 before the upgrade", func(t *testing.T) {
		for _, tok := range []string{"garbage", "a.b.c", e.token(t, "r", "x", &auth.VideoGrant{Room: "r"})} {
			_, resp, err := e.dial(t, "access_token="+url.QueryEscape(tok), nil)
			if err == nil || resp.StatusCode != 401 || jsonCode(resp) != "unauthenticated" {
				t.Errorf("token %.10q: %v %v", tok, err, resp)
			}
		}
	})
	t.Run("D20 D21 the token's names follow the name policy before the upgrade", func(t *testing.T) {
		long := strings.Repeat("a", 300)
		noSub, _, _ := e.issuer.Mint(auth.Claims{Video: &auth.VideoGrant{RoomJoin: true, Room: "r"}}, time.Hour)
		for _, c := range []struct{ name, tok, want string }{
			{"no sub", noSub, "token identity (sub) is required"},
			{"300-byte sub", e.token(t, "r", long, nil), "token identity (sub) must be"},
			{"300-byte room", e.token(t, long, "alice", nil), "token room (video.room) must be"},
			{"no room", e.token(t, "", "alice", &auth.VideoGrant{RoomJoin: true}), "token room (video.room) is required"},
			{"strict: space in sub", e.token(t, "r", "alice smith", nil), "token identity (sub) must be"},
		} {
			_, resp, err := e.dial(t, "access_token="+url.QueryEscape(c.tok), nil)
			if err == nil || resp.StatusCode != 400 {
				t.Errorf("%s: %v %v, want 400", c.name, err, resp)
				continue
			}
			var m map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&m)
			if msg, _ := m["error"].(string); m["code"] != "invalid_argument" || !strings.HasPrefix(msg, c.want) || strings.Contains(msg, long) {
				t.Errorf("%s: body %v, want invalid_argument saying %q", c.name, m, c.want)
			}
		}
	})
	t.Run("LiveKit dialect hook", func(t *testing.T) {
		for _, path := range []string{"/rtc?protocol=16", "/rtc/v1"} {
			resp := raw(star, "GET", path, upgrade(nil))
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 404 || string(body) != "v1 RTC path not found" {
				t.Errorf("%s: %d %q", path, resp.StatusCode, body)
			}
		}
	})
	t.Run("E9 per-IP cap", func(t *testing.T) {
		// E6/E7 left 2 connections open; one more fits, the next is 429.
		for e.hub.Connections() < 3 {
			if _, _, err := e.dial(t, "", nil); err != nil {
				t.Fatal(err)
			}
		}
		_, resp, err := e.dial(t, "", nil)
		if err == nil || resp.StatusCode != 429 || jsonCode(resp) != "too_many_connections" {
			t.Errorf("err %v resp %v", err, resp)
		}
	})
	t.Run("E11 during shutdown", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := star.hub.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		_, resp, err := star.dial(t, "", nil)
		if err == nil || resp.StatusCode != 503 || jsonCode(resp) != "unavailable" {
			t.Errorf("err %v resp %v", err, resp)
		}
	})
}

// F6: a second session with the same identity wins.
func TestDuplicateIdentity(t *testing.T) {
	e := startRTC(t, nil, signal.Options{})
	old := e.joined(t, "r", "alice")
	bob := e.joined(t, "r", "bob")
	old.expect("participant_connected")
	newer := e.joined(t, "r", "alice")

	if m := old.expect("disconnected"); m["reason"] != "duplicate_identity" {
		t.Errorf("older got %v", m)
	}
	if code, _ := old.closed(); code != 1000 {
		t.Errorf("older closed with %d, want 1000", code)
	}
	if m := bob.expect("participant_disconnected"); m["reason"] != "duplicate_identity" {
		t.Errorf("bob got %v", m)
	}
	bob.expect("participant_connected")
	info, _ := e.reg.Get("r")
	if len(info.Participants) != 2 {
		t.Errorf("room holds %v", info.Participants)
	}
	newer.send(map[string]any{"type": "ping"})
	newer.expect("pong")
}

// A socket that closes without leave_room leaves at once (F20 and an abrupt
// TCP drop).
func TestSocketCloseLeaves(t *testing.T) {
	e := startRTC(t, nil, signal.Options{})
	alice := e.joined(t, "r", "alice")
	bob := e.joined(t, "r", "bob")
	carol := e.joined(t, "r", "carol")
	alice.expect("participant_connected")
	alice.expect("participant_connected")

	// F20: close 1000 is echoed; others see reason closed.
	_ = bob.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "bye"), time.Now().Add(wait))
	if code, _ := bob.closed(); code != 1000 {
		t.Errorf("echo %d", code)
	}
	if m := alice.expect("participant_disconnected"); m["reason"] != "closed" || obj(t, m, "participant")["identity"] != "bob" {
		t.Errorf("alice got %v", m)
	}
	// Abrupt drop.
	_ = carol.c.NetConn().Close()
	if m := alice.expect("participant_disconnected"); m["reason"] != "closed" || obj(t, m, "participant")["identity"] != "carol" {
		t.Errorf("alice got %v", m)
	}
	resp, err := http.Get(e.srv.URL + "/api/rooms/r")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var room map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&room)
	if fmt.Sprint(room["participants"]) != "[alice]" {
		t.Errorf("room lists %v", room["participants"])
	}
}

// Close codes of F10–F15 and F17–F19.
func TestCloseCodes(t *testing.T) {
	e := startRTC(t, map[string]string{"RTC_MAX_MESSAGE_BYTES": "512", "RTC_MESSAGE_RATE": "20", "RTC_MESSAGE_BURST": "40"},
		signal.Options{PongWait: 300 * time.Millisecond, PingPeriod: 100 * time.Millisecond, CloseGrace: 200 * time.Millisecond})

	t.Run("F10 invalid UTF-8", func(t *testing.T) {
		c := e.connect(t)
		c.sendRaw(websocket.TextMessage, []byte{0xC3, 0x28})
		if code, _ := c.closed(); code != 1007 {
			t.Errorf("close %d, want 1007", code)
		}
	})
	t.Run("F11 binary JSON", func(t *testing.T) {
		c := e.connect(t)
		c.sendRaw(websocket.BinaryMessage, []byte(`{"type":"ping"}`))
		c.expect("pong")
		c.sendRaw(websocket.BinaryMessage, []byte{0xff, 0x00})
		c.expectError("invalid_message")
	})
	t.Run("F12 message over the limit", func(t *testing.T) {
		c := e.connect(t)
		c.sendRaw(websocket.TextMessage, []byte(`{"type":"ping","pad":"`+strings.Repeat("x", 600)+`"}`))
		if code, _ := c.closed(); code != 1009 {
			t.Errorf("close %d, want 1009", code)
		}
	})
	t.Run("F13 frame header announcing 2^62 bytes", func(t *testing.T) {
		conn, br := rawUpgrade(t, e)
		hdr := []byte{0x81, 0xFF}
		hdr = binary.BigEndian.AppendUint64(hdr, 1<<62)
		hdr = append(hdr, 0, 0, 0, 0) // mask key
		_, _ = conn.Write(hdr)
		if code := readClose(t, conn, br); code != 1009 {
			t.Errorf("close %d, want 1009", code)
		}
	})
	t.Run("F14 message flood", func(t *testing.T) {
		c := e.connect(t)
		for range 100 {
			if c.c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) != nil {
				break
			}
		}
		code, text := -1, ""
		for code == -1 {
			_ = c.c.SetReadDeadline(time.Now().Add(wait))
			_, b, err := c.c.ReadMessage()
			var ce *websocket.CloseError
			switch {
			case errors.As(err, &ce):
				code, text = ce.Code, ce.Text
			case err != nil:
				t.Fatalf("read: %v", err)
			case strings.Contains(string(b), "disconnected") && !strings.Contains(string(b), "rate_limited"):
				t.Errorf("notice %s", b)
			}
		}
		if code != 1008 || text != "rate_limited" {
			t.Errorf("close %d %q, want 1008 rate_limited", code, text)
		}
	})
	t.Run("F15 control pings do not count", func(t *testing.T) {
		c := e.connect(t)
		for range 200 {
			if err := c.c.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(wait)); err != nil {
				t.Fatal(err)
			}
		}
		c.send(map[string]any{"type": "ping"})
		c.expect("pong")
	})
	t.Run("F17 no pong", func(t *testing.T) {
		watcher := e.joined(t, "pong", "watcher")
		c := e.joined(t, "pong", "silent")
		watcher.expect("participant_connected")
		c.c.SetPingHandler(func(string) error { return nil }) // never answer
		for {
			// The watcher answers pings (it reads), so it stays.
			m := watcher.next()
			if m["type"] == "participant_disconnected" {
				if m["reason"] != "timeout" {
					t.Errorf("reason %v", m["reason"])
				}
				break
			}
		}
		if code, _ := c.closed(); code != websocket.CloseAbnormalClosure {
			t.Errorf("close %d, want 1006", code)
		}
	})
	t.Run("F18 unmasked frame", func(t *testing.T) {
		conn, br := rawUpgrade(t, e)
		_, _ = conn.Write([]byte{0x81, 0x02, 'h', 'i'})
		if code := readClose(t, conn, br); code != 1002 {
			t.Errorf("close %d, want 1002", code)
		}
	})
	t.Run("F18 RSV1 without extension", func(t *testing.T) {
		conn, br := rawUpgrade(t, e)
		_, _ = conn.Write([]byte{0xC1, 0x80, 0, 0, 0, 0})
		if code := readClose(t, conn, br); code != 1002 {
			t.Errorf("close %d, want 1002", code)
		}
	})
	t.Run("F19 close frame with a 1-byte payload", func(t *testing.T) {
		conn, br := rawUpgrade(t, e)
		_, _ = conn.Write([]byte{0x88, 0x81, 0, 0, 0, 0, 0x03})
		if code := readClose(t, conn, br); code != 1002 {
			t.Errorf("close %d, want 1002", code)
		}
	})
	t.Run("F19 close code 999", func(t *testing.T) {
		conn, br := rawUpgrade(t, e)
		_, _ = conn.Write([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE7})
		if code := readClose(t, conn, br); code != 1002 {
			t.Errorf("close %d, want 1002", code)
		}
	})
}

// rawUpgrade opens a WebSocket by hand, for frames no client library sends.
func rawUpgrade(t *testing.T, e *rtcEnv) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(wait))
	fmt.Fprintf(conn, "GET /rtc HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", err, resp)
	}
	return conn, br
}

// readClose reads server frames until a close frame and returns its code.
func readClose(t *testing.T, conn net.Conn, br *bufio.Reader) int {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			_, _ = io.ReadFull(br, b[:])
			n = int(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			_, _ = io.ReadFull(br, b[:])
			n = int(binary.BigEndian.Uint64(b[:]))
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatalf("short frame: %v", err)
		}
		if h[0]&0x0f == 0x8 {
			if n < 2 {
				return 1005
			}
			return int(binary.BigEndian.Uint16(payload))
		}
	}
}

// F16: a client that stops reading is dropped; the others keep receiving.
func TestSlowConsumer(t *testing.T) {
	e := startRTC(t, map[string]string{"RTC_MESSAGE_RATE": "100000", "RTC_MESSAGE_BURST": "100000", "RTC_OUTBOX": "8"},
		signal.Options{WriteWait: 2 * time.Second})
	sender := e.joined(t, "r", "sender")
	reader := e.joined(t, "r", "reader")
	slow := e.joined(t, "r", "slow")
	sender.expect("participant_connected")
	sender.expect("participant_connected")
	reader.expect("participant_connected")

	// slow reads nothing from here on; big payloads fill its socket
	// buffers, then its outbox.
	payload := strings.Repeat("x", 60000)
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("slow consumer never dropped")
		}
		sender.send(map[string]any{"type": "send_data", "payload": payload})
		m := reader.next()
		if m["type"] == "participant_disconnected" {
			if m["reason"] != "slow_consumer" || obj(t, m, "participant")["identity"] != "slow" {
				t.Errorf("reader got %v", m)
			}
			break
		}
		if m["type"] != "data_received" {
			t.Fatalf("reader got %v", m)
		}
	}
	e.ev.waitFor(t, "slow left", func(ev rooms.Event) bool {
		return ev.Kind == rooms.EventParticipantLeft && ev.Participant.Identity == "slow"
	})
	// The others are unaffected.
	sender.send(map[string]any{"type": "send_data", "payload": "after"})
	for {
		if m := reader.next(); m["payload"] == "after" {
			break
		}
	}
	// When slow reads again it finds 1008 after what was already sent.
	code, text := slow.closed()
	if code != 1008 || text != "slow_consumer" {
		t.Errorf("slow closed %d %q, want 1008 slow_consumer", code, text)
	}
}

// F22: shutdown with clients connected.
func TestShutdownTellsEveryone(t *testing.T) {
	e := startRTC(t, nil, signal.Options{})
	var cs []*client
	for i := range 5 {
		cs = append(cs, e.joined(t, "r", fmt.Sprintf("u%d", i)))
	}
	idle := e.connect(t) // not in a room
	cs = append(cs, idle)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.hub.Shutdown(ctx) }()
	for _, c := range cs {
		for {
			m := c.next()
			if m["type"] == "disconnected" {
				if m["reason"] != "server_shutdown" {
					t.Errorf("reason %v", m["reason"])
				}
				break
			}
		}
		if code, _ := c.closed(); code != 1001 {
			t.Errorf("close %d, want 1001", code)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := e.hub.Connections(); n != 0 {
		t.Errorf("connections = %d", n)
	}
	if _, p := e.reg.Counts(); p != 0 {
		t.Errorf("participants = %d", p)
	}
}

// Many clients join, publish, send and leave (or just drop) from many
// goroutines; afterwards the registry is empty and (goleak) nothing leaks.
func TestChurnOverWebSockets(t *testing.T) {
	e := startRTC(t, map[string]string{"ROOM_DEPARTURE_TIMEOUT": "1ms", "ROOM_EMPTY_TIMEOUT": "1ms", "RTC_MESSAGE_RATE": "10000", "RTC_MESSAGE_BURST": "10000", "RTC_MAX_CONNECTIONS_PER_IP": "0"}, signal.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := range 20 {
		wg.Go(func() {
			for i := range 10 {
				c, _, err := websocket.DefaultDialer.Dial(e.wsURL(""), nil)
				if err != nil {
					errs <- err
					return
				}
				room := fmt.Sprintf("room-%d", (g+i)%5)
				for _, m := range []string{
					fmt.Sprintf(`{"type":"join_room","roomName":%q,"participant":{"identity":"u%d"}}`, room, g),
					`{"type":"publish_track","trackKind":"audio"}`,
					`{"type":"send_data","payload":"hi"}`,
				} {
					_ = c.WriteMessage(websocket.TextMessage, []byte(m))
				}
				if i%2 == 0 {
					_ = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"leave_room"}`))
					_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(wait))
				}
				_ = c.Close()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	deadline := time.Now().Add(wait)
	for {
		n, p := e.reg.Counts()
		if n == 0 && p == 0 && e.hub.Connections() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left over: rooms %d participants %d connections %d", n, p, e.hub.Connections())
		}
		e.ev.mu.Lock()
		ch := e.ev.ch
		e.ev.mu.Unlock()
		select {
		case <-ch:
		case <-time.After(50 * time.Millisecond): // connections closing are not events
		}
	}
}

// GET /api/rooms and /api/rooms/:roomName (SPEC §4).
func TestRoomsEndpoints(t *testing.T) {
	e := startRTC(t, nil, signal.Options{})
	a := e.joined(t, "r", "alice")
	a.send(map[string]any{"type": "publish_track", "trackKind": "video", "trackName": "cam", "source": "camera"})
	a.expect("track_published")
	if _, err := e.reg.Reserve("empty"); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, map[string]any) {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	status, room := get("/api/rooms/r")
	if status != 200 || room["name"] != "r" || !strings.HasPrefix(room["sid"].(string), "RM_") || room["numParticipants"] != float64(1) ||
		fmt.Sprint(room["participants"]) != "[alice]" || room["metadata"] != "" {
		t.Errorf("%d %v", status, room)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", room["createdAt"].(string)); err != nil {
		t.Error(err)
	}
	det := room["participantDetails"].([]any)[0].(map[string]any)
	tr := det["tracks"].([]any)[0].(map[string]any)
	if det["identity"] != "alice" || det["name"] != "ALICE" || tr["kind"] != "video" || tr["name"] != "cam" || tr["source"] != "camera" || tr["muted"] != false {
		t.Errorf("details %v", det)
	}
	if det["state"] != "ACTIVE" || det["dialect"] != "json" || det["attributes"] == nil {
		t.Errorf("state, dialect, attributes: %v", det)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", det["joinedAt"].(string)); err != nil {
		t.Error(err)
	}
	status, body := get("/api/rooms/nope")
	if status != 404 || body["error"] != "Room not found" || body["code"] != "not_found" {
		t.Errorf("%d %v", status, body)
	}
	status, list := get("/api/rooms")
	if status != 200 || len(list["rooms"].([]any)) != 2 {
		t.Errorf("%d %v", status, list)
	}
}

// rtcEndpoint builds /rtc as the builder does: the JSON dialect and, when lk
// is not nil, the LiveKit dialect it is given.
func rtcEndpoint(cfg *config.Config, hub *signal.Hub, reg *rooms.Registry, verifier *auth.Verifier, lk *signal.LiveKit) *signal.Endpoint {
	return rtcEndpointHomes(cfg, hub, reg, verifier, lk, nil)
}

// rtcEndpointHomes is rtcEndpoint with rooms homed elsewhere relayed there.
func rtcEndpointHomes(cfg *config.Config, hub *signal.Hub, reg *rooms.Registry, verifier *auth.Verifier, lk *signal.LiveKit, homes signal.Homes) *signal.Endpoint {
	policy, _ := names.ParsePolicy(cfg.NamePolicy)
	return signal.NewEndpoint(signal.NewJSONEndpoint(signal.JSONEndpointOptions{
		JSONOptions: signal.JSONOptions{
			Registry: reg, IDs: ids.New(nil), Names: policy, RequireToken: cfg.RTCRequireToken,
			Server: jsonwire.ServerInfo{Version: Version, Node: cfg.InstanceID, Region: "local", Protocol: 1},
			Limits: signal.Limits{ReadLimit: cfg.RTCMaxMessageBytes, Rate: cfg.RTCMessageRate, Burst: cfg.RTCMessageBurst},
			Homes:  homes,
		},
		Hub: hub, Verifier: verifier, Origins: cfg.RTCAllowedOrigins,
	}), lk)
}
