package names_test

import (
	"strings"
	"testing"

	"github.com/livekit-mock/livekit-mock/internal/names"
)

// Names are checked on every mint and every JSON-dialect join; these show
// what a check costs for typical and hostile inputs.
func BenchmarkNames(b *testing.B) {
	cases := []struct {
		name  string
		check func(names.Policy, string, string) error
		pol   names.Policy
		value string
	}{
		{"room/strict/valid", names.Policy.Room, names.Strict, "team-standup.2026-11:eu@west"},
		{"room/strict/script", names.Policy.Room, names.Strict, "<script>alert(1)</script>"},
		{"room/strict/128chars", names.Policy.Room, names.Strict, strings.Repeat("a", 128)},
		{"room/livekit/unicode", names.Policy.Room, names.LiveKit, "会议室-Zoë-😀"},
		{"identity/strict/valid", names.Policy.Identity, names.Strict, "user_6f1c2a9e-1b7d-4c55-9f0e-2d8a3b4c5d6e"},
		{"identity/livekit/bidi", names.Policy.Identity, names.LiveKit, "alice\u202Eevil"},
		{"display/strict/unicode", names.Policy.DisplayName, names.Strict, "Zoë Müller 😀"},
		{"metadata/strict/512B", names.Policy.Metadata, names.Strict, `{"k":"` + strings.Repeat("v", 504) + `"}`},
		{"metadata/livekit/64KiB", names.Policy.Metadata, names.LiveKit, strings.Repeat("m", 64<<10)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.value)))
			b.ReportAllocs()
			for b.Loop() {
				_ = c.check(c.pol, "field", c.value)
			}
		})
	}
}
