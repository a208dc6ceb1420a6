package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// MaxTokenBytes caps what is parsed at all; LiveKit tokens are a few
	// hundred bytes unless they carry large metadata (SPEC §5.2).
	MaxTokenBytes = 8 << 10
	// Leeway is the clock skew allowed on exp and nbf, LiveKit's tokenLeeway.
	// As in golang-jwt (and so LiveKit), a token is expired once now-Leeway
	// reaches exp, and valid once now+Leeway reaches nbf.
	Leeway = time.Minute

	algHS256 = "HS256"
)

// Verifier checks LiveKit tokens against the configured API key pairs.
// It is safe for concurrent use.
type Verifier struct {
	keys   map[string]string
	parser *jwt.Parser
}

// NewVerifier accepts tokens whose iss names one of keys (API key → secret).
// Pairs with an empty key or secret are ignored: an empty secret would let
// anyone sign. now is the clock (nil: time.Now).
func NewVerifier(keys map[string]string, now func() time.Time) *Verifier {
	own := make(map[string]string, len(keys))
	for k, s := range keys {
		if k != "" && s != "" {
			own[k] = s
		}
	}
	return &Verifier{keys: own, parser: newParser(now)}
}

// Verify checks token and returns its claims. A refusal is an *Error.
func (v *Verifier) Verify(token string) (*Claims, error) {
	p, err := verify(v.parser, token, func(iss string) (string, *Error) {
		if iss == "" {
			return "", refuse(CodeUnknownKey, "token has no issuer (iss), so no API key to check it with")
		}
		secret, ok := v.keys[iss]
		if !ok {
			return "", refuse(CodeUnknownKey, "token is signed with an unknown API key")
		}
		return secret, nil
	})
	if err != nil {
		return nil, err
	}
	return p.claims(), nil
}

// CallerVerifier checks the callers' own bearer tokens of production mode
// (SPEC §5.4): HS256 with JWT_SECRET, exp required, 60 s leeway, no iss or
// sub requirement. It is safe for concurrent use.
type CallerVerifier struct {
	secret string
	parser *jwt.Parser
}

// NewCallerVerifier checks tokens signed with secret; now is the clock (nil:
// time.Now). With an empty secret every token is refused.
func NewCallerVerifier(secret string, now func() time.Time) *CallerVerifier {
	return &CallerVerifier{secret: secret, parser: newParser(now)}
}

// Verify returns nil for a good caller token, else an *Error.
func (v *CallerVerifier) Verify(token string) error {
	_, err := verify(v.parser, token, func(string) (string, *Error) {
		if v.secret == "" {
			return "", refuse(CodeUnknownKey, "no caller secret is configured")
		}
		return v.secret, nil
	})
	if err != nil {
		return err
	}
	return nil
}

func newParser(now func() time.Time) *jwt.Parser {
	if now == nil {
		now = time.Now
	}
	return jwt.NewParser(
		jwt.WithValidMethods([]string{algHS256}),
		jwt.WithLeeway(Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(now),
	)
}

// verify runs the checks of SPEC §5.2 in this order: size, shape, header
// (alg), payload types, key (by iss), signature, exp/nbf. The secret comes
// from secretFor and from nothing in the header (kid, jku, x5u are ignored).
func verify(parser *jwt.Parser, token string, secretFor func(iss string) (string, *Error)) (*payload, *Error) {
	if token == "" {
		return nil, refuse(CodeMalformed, "token is empty")
	}
	if len(token) > MaxTokenBytes {
		return nil, refuse(CodeMalformed, "token is longer than 8 KiB")
	}
	// Counting dots first keeps "a.b.c.d…" cheap: no split, no allocation.
	header, rest, _ := strings.Cut(token, ".")
	if strings.Count(rest, ".") != 1 {
		return nil, refuse(CodeMalformed, "token must have three dot-separated parts")
	}
	if e := checkHeader(header); e != nil {
		return nil, e
	}

	p := &payload{}
	_, err := parser.ParseWithClaims(token, p, func(*jwt.Token) (any, error) {
		// UnmarshalJSON is not called for a JSON null payload; golang-jwt
		// would then validate a nil Claims and panic, so stop here.
		if !p.decoded {
			return nil, refuse(CodeMalformed, "token payload is not a JSON object")
		}
		secret, e := secretFor(p.iss)
		if e != nil {
			return nil, e
		}
		return []byte(secret), nil
	})
	if err == nil {
		return p, nil
	}
	return nil, classify(err)
}

// checkHeader decodes the header segment and requires alg HS256. golang-jwt
// would refuse other algorithms too, but as a bad signature; reading alg
// here gives the precise code.
func checkHeader(seg string) *Error {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return refuse(CodeMalformed, "token header is not base64url")
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(raw, &h); err != nil || h == nil {
		return refuse(CodeMalformed, "token header is not a JSON object")
	}
	algRaw, ok := h["alg"]
	if !ok {
		return refuse(CodeMalformed, "token header has no alg")
	}
	var alg string
	if err := json.Unmarshal(algRaw, &alg); err != nil {
		return refuse(CodeMalformed, "token header alg is not a string")
	}
	if alg != algHS256 {
		return refuse(CodeUnsupportedAlgorithm, describeAlg(alg)+" is not accepted; tokens must be HS256")
	}
	return nil
}

// describeAlg names a well-known algorithm and nothing else, so that text
// from the token never reaches a message.
func describeAlg(alg string) string {
	switch strings.ToUpper(alg) {
	case "NONE":
		return "an unsigned token (alg none)"
	case "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EDDSA":
		return "algorithm " + strings.ToUpper(alg)
	}
	return "the token's algorithm"
}

func classify(err error) *Error {
	var ae *Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return refuse(CodeBadSignature, "token signature is invalid")
	case errors.Is(err, jwt.ErrTokenMalformed):
		return refuse(CodeMalformed, "token is not a well-formed JWT")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return refuse(CodeMissingExp, "token has no exp claim; an expiry is required")
	case errors.Is(err, jwt.ErrTokenExpired):
		return refuse(CodeExpired, "token has expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return refuse(CodeNotYetValid, "token is not valid yet (nbf is in the future)")
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return refuse(CodeUnsupportedAlgorithm, "token cannot be verified with HS256")
	}
	return refuse(CodeMalformed, "token is not a well-formed JWT")
}

// payload is the JWT body as golang-jwt sees it (jwt.Claims). Its
// UnmarshalJSON reads the registered claims by their exact names and types,
// which RegisteredClaims does not: encoding/json would match "EXP" and fill
// a json.Number from a quoted "9999999999".
type payload struct {
	decoded       bool
	iss, sub, jti string
	exp, nbf, iat *jwt.NumericDate
	grants        wireGrants
}

func (p *payload) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return refuse(CodeMalformed, "token payload is not a JSON object")
	}
	for _, c := range []struct {
		name string
		dst  **jwt.NumericDate
	}{{"exp", &p.exp}, {"nbf", &p.nbf}, {"iat", &p.iat}} {
		raw, ok := m[c.name]
		if !ok || isNull(raw) {
			continue
		}
		d, err := numericDate(raw)
		if err != nil {
			return refuse(CodeMalformed, "token claim "+c.name+" must be a JSON number of seconds")
		}
		*c.dst = d
	}
	for _, c := range []struct {
		name string
		dst  *string
	}{{"iss", &p.iss}, {"sub", &p.sub}, {"jti", &p.jti}} {
		raw, ok := m[c.name]
		if !ok || isNull(raw) {
			continue
		}
		if err := json.Unmarshal(raw, c.dst); err != nil {
			return refuse(CodeMalformed, "token claim "+c.name+" must be a string")
		}
	}
	if err := json.Unmarshal(b, &p.grants); err != nil {
		return refuse(CodeMalformed, "token has a LiveKit claim of the wrong type")
	}
	p.decoded = true
	return nil
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// maxSeconds keeps absurd dates ordered (far future stays future) instead of
// wrapping around in the int64 conversion.
const maxSeconds = 1 << 53

func numericDate(raw json.RawMessage) (*jwt.NumericDate, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return nil, errors.New("not a number")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, errors.New("not a finite number")
	}
	f = max(-maxSeconds, min(maxSeconds, f))
	sec, frac := math.Modf(f)
	return jwt.NewNumericDate(time.Unix(int64(sec), int64(frac*1e9))), nil
}

func (p *payload) GetExpirationTime() (*jwt.NumericDate, error) { return p.exp, nil }
func (p *payload) GetIssuedAt() (*jwt.NumericDate, error)       { return p.iat, nil }
func (p *payload) GetNotBefore() (*jwt.NumericDate, error)      { return p.nbf, nil }
func (p *payload) GetIssuer() (string, error)                   { return p.iss, nil }
func (p *payload) GetSubject() (string, error)                  { return p.sub, nil }
func (p *payload) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

func (p *payload) claims() *Claims {
	g := p.grants
	c := &Claims{
		Identity:   p.sub,
		Name:       g.Name,
		Metadata:   g.Metadata,
		Kind:       g.Kind,
		Video:      g.Video,
		SHA256:     g.SHA256,
		Issuer:     p.iss,
		ID:         p.jti,
		IssuedAt:   timeOf(p.iat),
		NotBefore:  timeOf(p.nbf),
		ExpiresAt:  timeOf(p.exp),
		Attributes: g.Attributes,
	}
	if len(c.Attributes) == 0 {
		c.Attributes = nil
	}
	if len(g.RoomConfig) > 0 && !isNull(g.RoomConfig) {
		c.RoomConfig = g.RoomConfig
	}
	return c
}

func timeOf(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time
}
