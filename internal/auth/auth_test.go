package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is 2026-01-01T00:00:00Z, the clock of these tests.
var t0 = time.Unix(1767225600, 0).UTC()

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// decodeSegments returns a token's header and payload as raw JSON objects.
func decodeSegments(t *testing.T, tok string) (header map[string]json.RawMessage, payload map[string]json.RawMessage, headerText string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(h, &header); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(p, &payload); err != nil {
		t.Fatal(err)
	}
	return header, payload, string(h)
}

func keysOf(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestMintWritesLiveKitClaims(t *testing.T) {
	iss := NewIssuer("devkey", "secret", fixed(t0.Add(900*time.Millisecond)))
	tests := []struct {
		name     string
		claims   Claims
		wantKeys []string
		check    func(t *testing.T, p map[string]json.RawMessage)
	}{
		{
			name:     "empty claims: registered ones only, jti even without sub",
			claims:   Claims{},
			wantKeys: []string{"exp", "iat", "iss", "jti", "nbf"},
		},
		{
			name: "participant",
			claims: Claims{
				Identity: "alice", Name: "Alice", Metadata: "m",
				Attributes: map[string]string{"k": "v"},
				Video: &VideoGrant{RoomJoin: true, Room: "r1", CanPublish: Bool(true), CanSubscribe: Bool(false),
					CanPublishData: Bool(true), CanUpdateOwnMetadata: Bool(false)},
			},
			wantKeys: []string{"attributes", "exp", "iat", "iss", "jti", "metadata", "name", "nbf", "sub", "video"},
			check: func(t *testing.T, p map[string]json.RawMessage) {
				sameJSON(t, "video", p["video"], []byte(`{"roomJoin":true,"room":"r1","canPublish":true,"canSubscribe":false,"canPublishData":true,"canUpdateOwnMetadata":false}`))
				sameJSON(t, "attributes", p["attributes"], []byte(`{"k":"v"}`))
			},
		},
		{
			name:     "kind, sha256 and room config kept as given",
			claims:   Claims{Identity: "a", Kind: "agent", SHA256: "abc=", RoomConfig: json.RawMessage(`{"emptyTimeout":5}`)},
			wantKeys: []string{"exp", "iat", "iss", "jti", "kind", "nbf", "roomConfig", "sha256", "sub"},
			check: func(t *testing.T, p map[string]json.RawMessage) {
				sameJSON(t, "roomConfig", p["roomConfig"], []byte(`{"emptyTimeout":5}`))
			},
		},
		{
			name:     "null room config and empty attributes are left out",
			claims:   Claims{Identity: "a", RoomConfig: json.RawMessage(`null`), Attributes: map[string]string{}},
			wantKeys: []string{"exp", "iat", "iss", "jti", "nbf", "sub"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, exp, err := iss.Mint(tt.claims, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			h, p, htext := decodeSegments(t, tok)
			if htext != `{"alg":"HS256","typ":"JWT"}` || len(h) != 2 {
				t.Errorf("header %s", htext)
			}
			if got := keysOf(p); !reflect.DeepEqual(got, tt.wantKeys) {
				t.Errorf("claims %v, want %v", got, tt.wantKeys)
			}
			sameJSON(t, "iss", p["iss"], []byte(`"devkey"`))
			sameJSON(t, "iat", p["iat"], []byte("1767225600"))
			sameJSON(t, "nbf", p["nbf"], []byte("1767225600"))
			sameJSON(t, "exp", p["exp"], []byte("1767229200"))
			if !exp.Equal(t0.Add(time.Hour)) {
				t.Errorf("expiresAt %v, want %v", exp, t0.Add(time.Hour))
			}
			var jti string
			if err := json.Unmarshal(p["jti"], &jti); err != nil || !uuidV4.MatchString(jti) {
				t.Errorf("jti %s is not a UUID", p["jti"])
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestMintThenVerifyGivesTheSameClaims(t *testing.T) {
	iss := NewIssuer("devkey", "secret", fixed(t0))
	if iss.APIKey() != "devkey" {
		t.Errorf("APIKey() = %q", iss.APIKey())
	}
	v := NewVerifier(map[string]string{"devkey": "secret"}, fixed(t0.Add(time.Minute)))
	in := Claims{
		Identity: "alice", Name: "Alice ✓", Metadata: `{"a":"<b>"}`, Kind: "standard",
		Attributes: map[string]string{"team": "blue"},
		Video: &VideoGrant{RoomJoin: true, Room: "r1", CanPublishSources: []string{"camera"},
			CanPublishData: Bool(false), Hidden: true, DestinationRoom: "r2"},
		RoomConfig: json.RawMessage(`{"maxParticipants":3}`),
		SHA256:     "x",
	}
	tok, exp, err := iss.Mint(in, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Issuer != "devkey" || !uuidV4.MatchString(got.ID) {
		t.Errorf("issuer %q id %q", got.Issuer, got.ID)
	}
	if !got.IssuedAt.Equal(t0) || !got.NotBefore.Equal(t0) || !got.ExpiresAt.Equal(exp) {
		t.Errorf("times iat %v nbf %v exp %v", got.IssuedAt, got.NotBefore, got.ExpiresAt)
	}
	got.Issuer, got.ID, got.IssuedAt, got.NotBefore, got.ExpiresAt = "", "", time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(*got, in) {
		t.Errorf("claims\n got %+v\nwant %+v", *got, in)
	}
}

func TestMintGivesUniqueJTIs(t *testing.T) {
	iss := NewIssuer("devkey", "secret", fixed(t0))
	seen := map[string]bool{}
	for range 500 {
		tok, _, err := iss.Mint(Claims{Identity: "same"}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		_, p, _ := decodeSegments(t, tok)
		j := string(p["jti"])
		if seen[j] {
			t.Fatalf("jti %s repeated", j)
		}
		seen[j] = true
	}
}

func TestMintRefusesWhatCannotBeVerified(t *testing.T) {
	tests := []struct {
		name        string
		key, secret string
		claims      Claims
		ttl         time.Duration
		wantErr     error
	}{
		{"no key", "", "s3cr3t-value", Claims{}, time.Hour, nil},
		{"no secret", "devkey", "", Claims{}, time.Hour, nil},
		{"zero ttl", "devkey", "s3cr3t-value", Claims{}, 0, nil},
		{"negative ttl", "devkey", "s3cr3t-value", Claims{}, -time.Hour, nil},
		{"room config not JSON", "devkey", "s3cr3t-value", Claims{RoomConfig: json.RawMessage(`{x`)}, time.Hour, nil},
		{"over 8 KiB", "devkey", "s3cr3t-value", Claims{Metadata: strings.Repeat("m", 7000)}, time.Hour, ErrTokenTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, _, err := NewIssuer(tt.key, tt.secret, fixed(t0)).Mint(tt.claims, tt.ttl)
			if err == nil {
				t.Fatalf("minted %d bytes, want an error", len(tok))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

func TestVerifyHonoursTimesWithOneMinuteLeeway(t *testing.T) {
	iss := NewIssuer("devkey", "secret", fixed(t0))
	tok, _, err := iss.Mint(Claims{Identity: "a"}, time.Hour) // nbf t0, exp t0+1h
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Duration // after t0
		want Code
	}{
		{-10 * time.Minute, CodeNotYetValid},
		{-61 * time.Second, CodeNotYetValid},
		{-60 * time.Second, ""},
		{-30 * time.Second, ""},
		{0, ""},
		{time.Hour, ""},
		{time.Hour + 30*time.Second, ""},
		{time.Hour + 59*time.Second, ""},
		{time.Hour + 60*time.Second, CodeExpired}, // golang-jwt: exp must be after now-leeway
		{time.Hour + 61*time.Second, CodeExpired},
		{time.Hour + 10*time.Minute, CodeExpired},
	}
	for _, tt := range tests {
		t.Run(tt.at.String(), func(t *testing.T) {
			_, err := NewVerifier(map[string]string{"devkey": "secret"}, fixed(t0.Add(tt.at))).Verify(tok)
			if got := CodeOf(err); got != tt.want {
				t.Errorf("code %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestVerifierPicksTheSecretByIssuer(t *testing.T) {
	keys := map[string]string{"k1": "s1", "k2": "s2", "empty": ""}
	v := NewVerifier(keys, fixed(t0))
	keys["k3"] = "s3" // the verifier keeps its own copy
	tests := []struct {
		key, secret string
		want        Code
	}{
		{"k1", "s1", ""},
		{"k2", "s2", ""},
		{"k1", "s2", CodeBadSignature},
		{"k3", "s3", CodeUnknownKey},
		{"empty", "x", CodeUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.key+"/"+tt.secret, func(t *testing.T) {
			tok, _, err := NewIssuer(tt.key, tt.secret, fixed(t0)).Mint(Claims{Identity: "i"}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(tok)
			if got := CodeOf(err); got != tt.want {
				t.Fatalf("code %q (%v), want %q", got, err, tt.want)
			}
			if err == nil && (c.Issuer != tt.key || c.Identity != "i") {
				t.Errorf("claims %+v", c)
			}
		})
	}
}

func TestErrorMessagesAreSentencesWithoutTheToken(t *testing.T) {
	for _, f := range loadFixtures(t) {
		if f.Code == "" {
			continue
		}
		_, err := NewVerifier(map[string]string{f.Key: f.Secret}, clockAt(f.Now)).Verify(f.Token)
		var ae *Error
		if !errors.As(err, &ae) {
			t.Fatalf("%s: error %T is not *Error", f.Name, err)
		}
		msg := err.Error()
		if msg == "" || len(msg) > 120 || strings.ContainsAny(msg, "\n\x00") {
			t.Errorf("%s: message %q", f.Name, msg)
		}
		assertNoLeak(t, msg, f.Token, f.Secret)
	}
}

// Refusing an oversized or oddly cut token must cost next to nothing
// (CVE-2025-30204 was 16 bytes per dot).
func TestShapeRefusalsDoNotAllocate(t *testing.T) {
	v := NewVerifier(map[string]string{"devkey": "secret"}, fixed(t0))
	inputs := map[string]string{
		"100000 dots":     strings.Repeat(".", 100000),
		"20 KiB token":    "eyJ" + strings.Repeat("A", 20<<10) + ".e30.",
		"8 KiB of dots":   strings.Repeat(".", MaxTokenBytes),
		"four segments":   "a.b.c.d",
		"many short dots": strings.Repeat("a.", 4000),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			var err error
			allocs := testing.AllocsPerRun(20, func() { _, err = v.Verify(in) })
			if CodeOf(err) != CodeMalformed {
				t.Fatalf("code %q, want malformed", CodeOf(err))
			}
			if allocs > 1 { // the *Error itself
				t.Errorf("%v allocations to refuse it", allocs)
			}
		})
	}
}

func TestVerifyIsSafeForConcurrentUse(t *testing.T) {
	iss := NewIssuer("devkey", "secret", fixed(t0))
	v := NewVerifier(map[string]string{"devkey": "secret"}, fixed(t0))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				tok, _, err := iss.Mint(Claims{Identity: "p", Name: string(rune('a' + i))}, time.Hour)
				if err == nil {
					_, err = v.Verify(tok)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCallerTokens(t *testing.T) {
	const jwtSecret = "caller-secret-of-at-least-32-bytes!!"
	good, err := MintCaller(jwtSecret, "ci", time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := decodeSegments(t, good)
	if got := keysOf(p); !reflect.DeepEqual(got, []string{"exp", "iat", "jti", "nbf", "sub"}) {
		t.Errorf("caller claims %v", got)
	}
	noSub, err := MintCaller(jwtSecret, "", time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	// Any iss is fine for a caller token, even a LiveKit key.
	lkShaped, _, err := NewIssuer("devkey", jwtSecret, fixed(t0)).Mint(Claims{Identity: "x"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := MintCaller("another-secret", "ci", time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		secret string
		token  string
		at     time.Time
		want   Code
	}{
		{"good", jwtSecret, good, t0.Add(time.Minute), ""},
		{"no subject", jwtSecret, noSub, t0, ""},
		{"LiveKit-shaped", jwtSecret, lkShaped, t0, ""},
		{"within leeway", jwtSecret, good, t0.Add(time.Hour + 59*time.Second), ""},
		{"expired", jwtSecret, good, t0.Add(time.Hour + 2*time.Minute), CodeExpired},
		{"not yet valid", jwtSecret, good, t0.Add(-2 * time.Minute), CodeNotYetValid},
		{"wrong secret", jwtSecret, wrong, t0, CodeBadSignature},
		{"no secret configured", "", good, t0, CodeUnknownKey},
		{"garbage", jwtSecret, "Bearer abc", t0, CodeMalformed},
		{"no exp", jwtSecret, hsToken(t, jwtSecret, `{"sub":"ci"}`), t0, CodeMissingExp},
		{"quoted exp", jwtSecret, hsToken(t, jwtSecret, `{"sub":"ci","exp":"1767229200"}`), t0, CodeMalformed},
		{"alg none", jwtSecret, "eyJhbGciOiJub25lIn0." + strings.Split(good, ".")[1] + ".", t0, CodeUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewCallerVerifier(tt.secret, fixed(tt.at)).Verify(tt.token)
			if got := CodeOf(err); got != tt.want {
				t.Errorf("code %q (%v), want %q", got, err, tt.want)
			}
			if err == nil && tt.want != "" {
				t.Errorf("nil error with code")
			}
		})
	}
	if _, err := MintCaller("", "ci", time.Hour, t0); err == nil {
		t.Error("MintCaller without a secret succeeded")
	}
}

// hsToken signs payload with HS256 through the Issuer's own path, for
// payloads the Issuer would never write.
func hsToken(t *testing.T, secret, payload string) string {
	t.Helper()
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	p := base64.RawURLEncoding.EncodeToString([]byte(payload))
	return h + "." + p + "." + hmacSHA256(secret, h+"."+p)
}

func TestParseBearer(t *testing.T) {
	tests := []struct {
		header string
		token  string
		ok     bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", true},
		{"bearer abc", "abc", true},
		{"BEARER   abc  ", "abc", true},
		{"  Bearer abc", "abc", true},
		{"", "", false},
		{"   ", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic Zm9vOmJhcg==", "", false},
		{"tokenwithoutprefix", "", false},
		{"Bearerabc", "", false},
		{"Bearer a b", "", false},
		{"Bearer a,Bearer b", "", false},
		{"Bearer\tabc", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			tok, ok := ParseBearer(tt.header)
			if tok != tt.token || ok != tt.ok {
				t.Errorf("ParseBearer(%q) = %q, %v; want %q, %v", tt.header, tok, ok, tt.token, tt.ok)
			}
			_, err := CheckBearer(tt.header)
			if (err == nil) != tt.ok {
				t.Errorf("CheckBearer error %v", err)
			}
			if err != nil && (CodeOf(err) != CodeMalformed || strings.Contains(err.Error(), "Zm9v")) {
				t.Errorf("CheckBearer error %v", err)
			}
		})
	}
}

func TestGrantDefaults(t *testing.T) {
	tests := []struct {
		name                string
		g                   *VideoGrant
		pub, sub, data, md  bool
		metrics, agentAdmin bool
	}{
		{"nil grant", nil, true, true, true, false, false, false},
		{"empty grant", &VideoGrant{}, true, true, true, false, false, false},
		{"publish off, data follows", &VideoGrant{CanPublish: Bool(false)}, false, true, false, false, false, false},
		{"publish off, data on", &VideoGrant{CanPublish: Bool(false), CanPublishData: Bool(true)}, false, true, true, false, false, false},
		{"publish on, data off", &VideoGrant{CanPublishData: Bool(false)}, true, true, false, false, false, false},
		{"subscribe off", &VideoGrant{CanSubscribe: Bool(false)}, true, false, true, false, false, false},
		{"explicit trues", &VideoGrant{CanUpdateOwnMetadata: Bool(true), CanSubscribeMetrics: Bool(true), CanManageAgentSession: Bool(true)}, true, true, true, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []bool{tt.g.GetCanPublish(), tt.g.GetCanSubscribe(), tt.g.GetCanPublishData(), tt.g.GetCanUpdateOwnMetadata(), tt.g.GetCanSubscribeMetrics(), tt.g.GetCanManageAgentSession()}
			want := []bool{tt.pub, tt.sub, tt.data, tt.md, tt.metrics, tt.agentAdmin}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("publish/subscribe/data/metadata/metrics/agent = %v, want %v", got, want)
			}
		})
	}
}

func TestCanPublishSource(t *testing.T) {
	limited := &VideoGrant{CanPublishSources: []string{"camera", "microphone"}}
	tests := []struct {
		g      *VideoGrant
		source string
		want   bool
	}{
		{nil, "camera", true},
		{&VideoGrant{}, "screen_share", true},
		{limited, "camera", true},
		{limited, "MICROPHONE", true},
		{limited, "screen_share", false},
		{&VideoGrant{CanPublish: Bool(false)}, "camera", false},
		{&VideoGrant{CanPublish: Bool(false), CanPublishSources: []string{"camera"}}, "camera", false},
	}
	for i, tt := range tests {
		if got := tt.g.CanPublishSource(tt.source); got != tt.want {
			t.Errorf("%d: CanPublishSource(%q) = %v, want %v", i, tt.source, got, tt.want)
		}
	}
}
