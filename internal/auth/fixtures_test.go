package auth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fixture is one file of testdata/tokens/, written by scripts/fixtures/.
type fixture struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Token  string `json:"token"`
	Key    string `json:"key"`
	Secret string `json:"secret"`
	Now    int64  `json:"now"`
	Want   *struct {
		Identity   string            `json:"identity"`
		Name       string            `json:"name"`
		Metadata   string            `json:"metadata"`
		Attributes map[string]string `json:"attributes"`
		Kind       string            `json:"kind"`
		Issuer     string            `json:"issuer"`
		Room       string            `json:"room"`
		Video      json.RawMessage   `json:"video"`
		Effective  map[string]bool   `json:"effective"`
		RoomConfig json.RawMessage   `json:"roomConfig"`
	} `json:"want"`
	Code Code `json:"code"`
}

const fixtureDir = "../../testdata/tokens"

func loadFixtures(tb testing.TB) []fixture {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(paths) == 0 {
		tb.Fatalf("no fixtures in %s", fixtureDir)
	}
	out := make([]fixture, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		var f fixture
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		if (f.Want == nil) == (f.Code == "") {
			tb.Fatalf("%s: needs exactly one of want and code", p)
		}
		out = append(out, f)
	}
	return out
}

func clockAt(unix int64) func() time.Time {
	return func() time.Time { return time.Unix(unix, 0) }
}

// sameJSON compares two JSON texts by value; empty and null are equal.
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if len(got) > 0 {
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: got invalid JSON: %v", what, err)
		}
	}
	if len(want) > 0 {
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatalf("%s: want invalid JSON: %v", what, err)
		}
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func TestFixtures(t *testing.T) {
	codes := map[Code]int{}
	sources := map[string]int{}
	for _, f := range loadFixtures(t) {
		codes[f.Code]++
		sources[strings.Fields(f.Source)[0]]++
		t.Run(f.Name, func(t *testing.T) {
			v := NewVerifier(map[string]string{f.Key: f.Secret}, clockAt(f.Now))
			c, err := v.Verify(f.Token)
			if f.Code != "" {
				if err == nil {
					t.Fatalf("accepted (identity %q), want refusal %q", c.Identity, f.Code)
				}
				if c != nil {
					t.Errorf("claims returned beside an error")
				}
				if got := CodeOf(err); got != f.Code {
					t.Errorf("code %q (%v), want %q", got, err, f.Code)
				}
				assertNoLeak(t, err.Error(), f.Token, f.Secret)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v (code %s)", err, CodeOf(err))
			}
			w := f.Want
			got := map[string]string{"identity": c.Identity, "name": c.Name, "metadata": c.Metadata, "kind": c.Kind, "issuer": c.Issuer, "room": c.Video.roomOrEmpty()}
			exp := map[string]string{"identity": w.Identity, "name": w.Name, "metadata": w.Metadata, "kind": w.Kind, "issuer": w.Issuer, "room": w.Room}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("claims %v, want %v", got, exp)
			}
			if len(w.Attributes) == 0 && c.Attributes != nil {
				t.Errorf("attributes %v, want none", c.Attributes)
			} else if len(w.Attributes) > 0 && !reflect.DeepEqual(c.Attributes, w.Attributes) {
				t.Errorf("attributes %v, want %v", c.Attributes, w.Attributes)
			}
			video, err := json.Marshal(c.Video)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "video", video, w.Video)
			sameJSON(t, "roomConfig", c.RoomConfig, w.RoomConfig)
			eff := map[string]bool{
				"canPublish":           c.Video.GetCanPublish(),
				"canSubscribe":         c.Video.GetCanSubscribe(),
				"canPublishData":       c.Video.GetCanPublishData(),
				"canUpdateOwnMetadata": c.Video.GetCanUpdateOwnMetadata(),
			}
			if !reflect.DeepEqual(eff, w.Effective) {
				t.Errorf("effective permissions %v, want %v", eff, w.Effective)
			}
			if c.ExpiresAt.IsZero() {
				t.Errorf("ExpiresAt not set")
			}
		})
	}
	for _, code := range []Code{"", CodeExpired, CodeNotYetValid, CodeBadSignature, CodeUnknownKey, CodeMalformed, CodeUnsupportedAlgorithm, CodeMissingExp} {
		if codes[code] == 0 {
			t.Errorf("no fixture for code %q", code)
		}
	}
	for _, src := range []string{"livekit-server-sdk", "github.com/livekit/protocol", "hand-built"} {
		if sources[src] == 0 {
			t.Errorf("no fixture from %s; run scripts/fixtures", src)
		}
	}
}

func (g *VideoGrant) roomOrEmpty() string {
	if g == nil {
		return ""
	}
	return g.Room
}

// assertNoLeak fails when msg repeats a piece of the token or the secret.
// Pieces are the token's segments of 20 bytes or more without spaces (every
// real base64url segment), so that a fuzzed "token is" cannot match our own
// wording.
func assertNoLeak(t *testing.T, msg, token, secret string) {
	t.Helper()
	for _, seg := range strings.Split(token, ".") {
		if len(seg) >= 20 && !strings.ContainsAny(seg, " \t") && strings.Contains(msg, seg) {
			t.Errorf("error message %q repeats part of the token", msg)
		}
	}
	if len(secret) >= 12 && strings.Contains(msg, secret) {
		t.Errorf("error message %q contains the secret", msg)
	}
}
