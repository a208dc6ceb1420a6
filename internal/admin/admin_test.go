package admin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/livekit-mock/livekit-mock/internal/admin"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRuleValidationAndDefaults(t *testing.T) {
	f := admin.NewFaults(journal.New(journal.Options{}), nil)
	cases := []struct {
		name  string
		rule  admin.Rule
		field string // "" when valid
	}{
		{"close default code", admin.Rule{Target: "rtc", Action: "close"}, ""},
		{"unknown target", admin.Rule{Target: "udp", Action: "drop"}, "target"},
		{"http drop", admin.Rule{Target: "http", Action: "drop"}, "action"},
		{"latency without ms", admin.Rule{Target: "rtc", Action: "latency"}, "latency_ms"},
		{"status out of range", admin.Rule{Target: "http", Action: "status", Status: 99}, "status"},
		{"status on latency", admin.Rule{Target: "http", Action: "latency", LatencyMS: 5, Status: 500}, "status"},
		{"reserved close code", admin.Rule{Target: "rtc", Action: "close", CloseCode: 1005}, "close_code"},
		{"route on rtc", admin.Rule{Target: "rtc", Action: "drop", Match: admin.Match{Route: "/x"}}, "match.route"},
		{"relative route", admin.Rule{Target: "http", Action: "status", Status: 500, Match: admin.Match{Route: "x"}}, "match.route"},
		{"admin route", admin.Rule{Target: "http", Action: "status", Status: 500, Match: admin.Match{Route: "/__admin/*"}}, "match.route"},
		{"probability", admin.Rule{Target: "rtc", Action: "drop", Probability: 1.5}, "probability"},
		{"count", admin.Rule{Target: "rtc", Action: "drop", Count: -1}, "count"},
		{"bad id", admin.Rule{ID: "a/b", Target: "rtc", Action: "drop"}, "id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := f.Add(c.rule)
			var ve *admin.ValidationError
			switch {
			case c.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.field == "" && (got.CloseCode != admin.DefaultCloseCode || got.Probability != 1 || got.ID == ""):
				t.Fatalf("defaults not filled: %+v", got)
			case c.field != "" && (!errors.As(err, &ve) || ve.Field != c.field):
				t.Fatalf("err = %v, want one naming %s", err, c.field)
			}
		})
	}
}

func TestCountsProbabilityAndJournal(t *testing.T) {
	j := journal.New(journal.Options{})
	draws := []float64{0.9, 0.1, 0.1}
	f := admin.NewFaults(j, func() float64 { v := draws[0]; draws = draws[1:]; return v })
	if _, err := f.Add(admin.Rule{Target: "http", Action: "status", Status: 500, Probability: 0.5, Count: 1, Match: admin.Match{Route: "/api/*"}}); err != nil {
		t.Fatal(err)
	}
	if _, s := f.HTTP("/health"); s != 0 {
		t.Fatal("rule matched another route")
	}
	if _, s := f.HTTP("/api/rooms"); s != 0 {
		t.Fatal("applied although the draw (0.9) was above the probability")
	}
	if _, s := f.HTTP("/api/rooms"); s != 500 {
		t.Fatal("not applied on a winning draw")
	}
	if _, s := f.HTTP("/api/rooms"); s != 0 {
		t.Fatal("applied beyond its count")
	}
	if _, s := f.HTTP("/__admin/reset"); s != 0 {
		t.Fatal("the admin API was faulted")
	}
	if got := j.Query(journal.Filter{Types: []string{journal.TypeFaultApplied}}, 0); len(got) != 1 || got[0].Detail["status"] != 500 {
		t.Fatalf("journal: %+v", got)
	}
}

func TestRTCRules(t *testing.T) {
	j := journal.New(journal.Options{})
	f := admin.NewFaults(j, nil)
	mustAdd := func(r admin.Rule) {
		t.Helper()
		if _, err := f.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	mustAdd(admin.Rule{ID: "slow", Target: "rtc", Action: "latency", LatencyMS: 30, Match: admin.Match{Room: "r"}})
	mustAdd(admin.Rule{ID: "quiet", Target: "rtc", Action: "silence", Match: admin.Match{Identity: "alice"}})
	mustAdd(admin.Rule{ID: "cut", Target: "rtc", Action: "close", CloseCode: 4000, Count: 1, Match: admin.Match{Identity: "bob"}})

	if d, drop := f.Outgoing("r", "x"); d != 30*time.Millisecond || drop {
		t.Fatalf("Outgoing = %v %v", d, drop)
	}
	if d, _ := f.Outgoing("other", "x"); d != 0 {
		t.Fatal("latency applied to another room")
	}
	for range 3 {
		if !f.Silenced("r", "alice") {
			t.Fatal("alice not silenced")
		}
	}
	if f.Silenced("r", "bob") {
		t.Fatal("bob silenced")
	}
	if code, _ := f.Connection("r", "bob"); code != 4000 {
		t.Fatalf("close code %d", code)
	}
	if code, _ := f.Connection("r", "bob"); code != 0 {
		t.Fatal("count 1 applied twice")
	}
	// Silence is one application per participant, however many pings.
	if n := len(j.Query(journal.Filter{Types: []string{journal.TypeFaultApplied}, Identity: "alice"}, 0)); n != 1 {
		t.Fatalf("silence journaled %d times", n)
	}
	if !f.Delete("quiet") || f.Silenced("r", "alice") {
		t.Fatal("deleting the rule did not end the silence")
	}
	if n := f.Clear(); n != 2 {
		t.Fatalf("Clear removed %d", n)
	}
}

func TestResetAndFakes(t *testing.T) {
	j := journal.New(journal.Options{})
	reg := rooms.NewRegistry(rooms.Options{IDs: ids.New(nil), Observer: admin.Observer(j),
		EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
	defer reg.Close()
	a := admin.New(admin.Options{Registry: reg, Journal: j})
	defer a.Close()

	info, err := a.AddFake(context.Background(), admin.Fake{Room: "r", Identity: "bot",
		Tracks: []admin.FakeTrack{{Kind: rooms.KindVideo}}, Data: &admin.FakeData{Every: 10 * time.Millisecond, Payload: "x"}})
	if err != nil || info.Tracks[0].Source != rooms.SourceCamera {
		t.Fatalf("AddFake: %+v %v", info, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if e, err := j.Wait(ctx, journal.Filter{Types: []string{journal.TypeDataSent}, Identity: "bot"}); err != nil || e.Detail["size"] != 1 {
		t.Fatalf("no data_sent from the fake: %+v %v", e, err)
	}
	if _, err := a.Reset(context.Background(), []string{"rooms", "bogus"}); err == nil {
		t.Fatal("unknown reset target accepted")
	}
	res, err := a.Reset(context.Background(), nil)
	if err != nil || res.Rooms != 1 {
		t.Fatalf("Reset: %+v %v", res, err)
	}
	if got := j.Query(journal.Filter{}, 0); len(got) != 1 || got[0].Type != journal.TypeReset || got[0].Seq != res.Seq {
		t.Fatalf("journal after reset: %+v", got)
	}
	if n, _ := reg.Counts(); n != 0 {
		t.Fatalf("%d rooms after reset", n)
	}
}
