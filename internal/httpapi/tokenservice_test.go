package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/metrics"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/tokenservice"
)

// svcServer is a real server on 127.0.0.1 with the token service wired as
// cmd/livekit-mock wires it: a room registry that /token/room reserves in,
// and a metrics instance fed by the registry's events.
type svcServer struct {
	*testServer
	reg     *rooms.Registry
	figures *metrics.Metrics
	signal  *fakeSignal
}

type svcOpts struct {
	now  func() time.Time  // server clock; nil: time.Now
	keys map[string]string // accepted key pairs; nil: the configured ones
}

// reserver adapts the registry to tokenservice.Reserver.
type reserver struct{ reg *rooms.Registry }

func (r reserver) Reserve(name string) error { _, err := r.reg.Reserve(name); return err }

type fakeSignal struct{ accepting atomic.Bool }

func (f *fakeSignal) Accepting() bool { return f.accepting.Load() }

type fakeConns int

func (f fakeConns) Connections() int { return int(f) }

func newSvcServer(t *testing.T, env map[string]string, o svcOpts) *svcServer {
	t.Helper()
	// Registered first, so it runs last: after the server and the registry
	// are closed, nothing of this test may still run.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	cfg := testConfig(t, env)
	now := o.now
	if now == nil {
		now = time.Now
	}
	keys := o.keys
	if keys == nil {
		keys = cfg.Keys
	}
	policy, _ := names.ParsePolicy(cfg.NamePolicy)
	var reg *rooms.Registry
	m := metrics.New(metrics.Options{Now: now, Version: Version, Mode: cfg.Environment,
		Rooms: func() (int, int) { return reg.Counts() }, Connections: func() int { return 2 }})
	reg = rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Hour, DepartureTimeout: time.Hour, Now: now,
		Observer: rooms.ObserverFunc(func(ev rooms.Event) { m.RoomEvent(ev.Kind.String()) })})
	t.Cleanup(reg.Close)
	issuer := auth.NewIssuer(cfg.APIKey, cfg.APISecret, now)
	verifier := auth.NewVerifier(keys, now)
	idg := ids.New(nil)
	sig := &fakeSignal{}
	sig.accepting.Store(true)
	s := serveDeps(t, cfg, now, Deps{
		Issuer: issuer, Verifier: verifier, IDs: idg, Rooms: reg, Conns: fakeConns(2),
		TokenService: tokenservice.New(tokenservice.Options{
			Minter: issuer, Verifier: verifier, Names: policy, WSURL: cfg.WSURL,
			DefaultTTL: time.Duration(cfg.JWTExpiryHours) * time.Hour, NewIdentity: idg.UUID, Rooms: reserver{reg},
		}),
		Figures: m,
		Signal:  sig,
	})
	return &svcServer{testServer: &testServer{Server: s, cfg: cfg}, reg: reg, figures: m, signal: sig}
}

func (s *svcServer) post(t *testing.T, path, body string) reply {
	return s.do(t, http.MethodPost, path, body, nil)
}

func verifyToken(t *testing.T, s *svcServer, tok string) *auth.Claims {
	t.Helper()
	c, err := auth.NewVerifier(s.cfg.Keys, time.Now).Verify(tok)
	if err != nil {
		t.Fatalf("minted token does not verify: %v", err)
	}
	return c
}

func TestServiceResponseShape(t *testing.T) {
	s := newSvcServer(t, nil, svcOpts{})
	for _, path := range []string{"/token/room", "/token/join"} {
		r := s.post(t, path, `{"room_name":"interview-7","participant_name":"Alice","participant_identity":"alice","metadata":"{\"role\":\"candidate\"}"}`)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.raw)
		}
		want := []string{"token", "room_name", "participant_identity", "participant_name", "ws_url", "expires_at", "expires_in"}
		if len(r.body) != len(want) {
			t.Errorf("%s: keys %v", path, r.body)
		}
		for _, k := range want {
			if _, ok := r.body[k]; !ok {
				t.Errorf("%s: missing %s in %s", path, k, r.raw)
			}
		}
		if r.body["room_name"] != "interview-7" || r.body["participant_identity"] != "alice" || r.body["participant_name"] != "Alice" ||
			r.body["ws_url"] != "ws://localhost:7880" || r.body["expires_in"] != float64(86400) {
			t.Errorf("%s: %s", path, r.raw)
		}
		exp, err := time.Parse("2006-01-02T15:04:05.000Z", r.body["expires_at"].(string))
		if err != nil {
			t.Errorf("expires_at %v", r.body["expires_at"])
		}
		c := verifyToken(t, s, r.body["token"].(string))
		if c.Identity != "alice" || c.Name != "Alice" || c.Metadata != `{"role":"candidate"}` || c.Video.Room != "interview-7" ||
			!c.ExpiresAt.Equal(exp) || c.ExpiresAt.Sub(c.NotBefore) != 24*time.Hour {
			t.Errorf("%s: claims %+v", path, c)
		}
		if r.header.Get("RateLimit-Limit") != "10" {
			t.Errorf("%s: no RateLimit headers", path)
		}
	}
	// No identity: user_<uuid>, fresh each time.
	a, b := s.post(t, "/token/join", `{"room_name":"r","participant_name":"n"}`), s.post(t, "/token/join", `{"room_name":"r","participant_name":"n"}`)
	ida, _ := a.body["participant_identity"].(string)
	if !strings.HasPrefix(ida, "user_") || len(ida) != len("user_")+36 || ida == b.body["participant_identity"] {
		t.Errorf("identities %v %v", a.body["participant_identity"], b.body["participant_identity"])
	}
}

func TestServicePermissionMapping(t *testing.T) {
	s := newSvcServer(t, map[string]string{"RATE_LIMIT_MAX": "0"}, svcOpts{})
	type g struct{ publish, subscribe, data, meta, create, join bool }
	def := g{publish: true, subscribe: true, data: true, join: true}
	cases := []struct {
		perms string
		want  g
	}{
		{``, def},
		{`,"permissions":{}`, def},
		{`,"permissions":{"can_publish":false}`, g{subscribe: true, data: true, join: true}},
		{`,"permissions":{"can_subscribe":false}`, g{publish: true, data: true, join: true}},
		{`,"permissions":{"can_publish_data":false}`, g{publish: true, subscribe: true, join: true}},
		{`,"permissions":{"can_update_metadata":true}`, g{true, true, true, true, false, true}},
		{`,"permissions":{"can_create_room":true}`, g{true, true, true, false, true, true}},
		{`,"permissions":{"can_join_room":false}`, g{publish: true, subscribe: true, data: true}},
		{`,"permissions":{"can_publish":false,"can_subscribe":false,"can_publish_data":false,"can_update_metadata":true,"can_create_room":true,"can_join_room":false}`, g{meta: true, create: true}},
		// Unknown keys and case variants are ignored; they never grant anything.
		{`,"permissions":{"room_admin":true,"CAN_PUBLISH":false,"can_record":true},"roomAdmin":true,"canPublish":false`, def},
	}
	for _, c := range cases {
		for _, path := range []string{"/token/room", "/token/join"} {
			r := s.post(t, path, `{"room_name":"r1","participant_name":"u"`+c.perms+`}`)
			if r.status != 200 {
				t.Fatalf("%s %s: %d %s", path, c.perms, r.status, r.raw)
			}
			v := verifyToken(t, s, r.body["token"].(string)).Video
			got := g{v.GetCanPublish(), v.GetCanSubscribe(), v.GetCanPublishData(), v.GetCanUpdateOwnMetadata(), v.RoomCreate, v.RoomJoin}
			if got != c.want {
				t.Errorf("%s %s: %+v, want %+v", path, c.perms, got, c.want)
			}
			if v.RoomAdmin || v.RoomRecord || v.RoomList {
				t.Errorf("%s %s: extra grants %+v", path, c.perms, v)
			}
			// The token says it explicitly, for any verifier's defaults.
			wire := claimsOf(t, r.body["token"].(string))["video"].(map[string]any)
			for _, k := range []string{"canPublish", "canSubscribe", "canPublishData", "canUpdateOwnMetadata"} {
				if _, ok := wire[k]; !ok {
					t.Errorf("%s %s: %s not written", path, c.perms, k)
				}
			}
		}
	}
}

func TestServiceTTL(t *testing.T) {
	cases := []struct {
		env    string // JWT_EXPIRY_HOURS
		field  string
		status int
		want   int64
	}{
		{"", ``, 200, 86400},
		{"2", ``, 200, 7200},
		{"2", `,"ttl_hours":1`, 200, 3600},
		{"", `,"ttl_hours":24`, 200, 86400},
		{"", `,"ttl_hours":5.0`, 200, 18000},
		{"", `,"ttl_hours":0`, 400, 0},
		{"", `,"ttl_hours":25`, 400, 0},
		{"", `,"ttl_hours":-1`, 400, 0},
		{"", `,"ttl_hours":1.5`, 400, 0},
		{"", `,"ttl_hours":1e999`, 400, 0},
		{"", `,"ttl_hours":"3"`, 400, 0},
		{"", `,"ttl_hours":null`, 400, 0},
		{"", `,"ttl_hours":[1]`, 400, 0},
	}
	for _, c := range cases {
		env := map[string]string{"RATE_LIMIT_MAX": "0"}
		if c.env != "" {
			env["JWT_EXPIRY_HOURS"] = c.env
		}
		s := newSvcServer(t, env, svcOpts{})
		r := s.post(t, "/token/join", `{"room_name":"r","participant_name":"u"`+c.field+`}`)
		if r.status != c.status {
			t.Errorf("JWT_EXPIRY_HOURS=%q %s: %d %s", c.env, c.field, r.status, r.raw)
			continue
		}
		if c.status == 400 {
			if r.body["code"] != "invalid_argument" || r.body["error"] != "ttl_hours must be a whole number of hours from 1 to 24" {
				t.Errorf("%s: %s", c.field, r.raw)
			}
			continue
		}
		if r.body["expires_in"] != float64(c.want) {
			t.Errorf("%s: expires_in %v, want %d", c.field, r.body["expires_in"], c.want)
		}
		cl := verifyToken(t, s, r.body["token"].(string))
		if got := cl.ExpiresAt.Sub(cl.NotBefore); got != time.Duration(c.want)*time.Second {
			t.Errorf("%s: token lives %v", c.field, got)
		}
	}
}

func TestServiceBadInputs(t *testing.T) {
	s := newSvcServer(t, map[string]string{"RATE_LIMIT_MAX": "0"}, svcOpts{})
	big := `{"room_name":"r","participant_name":"u","metadata":"` + strings.Repeat("m", 1100) + `"}`
	cases := []struct {
		name   string
		body   string
		hdr    map[string]string
		status int
		code   string
		msg    string // exact, or "" for any naming the field below
		field  string
	}{
		{"empty body", ``, nil, 400, "invalid_argument", "room_name and participant_name are required", ""},
		{"no room", `{"participant_name":"u"}`, nil, 400, "invalid_argument", "room_name and participant_name are required", ""},
		{"empty name", `{"room_name":"r","participant_name":""}`, nil, 400, "invalid_argument", "room_name and participant_name are required", ""},
		{"camelCase keys are not ours", `{"roomName":"r","participantName":"u"}`, nil, 400, "invalid_argument", "room_name and participant_name are required", ""},
		{"case variant", `{"Room_Name":"r","participant_name":"u"}`, nil, 400, "invalid_argument", "room_name and participant_name are required", ""},
		{"room number", `{"room_name":1,"participant_name":"u"}`, nil, 400, "invalid_argument", "room_name must be a string", ""},
		{"name null", `{"room_name":"r","participant_name":null}`, nil, 400, "invalid_argument", "participant_name must be a string", ""},
		{"identity object", `{"room_name":"r","participant_name":"u","participant_identity":{}}`, nil, 400, "invalid_argument", "participant_identity must be a string", ""},
		{"metadata number", `{"room_name":"r","participant_name":"u","metadata":5}`, nil, 400, "invalid_argument", "metadata must be a string", ""},
		{"permissions array", `{"room_name":"r","participant_name":"u","permissions":[]}`, nil, 400, "invalid_argument", "permissions must be an object", ""},
		{"permissions null", `{"room_name":"r","participant_name":"u","permissions":null}`, nil, 400, "invalid_argument", "permissions must be an object", ""},
		{"permission string", `{"room_name":"r","participant_name":"u","permissions":{"can_publish":"false"}}`, nil, 400, "invalid_argument", "permissions.can_publish must be a boolean", ""},
		{"permission number", `{"room_name":"r","participant_name":"u","permissions":{"can_create_room":1}}`, nil, 400, "invalid_argument", "permissions.can_create_room must be a boolean", ""},
		{"script room (strict)", `{"room_name":"<script>alert(1)</script>","participant_name":"u"}`, nil, 400, "invalid_argument", "", "room_name"},
		{"path room", `{"room_name":"../../etc/passwd","participant_name":"u"}`, nil, 400, "invalid_argument", "", "room_name"},
		{"CRLF identity", `{"room_name":"r","participant_name":"u","participant_identity":"a\r\nX-Injected: 1"}`, nil, 400, "invalid_argument", "", "participant_identity"},
		{"empty identity", `{"room_name":"r","participant_name":"u","participant_identity":""}`, nil, 400, "invalid_argument", "", "participant_identity"},
		{"zero-width name", `{"room_name":"r","participant_name":"a\u200bb"}`, nil, 400, "invalid_argument", "", "participant_name"},
		{"metadata over 512", `{"room_name":"r","participant_name":"u","metadata":"` + strings.Repeat("m", 600) + `"}`, nil, 400, "invalid_argument", "", "metadata"},
		{"over BODY_LIMIT", big, nil, 413, "payload_too_large", "Request payload too large", ""},
		{"truncated JSON", `{"room_name":"r",`, nil, 400, "invalid_json", "Invalid JSON body", ""},
		{"trailing data", `{"room_name":"r","participant_name":"u"} x`, nil, 400, "invalid_json", "Invalid JSON body", ""},
		{"array body", `[{"room_name":"r","participant_name":"u"}]`, nil, 400, "invalid_json", "Invalid JSON body", ""},
		{"text/plain", `{"room_name":"r","participant_name":"u"}`, map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type", "Content-Type must be application/json", ""},
	}
	for _, c := range cases {
		for _, path := range []string{"/token/room", "/token/join"} {
			r := s.do(t, http.MethodPost, path, c.body, c.hdr)
			if r.status != c.status || r.body["code"] != c.code {
				t.Errorf("%s %s: %d %s", path, c.name, r.status, r.raw)
				continue
			}
			msg, _ := r.body["error"].(string)
			if c.msg != "" && msg != c.msg {
				t.Errorf("%s %s: error %q, want %q", path, c.name, msg, c.msg)
			}
			if c.field != "" && !strings.Contains(msg, c.field) {
				t.Errorf("%s %s: error %q does not name %s", path, c.name, msg, c.field)
			}
			if strings.Contains(msg, "script") || strings.Contains(msg, "passwd") || strings.Contains(msg, "Injected") {
				t.Errorf("%s %s: error echoes the input: %q", path, c.name, msg)
			}
		}
	}
	// None of them made a room.
	if n, _ := s.reg.Counts(); n != 0 {
		t.Errorf("%d rooms after refused requests", n)
	}
	// GET is 405 with Allow: POST.
	r := s.do(t, http.MethodGet, "/token/room", "", nil)
	if r.status != 405 || r.header.Get("Allow") != "POST" {
		t.Errorf("GET /token/room: %d %v", r.status, r.header)
	}
}

func TestServiceRateLimitHasItsOwnBucket(t *testing.T) {
	s := newSvcServer(t, map[string]string{"RATE_LIMIT_MAX": "3"}, svcOpts{})
	ok := `{"room_name":"r","participant_name":"u"}`
	// Oversized and malformed bodies use no quota.
	for range 3 {
		if r := s.post(t, "/token/room", `{"room_name":`); r.status != 400 || r.header.Get("RateLimit-Limit") != "" {
			t.Fatalf("malformed: %d %v", r.status, r.header)
		}
	}
	// /token/room and /token/join share one bucket; a bad field uses quota.
	steps := []struct {
		path, body string
		status     int
		remaining  string
	}{
		{"/token/room", ok, 200, "2"},
		{"/token/join", `{"room_name":1}`, 400, "1"},
		{"/token/join", ok, 200, "0"},
		{"/token/room", ok, 429, "0"},
		{"/token/join", ok, 429, "0"},
	}
	for i, st := range steps {
		r := s.post(t, st.path, st.body)
		if r.status != st.status || r.header.Get("RateLimit-Remaining") != st.remaining || r.header.Get("RateLimit-Policy") != "3;w=60" {
			t.Fatalf("step %d %s: %d remaining %q %s", i, st.path, r.status, r.header.Get("RateLimit-Remaining"), r.raw)
		}
		if st.status == 429 {
			if r.body["code"] != "rate_limited" || r.body["error"] != msgRateLimited || r.header.Get("Retry-After") == "" || r.body["retryAfter"] == nil {
				t.Errorf("429: %v %s", r.header, r.raw)
			}
		}
	}
	// /api/livekit/token has its own bucket; /token/validate has none.
	if r := s.mint(t, `{"roomName":"r","participantName":"u"}`); r.status != 200 || r.header.Get("RateLimit-Remaining") != "2" {
		t.Errorf("/api/livekit/token: %d %v", r.status, r.header.Get("RateLimit-Remaining"))
	}
	for range 5 {
		if r := s.post(t, "/token/validate", `{"token":"x"}`); r.status != 200 || r.header.Get("RateLimit-Limit") != "" {
			t.Fatalf("/token/validate: %d %v", r.status, r.header)
		}
	}
}

func TestTokenRoomReservesTheRoom(t *testing.T) {
	s := newSvcServer(t, nil, svcOpts{})
	if r := s.post(t, "/token/join", `{"room_name":"joined-only","participant_name":"u"}`); r.status != 200 {
		t.Fatal(r.raw)
	}
	if _, ok := s.reg.Get("joined-only"); ok {
		t.Error("/token/join created a room")
	}
	if r := s.post(t, "/token/room", `{"room_name":"reserved","participant_name":"u"}`); r.status != 200 {
		t.Fatal(r.raw)
	}
	ri, ok := s.reg.Get("reserved")
	if !ok || len(ri.Participants) != 0 || !strings.HasPrefix(ri.Sid, "RM_") {
		t.Fatalf("reserved room: %v %+v", ok, ri)
	}
	// Reserving again keeps the same room.
	if r := s.post(t, "/token/room", `{"room_name":"reserved","participant_name":"v"}`); r.status != 200 {
		t.Fatal(r.raw)
	}
	if again, _ := s.reg.Get("reserved"); again.Sid != ri.Sid {
		t.Errorf("room replaced: %s then %s", ri.Sid, again.Sid)
	}
	st := s.do(t, http.MethodGet, "/livekit/status", "", nil)
	if st.body["rooms"] != float64(1) || st.body["participants"] != float64(0) {
		t.Errorf("status after reservation: %s", st.raw)
	}
	// A closed registry: 503, no token.
	s.reg.Close()
	r := s.post(t, "/token/room", `{"room_name":"late","participant_name":"u"}`)
	if r.status != 503 || r.body["code"] != "unavailable" || r.body["token"] != nil {
		t.Errorf("closed registry: %d %s", r.status, r.raw)
	}
}

// sign builds an HS256 token from a raw header and payload (test only).
func sign(header, payload, secret string) string {
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(in))
	return in + "." + enc.EncodeToString(mac.Sum(nil))
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestValidateCodes(t *testing.T) {
	s := newSvcServer(t, nil, svcOpts{})
	now := time.Now().Unix()
	n := func(d int64) string { return strconv.FormatInt(now+d, 10) }
	hdr := `{"alg":"HS256","typ":"JWT"}`
	body := func(exp string) string {
		return `{"iss":"devkey","sub":"bob","name":"Bob","nbf":` + n(-10) + exp + `,"video":{"roomJoin":true,"room":"r1"}}`
	}
	cases := []struct {
		name, token, code string
	}{
		{"expired", sign(hdr, body(`,"exp":`+n(-600)), "secret"), "expired"},
		{"not yet valid", sign(hdr, `{"iss":"devkey","sub":"b","nbf":`+n(600)+`,"exp":`+n(7200)+`}`, "secret"), "not_yet_valid"},
		{"wrong secret", sign(hdr, body(`,"exp":`+n(600)), "not-the-secret"), "bad_signature"},
		{"unknown iss", sign(hdr, `{"iss":"stranger","sub":"b","exp":`+n(600)+`}`, "secret"), "unknown_key"},
		{"garbage", "garbage", "malformed"},
		{"empty", "", "malformed"},
		{"huge", strings.Repeat("x", 12000), "malformed"},
		{"quoted exp", sign(hdr, body(`,"exp":"`+n(600)+`"`), "secret"), "malformed"},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(body(`,"exp":`+n(600)))) + ".", "unsupported_algorithm"},
		{"RS256 header", sign(`{"alg":"RS256","typ":"JWT"}`, body(`,"exp":`+n(600)), "secret"), "unsupported_algorithm"},
		{"missing exp", sign(hdr, body(""), "secret"), "missing_exp"},
	}
	for _, c := range cases {
		r := s.post(t, "/token/validate", `{"token":`+jsonString(c.token)+`}`)
		if r.status != 200 || r.body["valid"] != false || r.body["code"] != c.code {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
			continue
		}
		if msg, _ := r.body["error"].(string); msg == "" || (len(c.token) > 10 && strings.Contains(r.raw, c.token[len(c.token)-10:])) {
			t.Errorf("%s: error %q (must say why, never echo the token)", c.name, msg)
		}
		if len(r.body) != 3 {
			t.Errorf("%s: keys %s", c.name, r.raw)
		}
	}

	// A token from /token/room validates, with the fields of SPEC §5.3.
	m := s.post(t, "/token/room", `{"room_name":"r2","participant_name":"Carol","participant_identity":"carol","permissions":{"can_publish":false}}`)
	r := s.post(t, "/token/validate", `{"token":`+jsonString(m.body["token"].(string))+`}`)
	if r.status != 200 || r.body["valid"] != true || r.body["identity"] != "carol" || r.body["name"] != "Carol" || r.body["room"] != "r2" ||
		r.body["issuer"] != "devkey" || r.body["expires_at"] != m.body["expires_at"] || r.body["not_before"] == nil {
		t.Fatalf("valid: %s", r.raw)
	}
	g := r.body["grants"].(map[string]any)
	if g["canPublish"] != false || g["canSubscribe"] != true || g["roomJoin"] != true || g["roomCreate"] != false || g["room"] != "r2" {
		t.Errorf("grants %v", g)
	}
}

func TestValidateBadBodies(t *testing.T) {
	s := newSvcServer(t, nil, svcOpts{})
	cases := []struct {
		name   string
		body   string
		status int
		code   string
		msg    string
	}{
		{"no token", `{}`, 400, "invalid_argument", "token is required"},
		{"empty body", ``, 400, "invalid_argument", "token is required"},
		{"case variant only", `{"Token":"a.b.c"}`, 400, "invalid_argument", "token is required"},
		{"number", `{"token":123}`, 400, "invalid_argument", "token must be a string"},
		{"null", `{"token":null}`, 400, "invalid_argument", "token must be a string"},
		{"object", `{"token":{"a":1}}`, 400, "invalid_argument", "token must be a string"},
		{"array", `{"token":["a"]}`, 400, "invalid_argument", "token must be a string"},
		{"garbage body", `garbage`, 400, "invalid_json", "Invalid JSON body"},
		{"bare string", `"eyJ..."`, 400, "invalid_json", "Invalid JSON body"},
		{"over 16 KiB", `{"token":"` + strings.Repeat("a", 17<<10) + `"}`, 413, "payload_too_large", "Request payload too large"},
	}
	for _, c := range cases {
		r := s.post(t, "/token/validate", c.body)
		if r.status != c.status || r.body["code"] != c.code || r.body["error"] != c.msg {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
		}
	}
	// Up to 16 KiB is read: a 15 KiB token is an answer, not a 413.
	if r := s.post(t, "/token/validate", `{"token":"`+strings.Repeat("a", 15<<10)+`"}`); r.status != 200 || r.body["code"] != "malformed" {
		t.Errorf("15 KiB token: %d %s", r.status, r.raw)
	}
	// Never a 500, whatever the token.
	odd := []string{".", "..", "...", "a.b.c", "\u0000", "é.é.é", strings.Repeat("a.", 3000), "eyJhbGciOiJIUzI1NiJ9.bnVsbA.x",
		"eyJhbGciOiJIUzI1NiJ9.W10.x", "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.", "Bearer a.b.c"}
	for _, tok := range odd {
		r := s.post(t, "/token/validate", `{"token":`+jsonString(tok)+`}`)
		if r.status != 200 || r.body["valid"] != false {
			t.Errorf("%q: %d %s", tok, r.status, r.raw)
		}
	}
}

// tokenFixture is a file of testdata/tokens.
type tokenFixture struct {
	Name, Source, Token, Key, Secret, Code string
	Now                                    int64
	Want                                   *struct {
		Identity, Name, Issuer, Room string
	}
}

func TestValidateSDKTokens(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "tokens", "*.json"))
	if len(files) == 0 {
		t.Skip("no testdata/tokens fixtures")
	}
	seen := map[string]bool{}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var fx tokenFixture
		if err := json.Unmarshal(raw, &fx); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		sdk := strings.Contains(fx.Source, "livekit-server-sdk") || strings.Contains(fx.Source, "livekit/protocol")
		if !sdk {
			continue // hand-built fixtures are covered by internal/tokenservice
		}
		t.Run(fx.Name, func(t *testing.T) {
			at := time.Unix(fx.Now, 0)
			s := newSvcServer(t, nil, svcOpts{now: func() time.Time { return at }, keys: map[string]string{fx.Key: fx.Secret}})
			r := s.post(t, "/token/validate", `{"token":`+jsonString(fx.Token)+`}`)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			if fx.Code != "" {
				if r.body["valid"] != false || r.body["code"] != fx.Code {
					t.Errorf("want code %s: %s", fx.Code, r.raw)
				}
				return
			}
			if r.body["valid"] != true {
				t.Fatalf("SDK token refused: %s", r.raw)
			}
			if w := fx.Want; w != nil && (r.body["identity"] != w.Identity || r.body["name"] != w.Name || r.body["issuer"] != w.Issuer || r.body["room"] != w.Room) {
				t.Errorf("got %s, want %+v", r.raw, *w)
			}
		})
		seen[strings.Fields(fx.Source)[0]] = true
	}
	if !seen["livekit-server-sdk"] {
		t.Error("no livekit-server-sdk token was validated")
	}
}

// Key rotation (docs/http-api.md, "Security notes"): tokens of every configured pair
// validate; new ones are minted with LIVEKIT_API_KEY.
func TestValidateDuringKeyRotation(t *testing.T) {
	s := newSvcServer(t, map[string]string{"LIVEKIT_API_KEY": "newkey", "LIVEKIT_API_SECRET": "new-secret",
		"LIVEKIT_KEYS": "oldkey: old-secret"}, svcOpts{})
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	old := sign(`{"alg":"HS256","typ":"JWT"}`, `{"iss":"oldkey","sub":"a","exp":`+exp+`}`, "old-secret")
	minted := s.post(t, "/token/join", `{"room_name":"r","participant_name":"u"}`).body["token"].(string)
	for tok, iss := range map[string]string{old: "oldkey", minted: "newkey"} {
		r := s.post(t, "/token/validate", `{"token":`+jsonString(tok)+`}`)
		if r.body["valid"] != true || r.body["issuer"] != iss {
			t.Errorf("issuer %s: %s", iss, r.raw)
		}
	}
	// The old key with the new secret is a bad signature, not a valid token.
	forged := sign(`{"alg":"HS256","typ":"JWT"}`, `{"iss":"oldkey","sub":"a","exp":`+exp+`}`, "new-secret")
	if r := s.post(t, "/token/validate", `{"token":`+jsonString(forged)+`}`); r.body["code"] != "bad_signature" {
		t.Errorf("forged: %s", r.raw)
	}
}
