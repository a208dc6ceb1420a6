package auth

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzVerify feeds arbitrary tokens, seeded with every fixture: Verify must
// never panic, must return exactly one of claims and a known *Error, and
// its message must not repeat the token.
func FuzzVerify(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fx.Token)
	}
	f.Add("eyJhbGciOiJIUzI1NiJ9.bnVsbA.")
	f.Add(strings.Repeat(".", 3))
	known := map[Code]bool{CodeExpired: true, CodeNotYetValid: true, CodeBadSignature: true, CodeUnknownKey: true,
		CodeMalformed: true, CodeUnsupportedAlgorithm: true, CodeMissingExp: true}
	// Fixtures mint with devkey/secret; the clock sits inside the hand-built
	// tokens' validity so that signature and claim paths are reached.
	v := NewVerifier(map[string]string{"devkey": "secret", "APIfullkey": "a-much-longer-secret-of-32-bytes-x"}, clockAt(1767225610))
	cv := NewCallerVerifier("secret", clockAt(1767225610))
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(token)
		if (c == nil) == (err == nil) {
			t.Fatalf("claims %v and error %v", c, err)
		}
		if err != nil {
			if !known[CodeOf(err)] {
				t.Fatalf("unknown refusal %T %v", err, err)
			}
			assertNoLeak(t, err.Error(), token, "")
		} else if len(token) > MaxTokenBytes {
			t.Fatalf("accepted a token of %d bytes", len(token))
		}
		if err := cv.Verify(token); err != nil && !known[CodeOf(err)] {
			t.Fatalf("caller verifier: unknown refusal %v", err)
		}
	})
}

// FuzzMintRoundTrip: whatever valid UTF-8 a caller puts in, Verify gives it
// back unchanged (or Mint says the token would be too large).
func FuzzMintRoundTrip(f *testing.F) {
	f.Add("alice", "Alice", `{"a":1}`, "r1", "k", "v")
	f.Add("", "", "", "", "", "")
	f.Add("<script>", "名前", "\u2028", "../../etc", "${jndi:x}", "\"")
	now := time.Unix(1767225600, 0)
	iss := NewIssuer("devkey", "secret", clockAt(now.Unix()))
	v := NewVerifier(map[string]string{"devkey": "secret"}, clockAt(now.Unix()))
	f.Fuzz(func(t *testing.T, identity, name, metadata, room, ak, av string) {
		for _, s := range []string{identity, name, metadata, room, ak, av} {
			if !utf8.ValidString(s) {
				t.Skip("JSON cannot carry invalid UTF-8")
			}
		}
		in := Claims{Identity: identity, Name: name, Metadata: metadata, Video: &VideoGrant{RoomJoin: true, Room: room}}
		if ak != "" {
			in.Attributes = map[string]string{ak: av}
		}
		tok, _, err := iss.Mint(in, time.Hour)
		if err == ErrTokenTooLarge {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify(tok)
		if err != nil {
			t.Fatalf("own token refused: %v", err)
		}
		if c.Identity != identity || c.Name != name || c.Metadata != metadata || c.Video.Room != room ||
			(ak != "" && c.Attributes[ak] != av) {
			t.Fatalf("round trip changed claims: %+v", c)
		}
	})
}
