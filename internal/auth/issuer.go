package auth

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrTokenTooLarge is returned by Mint when the claims would make a token
// longer than MaxTokenBytes, which every verifier here refuses.
var ErrTokenTooLarge = errors.New("token would be longer than 8 KiB; shorten metadata or attributes")

// Issuer mints LiveKit access tokens with one API key pair. It is safe for
// concurrent use.
type Issuer struct {
	key, secret string
	now         func() time.Time
}

// NewIssuer mints with apiKey/apiSecret; now is the clock (nil: time.Now).
func NewIssuer(apiKey, apiSecret string, now func() time.Time) *Issuer {
	if now == nil {
		now = time.Now
	}
	return &Issuer{key: apiKey, secret: apiSecret, now: now}
}

// APIKey is the key tokens are minted with (never the secret).
func (i *Issuer) APIKey() string { return i.key }

// mintClaims is the payload as LiveKit's Go AccessToken writes it:
// registered claims first, then the grants, empty ones left out.
type mintClaims struct {
	jwt.RegisteredClaims
	wireGrants
}

// Mint signs c as an HS256 token valid for ttl from now: iss is the API key,
// sub c.Identity, iat = nbf = now, exp = now+ttl (whole seconds), jti a fresh
// random UUID. c.Issuer, c.ID and c's times are ignored. expiresAt equals the
// exp claim.
func (i *Issuer) Mint(c Claims, ttl time.Duration) (token string, expiresAt time.Time, err error) {
	if i.key == "" || i.secret == "" {
		return "", time.Time{}, errors.New("auth: API key and secret are required to mint")
	}
	g := wireGrants{
		Name:       c.Name,
		Kind:       c.Kind,
		Video:      c.Video,
		SHA256:     c.SHA256,
		Metadata:   c.Metadata,
		Attributes: c.Attributes,
	}
	if len(c.RoomConfig) > 0 && !isNull(c.RoomConfig) {
		if !json.Valid(c.RoomConfig) {
			return "", time.Time{}, errors.New("auth: roomConfig is not valid JSON")
		}
		g.RoomConfig = c.RoomConfig
	}
	return sign(i.secret, i.key, c.Identity, ttl, i.now(), g)
}

// MintCaller makes a caller bearer token for production mode (SPEC §5.4,
// `livekit-mock token create --caller`): HS256 with secret, sub = subject
// when given, iat = nbf = now, exp = now+ttl, jti.
func MintCaller(secret, subject string, ttl time.Duration, now time.Time) (string, error) {
	if secret == "" {
		return "", errors.New("auth: a caller secret (JWT_SECRET) is required to mint")
	}
	tok, _, err := sign(secret, "", subject, ttl, now, wireGrants{})
	return tok, err
}

func sign(secret, iss, sub string, ttl time.Duration, now time.Time, g wireGrants) (string, time.Time, error) {
	if ttl < time.Second {
		return "", time.Time{}, fmt.Errorf("auth: ttl must be at least one second, got %v", ttl)
	}
	// Whole seconds, so that the returned expiry is exactly the exp claim.
	iat := time.Unix(now.Unix(), 0).UTC()
	exp := iat.Add(ttl.Truncate(time.Second))
	jti, err := newJTI()
	if err != nil {
		return "", time.Time{}, err
	}
	mc := mintClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    iss,
			Subject:   sub,
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(iat),
			IssuedAt:  jwt.NewNumericDate(iat),
			ID:        jti,
		},
		wireGrants: g,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, mc).SignedString([]byte(secret))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: signing token: %w", err)
	}
	if len(tok) > MaxTokenBytes {
		return "", time.Time{}, ErrTokenTooLarge
	}
	return tok, exp, nil
}

// newJTI returns a random version-4 UUID.
func newJTI() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: reading randomness for jti: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:]), nil
}
