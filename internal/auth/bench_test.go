package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
)

// Minting runs on every token request; verification on every token-bearing
// join, /rtc/validate and Twirp call.
func BenchmarkMint(b *testing.B) {
	iss := auth.NewIssuer("devkey", "secret", time.Now)
	claims := auth.Claims{Identity: "alice", Name: "Alice", Video: &auth.VideoGrant{RoomJoin: true, Room: "bench-room",
		CanPublish: auth.Bool(true), CanSubscribe: auth.Bool(true), CanPublishData: auth.Bool(true)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := iss.Mint(claims, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	iss := auth.NewIssuer("devkey", "secret", time.Now)
	tok, _, err := iss.Mint(auth.Claims{Identity: "alice", Video: &auth.VideoGrant{RoomJoin: true, Room: "bench-room"}}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	v := auth.NewVerifier(map[string]string{"devkey": "secret", "other": "other-secret"}, time.Now)
	cases := map[string]string{
		"valid":      tok,
		"bad-sig":    tok[:len(tok)-2] + "AA",
		"alg-none":   "eyJhbGciOiJub25lIn0." + strings.Split(tok, ".")[1] + ".",
		"many-dots":  strings.Repeat(".", 8000),
		"not-base64": "!!!.???.###",
	}
	for name, t := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, err := v.Verify(t)
				if (err == nil) != (name == "valid") {
					b.Fatalf("%s: err %v", name, err)
				}
			}
		})
	}
}
