// Package names holds the naming policy of SPEC §7: which room names,
// identities, display names and metadata the mock accepts from what it mints,
// from the JSON dialect and from /__admin.
package names

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Policy is a naming policy.
type Policy int

const (
	// Strict allows 1–128 characters of A–Z a–z 0–9 _ - . : @ = + in room
	// names and identities, printable display names of up to 128 characters
	// and metadata of up to 512 bytes.
	Strict Policy = iota
	// LiveKit allows any valid UTF-8 up to 256 bytes, as LiveKit does.
	LiveKit
)

// Limits of each policy.
const (
	StrictMaxChars       = 128
	StrictMaxMetadata    = 512
	LiveKitMaxBytes      = 256
	LiveKitMaxMetadata   = 512 << 10
	LiveKitMaxAttributes = 64 << 10
)

// ParsePolicy reads "strict" or "livekit".
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "strict", "":
		return Strict, nil
	case "livekit":
		return LiveKit, nil
	}
	return Strict, errors.New(`must be "strict" or "livekit"`)
}

func (p Policy) String() string {
	if p == LiveKit {
		return "livekit"
	}
	return "strict"
}

// Error says which field broke which rule. It never repeats the value.
type Error struct {
	Field string
	Rule  string
}

func (e *Error) Error() string { return e.Field + " " + e.Rule }

func fail(field, rule string) error { return &Error{Field: field, Rule: rule} }

const strictSet = "A-Z a-z 0-9 _ - . : @ = +"

func strictChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("_-.:@=+", r)
}

// common applies the rules both policies share: valid UTF-8 (a replacement
// character counts as invalid, since the JSON decoder puts one where a lone
// surrogate or a bad byte stood), no control or format characters, and not
// whitespace only.
func common(field, s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return fail(field, "must be valid UTF-8")
	}
	blank := true
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
			return fail(field, "must not contain control or format characters")
		}
		if !unicode.IsSpace(r) {
			blank = false
		}
	}
	if blank {
		return fail(field, "must not be empty or only whitespace")
	}
	return nil
}

// Room checks a room name.
func (p Policy) Room(field, s string) error { return p.name(field, s) }

// Identity checks a participant identity.
func (p Policy) Identity(field, s string) error { return p.name(field, s) }

func (p Policy) name(field, s string) error {
	if s == "" {
		return fail(field, "is required")
	}
	if err := common(field, s); err != nil {
		return err
	}
	if p == LiveKit {
		if len(s) > LiveKitMaxBytes {
			return fail(field, fmt.Sprintf("must be at most %d bytes", LiveKitMaxBytes))
		}
		return nil
	}
	if utf8.RuneCountInString(s) > StrictMaxChars {
		return fail(field, fmt.Sprintf("must be 1-%d characters of %s", StrictMaxChars, strictSet))
	}
	for _, r := range s {
		if !strictChar(r) {
			return fail(field, fmt.Sprintf("must be 1-%d characters of %s", StrictMaxChars, strictSet))
		}
	}
	return nil
}

// DisplayName checks a participant's display name. An empty name is
// allowed (callers decide whether the field is required).
func (p Policy) DisplayName(field, s string) error {
	if s == "" {
		return nil
	}
	if err := common(field, s); err != nil {
		return err
	}
	if p == LiveKit {
		if len(s) > LiveKitMaxBytes {
			return fail(field, fmt.Sprintf("must be at most %d bytes", LiveKitMaxBytes))
		}
		return nil
	}
	if utf8.RuneCountInString(s) > StrictMaxChars {
		return fail(field, fmt.Sprintf("must be printable and at most %d characters", StrictMaxChars))
	}
	for _, r := range s {
		if !unicode.IsGraphic(r) {
			return fail(field, fmt.Sprintf("must be printable and at most %d characters", StrictMaxChars))
		}
	}
	return nil
}

// Metadata checks participant or room metadata: valid UTF-8, no control
// characters other than tab, line feed and carriage return (metadata is
// often pretty-printed JSON), and at most 512 bytes (strict) or 512 KiB
// (livekit). Empty metadata is allowed.
func (p Policy) Metadata(field, s string) error {
	limit := StrictMaxMetadata
	if p == LiveKit {
		limit = LiveKitMaxMetadata
	}
	if len(s) > limit {
		return fail(field, fmt.Sprintf("must be at most %d bytes", limit))
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return fail(field, "must be valid UTF-8")
	}
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) && r != '\t' && r != '\n' && r != '\r' {
			return fail(field, "must not contain control characters")
		}
	}
	return nil
}

// Attributes checks a participant attribute map: keys follow the identity
// rule of the policy, values the metadata rule, and the whole map stays
// within 64 KiB.
func (p Policy) Attributes(field string, attrs map[string]string) error {
	total := 0
	for k, v := range attrs {
		if err := common(field+" key", k); err != nil {
			return err
		}
		if len(k) > LiveKitMaxBytes {
			return fail(field, fmt.Sprintf("keys must be at most %d bytes", LiveKitMaxBytes))
		}
		if err := p.Metadata(field+" value", v); err != nil {
			return err
		}
		total += len(k) + len(v)
	}
	if total > LiveKitMaxAttributes {
		return fail(field, fmt.Sprintf("must be at most %d bytes in all", LiveKitMaxAttributes))
	}
	return nil
}
