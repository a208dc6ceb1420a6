package scripted

import (
	"strings"
	"testing"
	"time"
)

func TestParseRefusesBadScriptsNamingTheField(t *testing.T) {
	long := strings.Repeat("a", MaxText+1)
	many := "[" + strings.Repeat(`{"say":"x"},`, MaxReplies) + `{"say":"x"}]`
	for _, tc := range []struct{ body, field string }{
		{`[]`, ""},
		{`{"greeting": 3}`, "greeting"},
		{`{"replies": [{"when": "a"}]}`, "replies[0].say"},
		{`{"replies": [{"say": "ok"}, {"say": "` + long + `"}]}`, "replies[1].say"},
		{`{"replies": ` + many + `}`, "replies"},
		{`{"rpc": {"get_time": 5}}`, "rpc"},
		{`{"heard": ["` + long + `"]}`, "heard[0]"},
		{`{"thinking_ms": -1}`, "thinking_ms"},
		{`{"thinking_ms": 60000}`, "thinking_ms"},
		{`{"greting": "typo"}`, "greting"},
		{`{"<script>": "x"}`, ""},
		{`{"rpc": {"a\nb": "x"}}`, "rpc"},
		{`{"rpc": {"<b>": "` + strings.Repeat("a", MaxRPCPayload+1) + `"}}`, "rpc"},
		{`{"rpc": {"get_time": "` + strings.Repeat("a", MaxRPCPayload+1) + `"}}`, "rpc.get_time"},
		{`{"greeting": "a"} {"greeting": "b"}`, ""},
		{`{"greeting": "` + strings.Repeat("a", MaxScriptBytes) + `"}`, ""},
	} {
		_, err := Parse([]byte(tc.body))
		fe, ok := err.(*FieldError)
		if !ok {
			t.Errorf("Parse(%.60s) = %v, want a FieldError", tc.body, err)
			continue
		}
		if fe.Field != tc.field {
			t.Errorf("Parse(%.60s) names %q (%v), want %q", tc.body, fe.Field, err, tc.field)
		}
	}
}

func TestAnswerPicksTheFirstReplyWhoseWhenOccurs(t *testing.T) {
	s, err := Parse([]byte(`{"replies":[{"when":"weather","say":"Sunny all day"},{"say":"You said: {text}"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for heard, want := range map[string]string{
		"What's the WEATHER like?": "Sunny all day",
		"Book a table":             "You said: Book a table",
	} {
		if got, ok := s.Answer(heard); !ok || got != want {
			t.Errorf("Answer(%q) = %q, %v; want %q", heard, got, ok, want)
		}
	}
	only, _ := Parse([]byte(`{"replies":[{"when":"weather","say":"Sunny"}]}`))
	if got, ok := only.Answer("hello"); ok {
		t.Errorf("Answer without a matching reply = %q, want none", got)
	}
}

func TestSpeakingTimeFollowsTheText(t *testing.T) {
	short, long := SpeakingTime("Hi"), SpeakingTime(strings.Repeat("word ", 40))
	if short != MinSpeaking || long <= short || SpeakingTime(strings.Repeat("a", 10000)) != MaxSpeaking {
		t.Errorf("SpeakingTime: short %v, long %v", short, long)
	}
}

func TestWordsJoinBackToTheText(t *testing.T) {
	for _, s := range []string{"Hello there", " lead and trail ", "one", ""} {
		if got := strings.Join(Words(s), ""); got != s {
			t.Errorf("Words(%q) joined = %q", s, got)
		}
	}
	if n := len(Words("Sunny all day")); n != 3 {
		t.Errorf("Words(Sunny all day) has %d pieces, want 3", n)
	}
}

func TestDetectorFindsABurstFollowedBySilence(t *testing.T) {
	var d Detector
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var events []TurnEvent
	ms := 0
	// 200 ms of comfort noise, a 40 ms click, 200 ms of silence, 500 ms of
	// speech, then DTX: one tiny packet every 400 ms.
	for ; ms < 200; ms += 20 {
		events = append(events, d.Packet(at(ms), 3))
	}
	for ; ms < 240; ms += 20 {
		events = append(events, d.Packet(at(ms), 80))
	}
	for ; ms < 440; ms += 20 {
		events = append(events, d.Packet(at(ms), 3))
	}
	for ; ms < 940; ms += 20 {
		events = append(events, d.Packet(at(ms), 120))
	}
	for ; ms < 2000; ms += 400 {
		events = append(events, d.Packet(at(ms), 1))
	}
	var got []TurnEvent
	for _, e := range events {
		if e != TurnNone {
			got = append(got, e)
		}
	}
	if len(got) != 2 || got[0] != TurnStarted || got[1] != TurnEnded {
		t.Fatalf("events %v, want one start then one end", got)
	}
	if d.Length() < 400*time.Millisecond {
		t.Errorf("turn length %v, want about 500 ms", d.Length())
	}
	// With DTX and no packets at all, Idle ends the turn.
	var e Detector
	for ms = 0; ms < 300; ms += 20 {
		e.Packet(at(ms), 100)
	}
	if !e.Speaking() || e.Idle(at(600)) != TurnNone || e.Idle(at(1100)) != TurnEnded {
		t.Errorf("Idle did not end a turn after %v without speech", EndSilence)
	}
}

func TestParseCatalog(t *testing.T) {
	c, err := ParseCatalog([]byte(`{"support": {"greeting": "Hi"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := c.Lookup("support"); !ok || s.Greeting != "Hi" {
		t.Errorf("support = %+v, %v", s, ok)
	}
	if _, ok := c.Lookup(BuiltinName); !ok {
		t.Errorf("the built-in %q is missing", BuiltinName)
	}
	for body, want := range map[string]string{
		`[]`:                                   "JSON object",
		`{"bad name!": {}}`:                    "bad name!",
		`{"support": {"replies": [{}]}}`:       "support.replies[0].say is required",
		`{"support": {"thinking_ms": "slow"}}`: "support.thinking_ms",
	} {
		if _, err := ParseCatalog([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCatalog(%s) = %v, want an error naming %q", body, err, want)
		}
	}
}

func TestErrorsNeverEchoOddNames(t *testing.T) {
	for _, body := range []string{`{"<script>alert(1)</script>": 1}`, `{"rpc": {"<img src=x>": "` + strings.Repeat("a", MaxRPCPayload+1) + `"}}`} {
		_, err := Parse([]byte(body))
		if err == nil || strings.ContainsAny(err.Error(), "<>") {
			t.Errorf("Parse(%.40s) = %v", body, err)
		}
	}
}
