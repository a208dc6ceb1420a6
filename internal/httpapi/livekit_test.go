package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// syncBuf is a log sink the tests read after the server wrote to it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type lkTestEnv struct {
	srv    *httptest.Server
	issuer *auth.Issuer
	logs   *syncBuf
	reg    *rooms.Registry
}

// startLiveKit serves the whole HTTP surface (routes.go) with the LiveKit
// dialect and no WebRTC engine: these tests are about the handshake.
func startLiveKit(t *testing.T, env map[string]string) *lkTestEnv {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	cfg := testConfig(t, env)
	logs := &syncBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	now := time.Now
	reg := rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
	hub := signal.NewHub(signal.Options{MaxConnectionsPerIP: cfg.RTCMaxConnectionsPerIP, CloseGrace: 100 * time.Millisecond})
	verifier := auth.NewVerifier(cfg.Keys, now)
	srv := serveDeps(t, cfg, now, Deps{
		Logger: log, Verifier: verifier, Registry: reg, Hub: hub,
		RTC: rtcEndpoint(cfg, hub, reg, verifier, signal.NewLiveKit(signal.LiveKitOptions{
			Registry: reg, Server: pbwire.ServerInfo{NodeID: "ND_test"}, Logger: log,
			Hub: hub, Verifier: verifier, Keys: cfg.Keys, Origins: cfg.RTCAllowedOrigins,
		})),
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = hub.Shutdown(ctx)
		srv.Close()
		reg.Close()
	})
	return &lkTestEnv{srv: srv, issuer: auth.NewIssuer(cfg.APIKey, cfg.APISecret, now), logs: logs, reg: reg}
}

func (e *lkTestEnv) mint(t *testing.T, c auth.Claims, ttl time.Duration) string {
	t.Helper()
	tok, _, err := e.issuer.Mint(c, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// hs256 signs arbitrary claims, for tokens the Issuer will not make.
func hs256(t *testing.T, secret string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(claims)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(head))
	return head + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validJoin is a join_request with no offer (what a client without
// CompressionStream sends).
func validJoin(t *testing.T) string {
	t.Helper()
	inner, _ := proto.Marshal(&livekit.JoinRequest{ClientInfo: &livekit.ClientInfo{Sdk: livekit.ClientInfo_JS, Protocol: 17}})
	w, _ := proto.Marshal(&livekit.WrappedJoinRequest{JoinRequest: inner})
	return base64.URLEncoding.EncodeToString(w)
}

func (e *lkTestEnv) get(t *testing.T, path string, hdr http.Header) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// upgrade tries the WebSocket and returns the refusal, or the first frame.
func (e *lkTestEnv) upgrade(t *testing.T, path string, hdr http.Header) (int, string, *websocket.Conn) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: wait}
	c, res, err := d.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+path, hdr)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
		return http.StatusSwitchingProtocols, "", c
	}
	if res == nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

func TestLiveKitRefusalsBeforeUpgrade(t *testing.T) {
	e := startLiveKit(t, nil)
	now := time.Now().Unix()
	join := func(id, room string) auth.Claims {
		return auth.Claims{Identity: id, Video: &auth.VideoGrant{RoomJoin: true, Room: room}}
	}
	good := e.mint(t, join("alice", "r"), time.Hour)
	jr := "&join_request=" + validJoin(t)
	cases := []struct {
		name   string
		token  string // sent as Bearer when bearer, else as access_token
		bearer bool
		header string // raw Authorization header, overrides token
		query  string
		status int
		body   string
	}{
		{name: "bad Authorization header", header: "Basic Zm9vOmJhcg==", status: 401, body: "invalid authorization header. Must start with Bearer "},
		{name: "bad signature", token: hs256(t, "wrong", map[string]any{"iss": "devkey", "sub": "a", "exp": now + 600, "video": map[string]any{"roomJoin": true, "room": "r"}}), status: 401, body: "invalid authorization token: token signature is invalid"},
		{name: "expired", bearer: true, token: hs256(t, "secret", map[string]any{"iss": "devkey", "sub": "a", "exp": now - 3600, "video": map[string]any{"roomJoin": true, "room": "r"}}), status: 401, body: "invalid authorization token: token has expired"},
		{name: "no exp", token: hs256(t, "secret", map[string]any{"iss": "devkey", "sub": "a", "video": map[string]any{"roomJoin": true, "room": "r"}}), status: 401, body: "invalid authorization token: token has no exp claim; an expiry is required"},
		{name: "nbf in the future", token: hs256(t, "secret", map[string]any{"iss": "devkey", "sub": "a", "nbf": now + 3600, "exp": now + 7200, "video": map[string]any{"roomJoin": true, "room": "r"}}), status: 401, body: "invalid authorization token: token is not valid yet (nbf is in the future)"},
		{name: "not HS256", token: "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJkZXZrZXkiLCJzdWIiOiJhIn0.", status: 401, body: "invalid authorization token: "},
		{name: "unknown key", bearer: true, token: hs256(t, "x", map[string]any{"iss": "nokey", "sub": "a", "exp": now + 600}), status: 401, body: "invalid API key"},
		{name: "no token", status: 401, body: "no permissions to access the room"},
		{name: "no video grant", token: e.mint(t, auth.Claims{Identity: "a"}, time.Hour), status: 401, body: "no permissions to access the room"},
		{name: "roomJoin false", token: e.mint(t, auth.Claims{Identity: "a", Video: &auth.VideoGrant{Room: "r"}}, time.Hour), status: 401, body: "permissions denied"},
		{name: "no identity", token: e.mint(t, join("", "r"), time.Hour), status: 400, body: "identity cannot be empty"},
		{name: "no room", token: e.mint(t, join("a", ""), time.Hour), status: 400, body: "no room name"},
		{name: "identity too long", token: e.mint(t, join(strings.Repeat("i", 257), "r"), time.Hour), status: 400, body: "participant identity length exceeds limits: max length 256"},
		{name: "metadata without canUpdateOwnMetadata", token: good, query: "&attributes=" + base64.URLEncoding.EncodeToString([]byte(`{"a":"b"}`)), status: 401, body: "no permissions to access the room"},
		{name: "v1 without join_request", token: good, query: "v1", status: 400, body: "join_request is required"},
		{name: "v1 bad join_request", token: good, query: "v1&join_request=!!!", status: 400, body: "cannot base64 decode wrapped join request"},
		{name: "v1 join_request not protobuf", token: good, query: "v1&join_request=" + base64.URLEncoding.EncodeToString([]byte{0xff, 0xff}), status: 400, body: "cannot unmarshal wrapped join request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base, query := "/rtc", "?protocol=17"
			if strings.HasPrefix(tc.query, "v1") {
				base, query = "/rtc/v1", "?"+strings.TrimPrefix(tc.query, "v1&")
			} else {
				query += tc.query
			}
			hdr := http.Header{}
			switch {
			case tc.header != "":
				hdr.Set("Authorization", tc.header)
			case tc.bearer:
				hdr.Set("Authorization", "Bearer "+tc.token)
			case tc.token != "":
				query += "&access_token=" + tc.token
			}
			status, h, body := e.get(t, base+"/validate"+query, hdr)
			if status != tc.status || !strings.HasPrefix(body, tc.body) || h.Get("Access-Control-Allow-Origin") != "*" ||
				!strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
				t.Errorf("validate: %d %q (ACAO %q, %q); want %d %q", status, body, h.Get("Access-Control-Allow-Origin"), h.Get("Content-Type"), tc.status, tc.body)
			}
			ustatus, ubody, _ := e.upgrade(t, base+query, hdr)
			if ustatus != status || ubody != body {
				t.Errorf("upgrade answered %d %q, validate %d %q", ustatus, ubody, status, body)
			}
			if tc.token != "" && (strings.Contains(body, tc.token) || strings.Contains(e.logs.String(), tc.token)) {
				t.Error("a token was echoed in a body or a log")
			}
		})
	}

	// Success: validate says so on both paths; a plain GET is 404 with no body.
	for _, path := range []string{"/rtc/validate?protocol=17&access_token=" + good, "/rtc/v1/validate?access_token=" + good + jr} {
		if status, h, body := e.get(t, path, nil); status != 200 || body != "success" || h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: %d %q %v", path[:16], status, body, h)
		}
	}
	if status, _, body := e.get(t, "/rtc?protocol=17&access_token="+good, nil); status != 404 || body != "" {
		t.Errorf("plain GET: %d %q", status, body)
	}
	if strings.Contains(e.logs.String(), good) {
		t.Error("the request log printed a token")
	}
}

func TestLiveKitUpgradeAndRefreshToken(t *testing.T) {
	e := startLiveKit(t, nil)
	claims := auth.Claims{Identity: "bob", Name: "Bob", Metadata: "md", Video: &auth.VideoGrant{RoomJoin: true, Room: "rt"}}
	tok := e.mint(t, claims, 2*time.Minute)
	hdr := http.Header{"Authorization": {"Bearer " + tok}}
	status, body, c := e.upgrade(t, "/rtc/v1?join_request="+validJoin(t), hdr)
	if c == nil {
		t.Fatalf("upgrade refused: %d %q", status, body)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	var frames []*livekit.SignalResponse
	for len(frames) < 2 {
		mt, data, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var sr livekit.SignalResponse
		if mt != websocket.BinaryMessage || proto.Unmarshal(data, &sr) != nil {
			t.Fatalf("frame %d is not a binary SignalResponse", len(frames))
		}
		frames = append(frames, &sr)
	}
	j := frames[0].GetJoin()
	if j.GetParticipant().GetIdentity() != "bob" || j.GetParticipant().GetName() != "Bob" || j.GetParticipant().GetMetadata() != "md" ||
		j.GetRoom().GetName() != "rt" || j.GetServerInfo().GetNodeId() != "ND_test" {
		t.Fatalf("join = %v", j)
	}
	refreshed := frames[1].GetRefreshToken()
	got, err := auth.NewVerifier(map[string]string{"devkey": "secret"}, nil).Verify(refreshed)
	if err != nil {
		t.Fatalf("refresh_token does not verify: %v", err)
	}
	if got.Identity != "bob" || got.Name != "Bob" || got.Video.Room != "rt" || !got.Video.RoomJoin {
		t.Errorf("refreshed claims = %+v", got)
	}
	if life := time.Until(got.ExpiresAt); life < 9*time.Minute {
		t.Errorf("refresh token lives %v, want at least 10 min", life)
	}
	// The SDK participant shows in the mock's own room API.
	if status, _, body := e.get(t, "/api/rooms/rt", nil); status != 200 || !strings.Contains(body, `"bob"`) {
		t.Errorf("/api/rooms/rt: %d %s", status, body)
	}
}

func TestLiveKitDialectSelection(t *testing.T) {
	e := startLiveKit(t, map[string]string{"RTC_MAX_CONNECTIONS_PER_IP": "1", "RTC_ALLOWED_ORIGINS": "http://ok.test"})
	tok := e.mint(t, auth.Claims{Identity: "cap", Video: &auth.VideoGrant{RoomJoin: true, Room: "rc"}}, time.Hour)

	status, body, _ := e.upgrade(t, "/rtc?protocol=17&access_token="+tok, http.Header{"Origin": {"http://evil.test"}})
	if status != 403 || body != "origin not allowed" {
		t.Errorf("refused origin: %d %q", status, body)
	}
	_, _, c := e.upgrade(t, "/rtc?protocol=17&access_token="+tok, http.Header{"Origin": {"http://ok.test"}})
	if c == nil {
		t.Fatal("allowed origin refused")
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	mt, data, err := c.ReadMessage()
	var sr livekit.SignalResponse
	if err != nil || mt != websocket.BinaryMessage || proto.Unmarshal(data, &sr) != nil || sr.GetJoin() == nil {
		t.Fatalf("first frame is not a join: %v", err)
	}
	// The per-IP cap counts LiveKit sessions too: plain text 429.
	if status, body, _ := e.upgrade(t, "/rtc?protocol=17&access_token="+tok, nil); status != 429 || body != "too many connections from this IP" {
		t.Errorf("over the cap: %d %q", status, body)
	}
}

// TestDialectFromRequest: every form an official client dials reaches the
// LiveKit dialect (a binary JoinResponse first); the old mock's clients, with
// or without a token, still get the JSON welcome.
func TestDialectFromRequest(t *testing.T) {
	e := startLiveKit(t, nil)
	tok := e.mint(t, auth.Claims{Identity: "ann", Video: &auth.VideoGrant{RoomJoin: true, Room: "dial"}}, time.Hour)
	cases := []struct {
		name   string
		path   string
		bearer bool
		json   bool
	}{
		{name: "Go SDK single PeerConnection (join_request on /rtc, no protocol)", path: "/rtc?access_token=" + tok + "&join_request=" + validJoin(t)},
		{name: "SDK query parameters without protocol", path: "/rtc?access_token=" + tok + "&sdk=go&version=2.19.0&auto_subscribe=1"},
		{name: "token only in the Authorization header", path: "/rtc", bearer: true},
		{name: "protocol parameter", path: "/rtc?protocol=16&access_token=" + tok},
		{name: "JSON client with a token", path: "/rtc?access_token=" + tok, json: true},
		{name: "JSON client without a token", path: "/rtc", json: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{}
			if tc.bearer {
				hdr.Set("Authorization", "Bearer "+tok)
			}
			status, body, c := e.upgrade(t, tc.path, hdr)
			if c == nil {
				t.Fatalf("upgrade refused: %d %q", status, body)
			}
			_ = c.SetReadDeadline(time.Now().Add(wait))
			mt, data, err := c.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if tc.json {
				var m struct{ Type string }
				if mt != websocket.TextMessage || json.Unmarshal(data, &m) != nil || m.Type != "welcome" {
					t.Fatalf("first frame %d %q; want the JSON welcome", mt, data)
				}
				return
			}
			var sr livekit.SignalResponse
			if mt != websocket.BinaryMessage || proto.Unmarshal(data, &sr) != nil || sr.GetJoin().GetParticipant().GetIdentity() != "ann" {
				t.Fatalf("first frame %d %q; want a binary JoinResponse for ann", mt, data)
			}
			_ = c.Close()
		})
	}
}

// TestLiveKitFullRoomRefusedBeforeUpgrade: a join to a room at its
// max_participants is answered before the WebSocket opens (the SDKs fail at
// once instead of waiting out their join timeout); validate says the same;
// the member's own identity may still come back (it replaces itself).
func TestLiveKitFullRoomRefusedBeforeUpgrade(t *testing.T) {
	e := startLiveKit(t, nil)
	if _, _, err := e.reg.CreateRoom(context.Background(), "small", rooms.RoomSettings{MaxParticipants: 1}); err != nil {
		t.Fatal(err)
	}
	tok := func(id string) string {
		return e.mint(t, auth.Claims{Identity: id, Video: &auth.VideoGrant{RoomJoin: true, Room: "small"}}, time.Hour)
	}
	status, body, alice := e.upgrade(t, "/rtc/v1?access_token="+tok("alice")+"&join_request="+validJoin(t), nil)
	if alice == nil {
		t.Fatalf("first join refused: %d %q", status, body)
	}
	_ = alice.SetReadDeadline(time.Now().Add(wait))
	if _, _, err := alice.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/rtc/v1?join_request=" + validJoin(t) + "&access_token=", "/rtc?protocol=16&access_token="} {
		status, body, c := e.upgrade(t, path+tok("bob"), nil)
		if c != nil || status != http.StatusInternalServerError || body != "room has exceeded its max participants" {
			t.Errorf("%s…: second join answered %d %q (socket %v); want 500 before the upgrade", path[:8], status, body, c != nil)
		}
		vpath := strings.Replace(path, "?", "/validate?", 1)
		if status, _, body := e.get(t, vpath+tok("bob"), nil); status != http.StatusInternalServerError || body != "room has exceeded its max participants" {
			t.Errorf("validate answered %d %q", status, body)
		}
	}
	if info, _ := e.reg.Get("small"); len(info.Participants) != 1 {
		t.Errorf("room has %d participants after the refusals, want 1", len(info.Participants))
	}
	if status, body, c := e.upgrade(t, "/rtc?protocol=16&access_token="+tok("alice"), nil); c == nil {
		t.Errorf("alice's own rejoin refused: %d %q", status, body)
	}
}
