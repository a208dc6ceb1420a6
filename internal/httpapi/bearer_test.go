package httpapi

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/config"
)

var (
	prodAPISecret = strings.Repeat("s", 40)
	prodJWTSecret = "caller-secret-" + strings.Repeat("j", 30)
)

func prodEnv(extra map[string]string) map[string]string {
	env := map[string]string{"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": prodAPISecret, "JWT_SECRET": prodJWTSecret}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func callerToken(t *testing.T, secret string, ttl time.Duration, at time.Time) string {
	t.Helper()
	tok, err := auth.MintCaller(secret, "ci-script", ttl, at)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// protectedCalls are the routes SPEC §3.1 marks "production bearer", each
// with a body that succeeds once the caller is let in.
var protectedCalls = []struct{ path, body string }{
	{"/api/livekit/token", `{"roomName":"r","participantName":"u"}`},
	{"/token/room", `{"room_name":"r","participant_name":"u"}`},
	{"/token/join", `{"room_name":"r","participant_name":"u"}`},
	{"/token/validate", `{"token":"a.b.c"}`},
}

func TestProductionBearerRefusals(t *testing.T) {
	s := newSvcServer(t, prodEnv(nil), svcOpts{})
	now := time.Now()
	livekitTok, _, _ := auth.NewIssuer("devkey", prodAPISecret, nil).Mint(auth.Claims{Identity: "x"}, time.Hour)
	enc := base64.RawURLEncoding.EncodeToString
	cases := []struct {
		name, header string
	}{
		{"no header", ""},
		{"empty bearer", "Bearer "},
		{"basic", "Basic Zm9vOmJhcg=="},
		{"no scheme", callerToken(t, prodJWTSecret, time.Hour, now)},
		{"two tokens", "Bearer a.b.c d.e.f"},
		{"garbage", "Bearer garbage"},
		{"wrong secret", "Bearer " + callerToken(t, strings.Repeat("x", 40), time.Hour, now)},
		{"LiveKit token instead", "Bearer " + livekitTok},
		{"expired", "Bearer " + callerToken(t, prodJWTSecret, time.Hour, now.Add(-3*time.Hour))},
		{"not yet valid", "Bearer " + sign(`{"alg":"HS256","typ":"JWT"}`, `{"nbf":`+unixString(now.Add(time.Hour))+`,"exp":`+unixString(now.Add(2*time.Hour))+`}`, prodJWTSecret)},
		{"no exp", "Bearer " + sign(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"x"}`, prodJWTSecret)},
		{"alg none", "Bearer " + enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{"exp":`+unixString(now.Add(time.Hour))+`}`)) + "."},
		{"HS512", "Bearer " + sign(`{"alg":"HS512"}`, `{"exp":`+unixString(now.Add(time.Hour))+`}`, prodJWTSecret)},
	}
	for _, c := range cases {
		for _, call := range protectedCalls {
			r := s.do(t, http.MethodPost, call.path, call.body, map[string]string{"Authorization": c.header})
			if r.status != 401 || r.body["code"] != "unauthenticated" || r.body["error"] == "" {
				t.Errorf("%s %s: %d %s", c.name, call.path, r.status, r.raw)
				continue
			}
			if r.header.Get("WWW-Authenticate") == "" || r.header.Get("RateLimit-Limit") != "" {
				t.Errorf("%s %s: headers %v", c.name, call.path, r.header)
			}
			if tok := strings.TrimPrefix(c.header, "Bearer "); len(tok) > 12 && strings.Contains(r.raw, tok[len(tok)-12:]) {
				t.Errorf("%s %s: the answer echoes the token: %s", c.name, call.path, r.raw)
			}
		}
	}
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func TestProductionBearerLetsCallersIn(t *testing.T) {
	s := newSvcServer(t, prodEnv(map[string]string{"RATE_LIMIT_MAX": "2"}), svcOpts{})
	good := map[string]string{"Authorization": "Bearer " + callerToken(t, prodJWTSecret, time.Hour, time.Now())}
	lower := map[string]string{"Authorization": "bearer " + callerToken(t, prodJWTSecret, time.Hour, time.Now())}

	// Refused callers use no quota: five 401s, including an oversized body
	// (the bearer is checked before the body cap), then the full quota.
	for range 4 {
		if r := s.post(t, "/token/room", `{"room_name":"r","participant_name":"u"}`); r.status != 401 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	}
	if r := s.post(t, "/token/join", `{"metadata":"`+strings.Repeat("m", 4000)+`"}`); r.status != 401 {
		t.Fatalf("oversized unauthenticated body: %d %s", r.status, r.raw)
	}
	for i, call := range protectedCalls {
		hdr := good
		if i%2 == 1 {
			hdr = lower // the scheme is case-insensitive (RFC 6750)
		}
		r := s.do(t, http.MethodPost, call.path, call.body, hdr)
		if r.status != 200 {
			t.Errorf("%s with a caller bearer: %d %s", call.path, r.status, r.raw)
		}
	}
	// /token/room and /token/join used the quota of 2; the refused calls did not.
	if r := s.do(t, http.MethodPost, "/token/join", `{"room_name":"r","participant_name":"u"}`, good); r.status != 429 {
		t.Errorf("third /token/* call: %d", r.status)
	}
	// With a bearer, the body cap still applies.
	if r := s.do(t, http.MethodPost, "/token/validate", `{"token":"`+strings.Repeat("a", 17<<10)+`"}`, good); r.status != 413 {
		t.Errorf("oversized body with a bearer: %d", r.status)
	}

	// Open routes stay open in production.
	for _, path := range []string{"/livekit/status", "/stats", "/health", "/metrics"} {
		if r := s.do(t, http.MethodGet, path, "", nil); r.status != 200 {
			t.Errorf("GET %s without a bearer: %d %s", path, r.status, r.raw)
		}
	}
	// Origin comes first: a foreign origin is 403 whatever the bearer; a
	// preflight (which carries no Authorization) from an allowed one is 204.
	if r := s.do(t, http.MethodPost, "/token/room", `{}`, map[string]string{"Origin": "http://evil.example"}); r.status != 403 {
		t.Errorf("foreign origin: %d", r.status)
	}
	pre := s.do(t, http.MethodOptions, "/token/room", "", map[string]string{"Origin": "http://localhost:3000",
		"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"})
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		!strings.Contains(strings.ToLower(pre.header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("preflight: %d %v", pre.status, pre.header)
	}
}

func TestDevelopmentIsOpen(t *testing.T) {
	s := newSvcServer(t, nil, svcOpts{})
	for _, call := range protectedCalls {
		for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer garbage"}} {
			if r := s.do(t, http.MethodPost, call.path, call.body, hdr); r.status != 200 {
				t.Errorf("%s %v: %d %s", call.path, hdr, r.status, r.raw)
			}
		}
	}
}

// The start-up refusals of production mode (SPEC §5.4) that make the bearer
// check meaningful: no JWT_SECRET, a short one, a development value, an API secret.
func TestProductionConfigRefusals(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{prodEnv(map[string]string{"JWT_SECRET": ""}), "JWT_SECRET"},
		{prodEnv(map[string]string{"JWT_SECRET": "short"}), "JWT_SECRET"},
		{prodEnv(map[string]string{"JWT_SECRET": "secret"}), "JWT_SECRET"},
		{prodEnv(map[string]string{"LIVEKIT_API_SECRET": "secret"}), "LIVEKIT_API_SECRET"},
		{prodEnv(map[string]string{"LIVEKIT_API_SECRET": "test-api-secret"}), "LIVEKIT_API_SECRET"},
		{prodEnv(map[string]string{"LIVEKIT_API_SECRET": strings.Repeat("s", 31)}), "LIVEKIT_API_SECRET"},
		{prodEnv(map[string]string{"LIVEKIT_KEYS": "other: secret"}), "LIVEKIT_KEYS"},
		{prodEnv(map[string]string{"JWT_SECRET": prodAPISecret}), "JWT_SECRET"},
		{prodEnv(map[string]string{"JWT_EXPIRY_HOURS": "25"}), "JWT_EXPIRY_HOURS"},
		{prodEnv(map[string]string{"JWT_EXPIRY_HOURS": "0"}), "JWT_EXPIRY_HOURS"},
	}
	for _, c := range cases {
		_, err := config.Load(nil, func(k string) string { return c.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want one naming %s", c.env, err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), prodAPISecret) || strings.Contains(err.Error(), prodJWTSecret)) {
			t.Errorf("the error shows a secret: %v", err)
		}
	}
	if _, err := config.Load(nil, func(k string) string { return prodEnv(nil)[k] }, io.Discard); err != nil {
		t.Errorf("good production config refused: %v", err)
	}
}
