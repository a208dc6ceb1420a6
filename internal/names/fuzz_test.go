package names_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/livekit-mock/livekit-mock/internal/names"
)

// FuzzNames: no input panics; every refusal is a *names.Error naming the
// field with a short message (never the value); every accepted name obeys
// the rules both policies share, and strict names stay in their set.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"", " ", "r", "alice", "<script>", "../../etc/passwd", "${jndi:ldap://x/a}",
		"a\u202Eb", "a\u200Bb", "room\x00x", "\xff", "\xed\xa0\x80", "会议室", "😀", strings.Repeat("a", 129),
		strings.Repeat("é", 200), "a\r\nb", "\t", "\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, pol := range []names.Policy{names.Strict, names.LiveKit} {
			checks := map[string]func(names.Policy, string, string) error{
				"room": names.Policy.Room, "identity": names.Policy.Identity,
				"display": names.Policy.DisplayName, "metadata": names.Policy.Metadata,
			}
			for kind, check := range checks {
				err := check(pol, "theField", s)
				if err != nil {
					var ne *names.Error
					if !errors.As(err, &ne) || ne.Field != "theField" {
						t.Fatalf("%s/%s: error %v does not name the field", pol, kind, err)
					}
					if !strings.HasPrefix(err.Error(), "theField ") || len(err.Error()) > 120 {
						t.Fatalf("%s/%s: error text %q", pol, kind, err)
					}
					continue
				}
				if !utf8.ValidString(s) {
					t.Fatalf("%s/%s accepted invalid UTF-8 %q", pol, kind, s)
				}
				if kind == "metadata" {
					continue // metadata allows tab, CR and LF, and may be empty
				}
				for _, r := range s {
					if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
						t.Fatalf("%s/%s accepted a control or format character in %q", pol, kind, s)
					}
				}
				if kind == "display" {
					continue
				}
				if strings.TrimSpace(s) == "" {
					t.Fatalf("%s/%s accepted a blank name %q", pol, kind, s)
				}
				if pol == names.LiveKit && len(s) > names.LiveKitMaxBytes {
					t.Fatalf("livekit/%s accepted %d bytes", kind, len(s))
				}
				if pol == names.Strict {
					if utf8.RuneCountInString(s) > names.StrictMaxChars {
						t.Fatalf("strict/%s accepted %d characters", kind, utf8.RuneCountInString(s))
					}
					for _, r := range s {
						if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-.:@=+", r))) {
							t.Fatalf("strict/%s accepted %q", kind, r)
						}
					}
				}
			}
		}
	})
}
