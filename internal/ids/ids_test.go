package ids

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestPrefixesAndShape(t *testing.T) {
	g := New(nil)
	re := regexp.MustCompile(`^[A-Z]{2}_[0-9A-Za-z]{12}$`)
	for _, tc := range []struct {
		got, prefix string
	}{
		{g.RoomSid(), "RM_"},
		{g.ParticipantSid(), "PA_"},
		{g.TrackSid(), "TR_"},
		{g.NodeID(), "ND_"},
		{g.EventID(), "EV_"},
	} {
		if !strings.HasPrefix(tc.got, tc.prefix) || !re.MatchString(tc.got) {
			t.Errorf("%q: want prefix %s and 12 base62 characters", tc.got, tc.prefix)
		}
	}
}

func TestInjectedRandomnessIsDeterministic(t *testing.T) {
	a := New(bytes.NewReader(bytes.Repeat([]byte{1, 2, 3}, 100)))
	b := New(bytes.NewReader(bytes.Repeat([]byte{1, 2, 3}, 100)))
	if x, y := a.RoomSid(), b.RoomSid(); x != y {
		t.Fatalf("same source gave %q and %q", x, y)
	}
}

func TestUUID(t *testing.T) {
	g := New(nil)
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		u := g.UUID()
		if !re.MatchString(u) {
			t.Fatalf("bad uuid %q", u)
		}
		if seen[u] {
			t.Fatalf("duplicate uuid %q", u)
		}
		seen[u] = true
	}
}
