package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)} }
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

func TestSnapshotCounts(t *testing.T) {
	clk := newClock()
	m := New(Options{Now: clk.now,
		Rooms:       func() (int, int) { return 2, 5 },
		Connections: func() int { return 7 }})
	for _, st := range []int{200, 200, 400, 429, 500} {
		m.Observe("/token/room", "POST", st, time.Millisecond)
	}
	m.TokenMinted("/token/room")
	m.TokenMinted("/api/livekit/token")
	m.Validation(true, "")
	m.Validation(true, "")
	m.Validation(false, "expired")
	m.Validation(false, "malformed")
	m.RateLimited("/token/room")
	m.RoomEvent("room_started")
	m.RoomEvent("participant_joined")
	m.RoomEvent("participant_joined")

	s := m.Snapshot()
	checks := []struct {
		name      string
		got, want any
	}{
		{"requests", s.Requests, int64(5)},
		{"errors", s.Errors, int64(3)},
		{"server errors", s.ServerErrors, int64(1)},
		{"error rate", s.ErrorRate, 0.6},
		{"tokens", s.TokensTotal, int64(2)},
		{"tokens last minute", s.TokensLastMinute, int64(2)},
		{"by source", s.TokensBySource["/token/room"], int64(1)},
		{"validations", s.Validations, int64(4)},
		{"valid", s.ValidationsOK, int64(2)},
		{"success rate", s.SuccessRate, 0.5},
		{"rate limited", s.RateLimited, int64(1)},
		{"joined events", s.RoomEvents["participant_joined"], int64(2)},
		{"rooms", s.Rooms, 2},
		{"participants", s.Participants, 5},
		{"connections", s.Connections, 7},
		{"samples", s.LatencySamples, 5},
		{"p50", s.P50, 1.0},
		{"at", s.At, clk.now()},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEmptySnapshotHasNoDivisionByZero(t *testing.T) {
	s := New(Options{}).Snapshot()
	if s.ErrorRate != 0 || s.SuccessRate != 0 || s.P99 != 0 || s.Rooms != 0 || s.Connections != 0 {
		t.Fatalf("%+v", s)
	}
}

func TestTokensLastMinuteSlides(t *testing.T) {
	clk := newClock()
	m := New(Options{Now: clk.now})
	m.TokenMinted("a") // t=0
	clk.add(30 * time.Second)
	m.TokenMinted("a") // t=30
	m.TokenMinted("a")
	steps := []struct {
		advance time.Duration
		want    int64
	}{
		{0, 3},
		{29 * time.Second, 3}, // t=59: all three within the minute
		{time.Second, 2},      // t=60: the first has left
		{30 * time.Second, 0}, // t=90
		{time.Hour, 0},
	}
	for _, st := range steps {
		clk.add(st.advance)
		if got := m.Snapshot().TokensLastMinute; got != st.want {
			t.Errorf("after +%v: last minute %d, want %d", st.advance, got, st.want)
		}
	}
	if got := m.Snapshot().TokensTotal; got != 3 {
		t.Errorf("total %d", got)
	}
	// A slot reused an hour later starts from zero.
	m.TokenMinted("a")
	if got := m.Snapshot().TokensLastMinute; got != 1 {
		t.Errorf("after reuse: %d", got)
	}
}

func TestPercentilesOverBoundedReservoir(t *testing.T) {
	m := New(Options{Reservoir: 100})
	// 1..100 ms: nearest-rank percentiles are exact.
	for i := 1; i <= 100; i++ {
		m.Observe("/r", "GET", 200, time.Duration(i)*time.Millisecond)
	}
	s := m.Snapshot()
	if s.P50 != 50 || s.P95 != 95 || s.P99 != 99 || s.LatencySamples != 100 {
		t.Fatalf("p50=%v p95=%v p99=%v n=%d", s.P50, s.P95, s.P99, s.LatencySamples)
	}
	// 1000 more fast requests push every old sample out; the reservoir stays at 100.
	for range 1000 {
		m.Observe("/r", "GET", 200, 2*time.Millisecond)
	}
	s = m.Snapshot()
	if s.LatencySamples != 100 || s.P99 != 2 || s.Requests != 1100 {
		t.Fatalf("after wrap: n=%d p99=%v requests=%d", s.LatencySamples, s.P99, s.Requests)
	}
	// Streams are counted, not timed.
	m.Observe("/rtc", "GET", 101, -1)
	if s2 := m.Snapshot(); s2.Requests != 1101 || s2.P99 != 2 {
		t.Fatalf("stream: %+v", s2)
	}
}

func TestPercentile(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		p    int
		want float64
	}{
		{nil, 50, 0},
		{[]float64{7}, 50, 7},
		{[]float64{7}, 99, 7},
		{[]float64{1, 2}, 50, 1},
		{[]float64{1, 2}, 95, 2},
		{[]float64{1, 2, 3, 4}, 99, 4},
	} {
		if got := percentile(c.in, c.p); got != c.want {
			t.Errorf("percentile(%v, %d) = %v, want %v", c.in, c.p, got, c.want)
		}
	}
}

func TestPrometheusExposition(t *testing.T) {
	rooms, parts := 3, 4
	m := New(Options{Version: "1.13.5", Mode: "development",
		Rooms:       func() (int, int) { return rooms, parts },
		Connections: func() int { return 9 }, Agents: func() (int, int) { return 2, 5 }})
	m.Observe("/token/room", "POST", 200, 3*time.Millisecond)
	m.TokenMinted("/token/room")
	m.Validation(false, "bad_signature")
	m.Validation(true, "")
	m.RateLimited("/api/livekit/token")
	m.RoomEvent("room_started")
	m.DataDropped(DataLossy)
	m.DataDropped(DataLossy)
	out := scrape(t, m)
	for _, want := range []string{
		`livekit_mock_http_requests_total{method="POST",route="/token/room",status="200"} 1`,
		`livekit_mock_http_request_duration_seconds_count{route="/token/room"} 1`,
		`livekit_mock_tokens_minted_total{source="/token/room"} 1`,
		`livekit_mock_token_validations_total{result="bad_signature"} 1`,
		`livekit_mock_token_validations_total{result="valid"} 1`,
		`livekit_mock_rate_limited_total{route="/api/livekit/token"} 1`,
		`livekit_mock_room_events_total{kind="room_started"} 1`,
		`livekit_mock_data_dropped_total{kind="lossy"} 2`,
		`livekit_mock_data_dropped_total{kind="reliable"} 0`,
		`livekit_mock_rooms 3`,
		`livekit_mock_participants 4`,
		`livekit_mock_connections 9`,
		`livekit_mock_agent_workers 2`,
		`livekit_mock_agent_jobs 5`,
		`livekit_mock_info{mode="development",version="1.13.5"} 1`,
		"# TYPE go_goroutines gauge",
		"process_start_time_seconds",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	// Ours are all prefixed.
	for _, line := range strings.Split(out, "\n") {
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "go_") || strings.HasPrefix(line, "process_") {
			continue
		}
		if !strings.HasPrefix(line, "livekit_mock_") {
			t.Errorf("unprefixed metric %q", line)
		}
	}
}

func TestInstancesAreIndependent(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	a.TokenMinted("x")
	if b.Snapshot().TokensTotal != 0 || strings.Contains(scrape(t, b), "tokens_minted_total{") {
		t.Fatal("a second instance sees the first one's figures")
	}
	if a.Registry() == b.Registry() {
		t.Fatal("shared registry")
	}
}

func TestConcurrentRecording(t *testing.T) {
	m := New(Options{Reservoir: 64})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				m.Observe("/r", "GET", 200+g, time.Duration(i)*time.Microsecond)
				m.TokenMinted("s")
				m.Validation(i%2 == 0, "expired")
				m.RoomEvent("k")
				if i%50 == 0 {
					_ = m.Snapshot()
				}
			}
		}()
	}
	wg.Wait()
	s := m.Snapshot()
	if s.Requests != 1600 || s.TokensTotal != 1600 || s.Validations != 1600 || s.ValidationsOK != 800 || s.LatencySamples != 64 {
		t.Fatalf("%+v", s)
	}
}
