package tokenservice

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/names"
)

var t0 = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// fakeRooms records reservations.
type fakeRooms struct {
	mu       sync.Mutex
	reserved []string
	err      error
}

func (f *fakeRooms) Reserve(room string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.reserved = append(f.reserved, room)
	return nil
}

func (f *fakeRooms) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reserved...)
}

func newService(rooms Reserver, policy names.Policy) (*Service, *auth.Verifier) {
	v := auth.NewVerifier(map[string]string{"devkey": "secret"}, fixed(t0))
	n := 0
	return New(Options{
		Minter:      auth.NewIssuer("devkey", "secret", fixed(t0)),
		Verifier:    v,
		Names:       policy,
		WSURL:       "ws://localhost:7880",
		DefaultTTL:  24 * time.Hour,
		NewIdentity: func() string { n++; return "00000000-0000-4000-8000-00000000000" + string(rune('0'+n)) },
		Rooms:       rooms,
	}), v
}

func b(v bool) *bool                 { return &v }
func s(v string) *string             { return &v }
func f(v float64) *float64           { return &v }
func base() Request                  { return Request{RoomName: "interview-1", ParticipantName: "Alice"} }
func with(fn func(*Request)) Request { r := base(); fn(&r); return r }

func TestPermissionMappingAndDefaults(t *testing.T) {
	type grants struct{ publish, subscribe, data, meta, create, join bool }
	defaults := grants{publish: true, subscribe: true, data: true, join: true}
	cases := []struct {
		name string
		p    Permissions
		want grants
	}{
		{"no permissions: defaults", Permissions{}, defaults},
		{"can_publish false", Permissions{CanPublish: b(false)}, grants{subscribe: true, data: true, join: true}},
		{"can_subscribe false", Permissions{CanSubscribe: b(false)}, grants{publish: true, data: true, join: true}},
		{"can_publish_data false", Permissions{CanPublishData: b(false)}, grants{publish: true, subscribe: true, join: true}},
		{"can_update_metadata true", Permissions{CanUpdateMetadata: b(true)}, grants{true, true, true, true, false, true}},
		{"can_create_room true", Permissions{CanCreateRoom: b(true)}, grants{true, true, true, false, true, true}},
		{"can_join_room false", Permissions{CanJoinRoom: b(false)}, grants{publish: true, subscribe: true, data: true}},
		{"all flipped", Permissions{b(false), b(false), b(false), b(true), b(true), b(false)}, grants{meta: true, create: true}},
		{"defaults restated", Permissions{b(true), b(true), b(true), b(false), b(false), b(true)}, defaults},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc, v := newService(nil, names.Strict)
			resp, err := svc.Join(with(func(r *Request) { r.Permissions = c.p }))
			if err != nil {
				t.Fatal(err)
			}
			cl, err := v.Verify(resp.Token)
			if err != nil {
				t.Fatal(err)
			}
			g := cl.Video
			got := grants{g.GetCanPublish(), g.GetCanSubscribe(), g.GetCanPublishData(), g.GetCanUpdateOwnMetadata(), g.RoomCreate, g.RoomJoin}
			if got != c.want {
				t.Errorf("grants %+v, want %+v", got, c.want)
			}
			// Written explicitly, never left to a verifier's defaults.
			if g.CanPublish == nil || g.CanSubscribe == nil || g.CanPublishData == nil || g.CanUpdateOwnMetadata == nil {
				t.Errorf("a permission was left unset: %+v", g)
			}
			if g.Room != "interview-1" || g.RoomAdmin || g.RoomList || g.RoomRecord || g.Hidden || g.Agent {
				t.Errorf("unexpected grants %+v", g)
			}
		})
	}
}

func TestResponseAndClaims(t *testing.T) {
	svc, v := newService(nil, names.Strict)
	resp, err := svc.Join(with(func(r *Request) {
		r.ParticipantIdentity = s("alice-1")
		r.Metadata = `{"role":"candidate"}`
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Response{Token: resp.Token, RoomName: "interview-1", ParticipantIdentity: "alice-1", ParticipantName: "Alice",
		WSURL: "ws://localhost:7880", ExpiresAt: "2026-08-02T12:00:00.000Z", ExpiresIn: 86400}
	if *resp != want {
		t.Errorf("response %+v\nwant %+v", *resp, want)
	}
	cl, err := v.Verify(resp.Token)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Identity != "alice-1" || cl.Name != "Alice" || cl.Metadata != `{"role":"candidate"}` || cl.Issuer != "devkey" ||
		!cl.ExpiresAt.Equal(t0.Add(24*time.Hour)) || !cl.NotBefore.Equal(t0) {
		t.Errorf("claims %+v", cl)
	}
	raw, _ := json.Marshal(resp)
	var keys map[string]any
	_ = json.Unmarshal(raw, &keys)
	for _, k := range []string{"token", "room_name", "participant_identity", "participant_name", "ws_url", "expires_at", "expires_in"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("JSON lacks %s: %s", k, raw)
		}
	}
}

func TestTTL(t *testing.T) {
	cases := []struct {
		name    string
		def     time.Duration
		hours   *float64
		want    time.Duration
		refused bool
	}{
		{"default from JWT_EXPIRY_HOURS", 24 * time.Hour, nil, 24 * time.Hour, false},
		{"other JWT_EXPIRY_HOURS", 2 * time.Hour, nil, 2 * time.Hour, false},
		{"1 hour", 24 * time.Hour, f(1), time.Hour, false},
		{"24 hours", 24 * time.Hour, f(24), 24 * time.Hour, false},
		{"0", 24 * time.Hour, f(0), 0, true},
		{"25", 24 * time.Hour, f(25), 0, true},
		{"negative", 24 * time.Hour, f(-3), 0, true},
		{"fraction", 24 * time.Hour, f(1.5), 0, true},
		{"huge", 24 * time.Hour, f(1e300), 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc, _ := newService(nil, names.Strict)
			svc.o.DefaultTTL = c.def
			resp, err := svc.Join(with(func(r *Request) { r.TTLHours = c.hours }))
			if c.refused {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != "ttl_hours" || fe.Msg != "ttl_hours must be a whole number of hours from 1 to 24" {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.ExpiresIn != int64(c.want/time.Second) || resp.ExpiresAt != Timestamp(t0.Add(c.want)) {
				t.Errorf("expires_in %d at %s, want %v", resp.ExpiresIn, resp.ExpiresAt, c.want)
			}
		})
	}
}

func TestDefaultTTLWhenUnset(t *testing.T) {
	svc := New(Options{Minter: auth.NewIssuer("k", "s", fixed(t0)), NewIdentity: func() string { return "x" }})
	resp, err := svc.Join(base())
	if err != nil || resp.ExpiresIn != 86400 {
		t.Fatalf("%v %+v", err, resp)
	}
}

func TestIdentityDefault(t *testing.T) {
	svc, _ := newService(nil, names.Strict)
	a, err1 := svc.Join(base())
	c, err2 := svc.Join(base())
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !strings.HasPrefix(a.ParticipantIdentity, "user_") || a.ParticipantIdentity == c.ParticipantIdentity {
		t.Errorf("identities %q %q", a.ParticipantIdentity, c.ParticipantIdentity)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name   string
		policy names.Policy
		req    Request
		field  string
		msg    string
	}{
		{"no room", names.Strict, with(func(r *Request) { r.RoomName = "" }), "room_name", "room_name and participant_name are required"},
		{"no name", names.Strict, with(func(r *Request) { r.ParticipantName = "" }), "participant_name", "room_name and participant_name are required"},
		{"neither", names.Strict, Request{}, "room_name", "room_name and participant_name are required"},
		{"room outside strict", names.Strict, with(func(r *Request) { r.RoomName = "<script>" }), "room_name", ""},
		{"room with control char", names.LiveKit, with(func(r *Request) { r.RoomName = "a\nb" }), "room_name", ""},
		{"whitespace room", names.Strict, with(func(r *Request) { r.RoomName = "   " }), "room_name", ""},
		{"name with bidi override", names.Strict, with(func(r *Request) { r.ParticipantName = "a\u202eb" }), "participant_name", ""},
		{"empty identity given", names.Strict, with(func(r *Request) { r.ParticipantIdentity = s("") }), "participant_identity", ""},
		{"identity with CRLF", names.LiveKit, with(func(r *Request) { r.ParticipantIdentity = s("a\r\nX: 1") }), "participant_identity", ""},
		{"metadata too long", names.Strict, with(func(r *Request) { r.Metadata = strings.Repeat("m", 513) }), "metadata", ""},
		{"metadata control char", names.Strict, with(func(r *Request) { r.Metadata = "a\x00" }), "metadata", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rooms := &fakeRooms{}
			svc, _ := newService(rooms, c.policy)
			_, err := svc.Room(c.req)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("err %v, want a FieldError on %s", err, c.field)
			}
			if c.msg != "" && fe.Msg != c.msg {
				t.Errorf("msg %q", fe.Msg)
			}
			if !strings.Contains(fe.Msg, c.field) {
				t.Errorf("message %q does not name %s", fe.Msg, c.field)
			}
			if len(rooms.list()) != 0 {
				t.Errorf("a refused request reserved %v", rooms.list())
			}
		})
	}
}

func TestLiveKitPolicyAcceptsUnicode(t *testing.T) {
	svc, v := newService(nil, names.LiveKit)
	resp, err := svc.Join(Request{RoomName: "会议室", ParticipantName: "Zoë", ParticipantIdentity: s("zoë")})
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := v.Verify(resp.Token)
	if cl.Video.Room != "会议室" || cl.Identity != "zoë" || cl.Name != "Zoë" {
		t.Errorf("%+v", cl)
	}
}

func TestRoomReservesJoinDoesNot(t *testing.T) {
	rooms := &fakeRooms{}
	svc, _ := newService(rooms, names.Strict)
	if _, err := svc.Join(base()); err != nil {
		t.Fatal(err)
	}
	if len(rooms.list()) != 0 {
		t.Fatalf("join reserved %v", rooms.list())
	}
	if _, err := svc.Room(base()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rooms.list(), []string{"interview-1"}) {
		t.Fatalf("reserved %v", rooms.list())
	}
	rooms.err = errors.New("registry closed")
	if _, err := svc.Room(base()); !errors.Is(err, ErrReserve) {
		t.Fatalf("err %v, want ErrReserve", err)
	}
	// Without a registry, /token/room still mints.
	svc2, _ := newService(nil, names.Strict)
	if _, err := svc2.Room(base()); err != nil {
		t.Fatal(err)
	}
}

func TestHugeMetadataUnderLiveKitPolicy(t *testing.T) {
	svc, _ := newService(nil, names.LiveKit)
	_, err := svc.Join(with(func(r *Request) { r.Metadata = strings.Repeat("m", 9000) }))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "metadata" {
		t.Fatalf("err %v", err)
	}
}

// signHS256 builds a token from a raw header and payload (test only).
func signHS256(t *testing.T, header, payload, secret string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(in))
	return in + "." + enc.EncodeToString(mac.Sum(nil))
}

func TestValidateCodes(t *testing.T) {
	svc, _ := newService(nil, names.Strict)
	now := t0.Unix()
	hdr := `{"alg":"HS256","typ":"JWT"}`
	claims := func(extra string) string {
		return `{"iss":"devkey","sub":"bob","nbf":` + itoa(now-10) + `,"video":{"roomJoin":true,"room":"r1"}` + extra + `}`
	}
	good := signHS256(t, hdr, claims(`,"exp":`+itoa(now+600)), "secret")
	cases := []struct {
		name  string
		token string
		code  auth.Code
	}{
		{"expired", signHS256(t, hdr, claims(`,"exp":`+itoa(now-600)), "secret"), auth.CodeExpired},
		{"not yet valid", signHS256(t, hdr, `{"iss":"devkey","sub":"b","exp":`+itoa(now+7200)+`,"nbf":`+itoa(now+600)+`}`, "secret"), auth.CodeNotYetValid},
		{"bad signature", signHS256(t, hdr, claims(`,"exp":`+itoa(now+600)), "other-secret"), auth.CodeBadSignature},
		{"signature changed", good[:len(good)-2] + flip(good[len(good)-2:]), auth.CodeBadSignature},
		{"unknown key", signHS256(t, hdr, `{"iss":"nokey","sub":"b","exp":`+itoa(now+600)+`}`, "secret"), auth.CodeUnknownKey},
		{"no iss", signHS256(t, hdr, `{"sub":"b","exp":`+itoa(now+600)+`}`, "secret"), auth.CodeUnknownKey},
		{"missing exp", signHS256(t, hdr, claims(""), "secret"), auth.CodeMissingExp},
		{"quoted exp", signHS256(t, hdr, claims(`,"exp":"`+itoa(now+600)+`"`), "secret"), auth.CodeMalformed},
		{"alg none", enc(`{"alg":"none"}`) + "." + enc(claims(`,"exp":`+itoa(now+600))) + ".", auth.CodeUnsupportedAlgorithm},
		{"RS256 header", signHS256(t, `{"alg":"RS256","typ":"JWT"}`, claims(`,"exp":`+itoa(now+600)), "secret"), auth.CodeUnsupportedAlgorithm},
		{"HS512", signHS256(t, `{"alg":"HS512"}`, claims(`,"exp":`+itoa(now+600)), "secret"), auth.CodeUnsupportedAlgorithm},
		{"empty", "", auth.CodeMalformed},
		{"garbage", "not a token", auth.CodeMalformed},
		{"two segments", "a.b", auth.CodeMalformed},
		{"many dots", strings.Repeat(".", 5000), auth.CodeMalformed},
		{"huge", strings.Repeat("a", 9000), auth.CodeMalformed},
		{"payload null", signHS256(t, hdr, `null`, "secret"), auth.CodeMalformed},
		{"bearer prefix kept", "Bearer " + good, auth.CodeMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := svc.Validate(c.token)
			if v.Valid || v.Code != c.code {
				t.Fatalf("valid=%v code=%q (%s), want %q", v.Valid, v.Code, v.Reason, c.code)
			}
			body := v.Body()
			if body["valid"] != false || body["code"] != string(c.code) || body["error"] == "" {
				t.Errorf("body %v", body)
			}
			if c.token != "" && len(c.token) > 8 && strings.Contains(body["error"].(string), c.token[len(c.token)-8:]) {
				t.Errorf("reason echoes the token: %v", body["error"])
			}
		})
	}
	v := svc.Validate(good)
	if !v.Valid {
		t.Fatalf("good token refused: %s", v.Reason)
	}
}

func TestValidBody(t *testing.T) {
	svc, _ := newService(nil, names.Strict)
	resp, err := svc.Room(with(func(r *Request) {
		r.ParticipantIdentity = s("alice")
		r.Metadata = "m"
		r.Permissions = Permissions{CanPublish: b(false), CanCreateRoom: b(true)}
		r.TTLHours = f(2)
	}))
	if err != nil {
		t.Fatal(err)
	}
	body := svc.Validate(resp.Token).Body()
	raw, _ := json.Marshal(body)
	var got map[string]any
	_ = json.Unmarshal(raw, &got)
	want := map[string]any{
		"valid": true, "identity": "alice", "name": "Alice", "room": "interview-1", "issuer": "devkey",
		"expires_at": "2026-08-01T14:00:00.000Z", "not_before": "2026-08-01T12:00:00.000Z",
		"issued_at": "2026-08-01T12:00:00.000Z", "metadata": "m", "attributes": map[string]any{},
		"grants": map[string]any{"room": "interview-1", "roomJoin": true, "roomCreate": true, "canPublish": false,
			"canSubscribe": true, "canPublishData": true, "canUpdateOwnMetadata": false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body\n %s\nwant\n %v", raw, want)
	}
}

// fixture is a token file of testdata/tokens (minted by the official SDKs,
// lk, or hand-built; see scripts/fixtures).
type fixture struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Token  string `json:"token"`
	Key    string `json:"key"`
	Secret string `json:"secret"`
	Now    int64  `json:"now"`
	Code   string `json:"code"`
	Want   *struct {
		Identity string            `json:"identity"`
		Name     string            `json:"name"`
		Issuer   string            `json:"issuer"`
		Room     string            `json:"room"`
		Metadata string            `json:"metadata"`
		Attrs    map[string]string `json:"attributes"`
		Eff      map[string]bool   `json:"effective"`
	} `json:"want"`
}

func TestValidateFixtures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "tokens", "*.json"))
	if len(files) == 0 {
		t.Skip("no testdata/tokens fixtures")
	}
	sdk := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var fx fixture
		if err := json.Unmarshal(raw, &fx); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Run(fx.Name, func(t *testing.T) {
			keys := map[string]string{}
			if fx.Key != "" {
				keys[fx.Key] = fx.Secret
			}
			svc := New(Options{Verifier: auth.NewVerifier(keys, fixed(time.Unix(fx.Now, 0)))})
			v := svc.Validate(fx.Token)
			body := v.Body()
			if _, err := json.Marshal(body); err != nil {
				t.Fatalf("body does not encode: %v", err)
			}
			if fx.Code != "" {
				if v.Valid || string(v.Code) != fx.Code {
					t.Fatalf("valid=%v code=%q, want %q", v.Valid, v.Code, fx.Code)
				}
				return
			}
			if !v.Valid {
				t.Fatalf("refused (%s): %s", v.Code, v.Reason)
			}
			if w := fx.Want; w != nil {
				if body["identity"] != w.Identity || body["name"] != w.Name || body["issuer"] != w.Issuer || body["room"] != w.Room || body["metadata"] != w.Metadata {
					t.Errorf("body %v, want %+v", body, w)
				}
				g := body["grants"].(map[string]any)
				for k, want := range w.Eff {
					if g[k] != want {
						t.Errorf("grants[%s] = %v, want %v", k, g[k], want)
					}
				}
				if len(w.Attrs) > 0 && !reflect.DeepEqual(body["attributes"], w.Attrs) {
					t.Errorf("attributes %v", body["attributes"])
				}
			}
		})
		if strings.Contains(fx.Source, "livekit-server-sdk") || strings.Contains(fx.Source, "livekit/protocol") {
			sdk++
		}
	}
	if sdk == 0 {
		t.Error("no SDK-minted fixture was exercised")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// flip changes the last characters of a signature so it no longer matches.
func flip(s string) string {
	if strings.HasPrefix(s, "A") {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
