package metrics

import (
	"context"
	"strings"
	"testing"
	"time"
)

// After Reset the snapshot and the Prometheus text show zero counters, while
// the live gauges still read the current state; counting starts again.
func TestResetZeroesCounters(t *testing.T) {
	clk := newClock()
	m := New(Options{Now: clk.now, Rooms: func() (int, int) { return 1, 3 }, Connections: func() int { return 4 }})
	m.Observe("/token/room", "POST", 500, time.Millisecond)
	m.TokenMinted("/token/room")
	m.Validation(false, "expired")
	m.RateLimited("/token/room")
	m.RoomEvent("participant_joined")

	if err := m.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	zero := []struct {
		name string
		v    float64
	}{
		{"requests", float64(s.Requests)}, {"errors", float64(s.Errors)}, {"server errors", float64(s.ServerErrors)},
		{"tokens", float64(s.TokensTotal)}, {"tokens last minute", float64(s.TokensLastMinute)},
		{"validations", float64(s.Validations)}, {"rate limited", float64(s.RateLimited)},
		{"latency samples", float64(s.LatencySamples)}, {"p99", s.P99},
		{"sources", float64(len(s.TokensBySource))}, {"room events", float64(len(s.RoomEvents))},
	}
	for _, z := range zero {
		if z.v != 0 {
			t.Errorf("%s after reset = %v, want 0", z.name, z.v)
		}
	}
	if s.Rooms != 1 || s.Participants != 3 || s.Connections != 4 {
		t.Errorf("gauges after reset = %d/%d/%d, want the live 1/3/4", s.Rooms, s.Participants, s.Connections)
	}
	text := scrape(t, m)
	for _, name := range []string{"livekit_mock_http_requests_total{", "livekit_mock_tokens_minted_total{",
		"livekit_mock_rate_limited_total{", "livekit_mock_room_events_total{"} {
		if strings.Contains(text, name) {
			t.Errorf("/metrics still has a %s series after reset", name)
		}
	}
	if !strings.Contains(text, "livekit_mock_participants 3") {
		t.Error("/metrics lost the participants gauge")
	}

	m.Observe("/health", "GET", 200, time.Millisecond)
	m.TokenMinted("/token/room")
	if s := m.Snapshot(); s.Requests != 1 || s.TokensTotal != 1 || s.TokensBySource["/token/room"] != 1 || s.LatencySamples != 1 {
		t.Errorf("counting after reset: %+v", s)
	}
}
