package httpapi

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func TestLiveKitStatus(t *testing.T) {
	s := newSvcServer(t, map[string]string{"LIVEKIT_WS_URL": "wss://mock.example"}, svcOpts{})
	r := s.do(t, http.MethodGet, "/livekit/status", "", nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	want := map[string]any{"status": "ok", "mode": "mock", "environment": "development", "version": Version,
		"ws_url": "wss://mock.example", "api_key": "devkey", "rooms": float64(0), "participants": float64(0), "connections": float64(2)}
	for k, v := range want {
		if r.body[k] != v {
			t.Errorf("%s = %v, want %v", k, r.body[k], v)
		}
	}
	if _, ok := r.body["uptime_seconds"].(float64); !ok {
		t.Errorf("uptime_seconds: %s", r.raw)
	}
	sig := r.body["signalling"].(map[string]any)
	if sig["accepting"] != true || sig["url"] != "wss://mock.example" {
		t.Errorf("signalling %v", sig)
	}
	if strings.Contains(r.raw, "secret") {
		t.Errorf("status shows a secret: %s", r.raw)
	}
	s.signal.accepting.Store(false)
	if r := s.do(t, http.MethodGet, "/livekit/status", "", nil); r.body["signalling"].(map[string]any)["accepting"] != false {
		t.Errorf("not accepting: %s", r.raw)
	}
	// Without a hub wired, signalling is not reported as accepting.
	plain := newTestServer(t, nil)
	if r := plain.do(t, http.MethodGet, "/livekit/status", "", nil); r.status != 200 || r.body["signalling"].(map[string]any)["accepting"] != false {
		t.Errorf("no hub: %d %s", r.status, r.raw)
	}
}

func TestStatsMoveWithRequests(t *testing.T) {
	s := newSvcServer(t, map[string]string{"RATE_LIMIT_MAX": "2"}, svcOpts{})
	stats := func() map[string]any {
		t.Helper()
		r := s.do(t, http.MethodGet, "/stats", "", nil)
		if r.status != 200 {
			t.Fatalf("/stats: %d %s", r.status, r.raw)
		}
		return r.body
	}
	get := func(m map[string]any, path string) any {
		var v any = m
		for _, k := range strings.Split(path, ".") {
			v = v.(map[string]any)[k]
		}
		return v
	}
	before := stats()
	for _, k := range []string{"tokens.generated_total", "tokens.generated_last_minute", "validations.total", "rate_limit.rejections", "rooms"} {
		if get(before, k) != float64(0) {
			t.Errorf("fresh server: %s = %v", k, get(before, k))
		}
	}

	tok := s.post(t, "/token/room", `{"room_name":"s1","participant_name":"u"}`).body["token"].(string) // 200, room reserved
	s.post(t, "/token/join", `{"room_name":"s1","participant_name":"u"}`)                               // 200
	s.post(t, "/token/join", `{"room_name":"s1","participant_name":"u"}`)                               // 429
	s.mint(t, `{"roomName":"s1","participantName":"u"}`)                                                // 200, other bucket
	s.post(t, "/token/validate", `{"token":`+jsonString(tok)+`}`)                                       // valid
	s.post(t, "/token/validate", `{"token":"nope"}`)                                                    // invalid
	s.post(t, "/token/validate", `{"token":"nope"}`)                                                    // invalid
	s.do(t, http.MethodGet, "/no/such/path", "", nil)                                                   // 404

	after := stats()
	checks := map[string]any{
		"tokens.generated_total":              float64(3),
		"tokens.generated_last_minute":        float64(3),
		"tokens.by_source./token/room":        float64(1),
		"validations.total":                   float64(3),
		"validations.valid":                   float64(1),
		"validations.invalid":                 float64(2),
		"rate_limit.rejections":               float64(1),
		"rooms":                               float64(1),
		"participants":                        float64(0),
		"connections":                         float64(2),
		"room_events.room_started":            float64(1),
		"requests.errors":                     float64(2), // the 429 and the 404
		"requests.server_errors":              float64(0),
		"response_time_ms.samples":            get(after, "requests.total"),
		"requests.total":                      float64(1 + 8), // the first /stats and eight requests
		"validations.success_rate":            1.0 / 3,
		"requests.error_rate":                 2.0 / 9,
		"tokens.by_source./api/livekit/token": float64(1),
	}
	for path, want := range checks {
		if got := get(after, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if p50, p99 := get(after, "response_time_ms.p50").(float64), get(after, "response_time_ms.p99").(float64); p50 <= 0 || p99 < p50 {
		t.Errorf("percentiles p50=%v p99=%v", p50, p99)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", after["timestamp"].(string)); err != nil {
		t.Errorf("timestamp %v", after["timestamp"])
	}
}

func TestMetricsEndpoint(t *testing.T) {
	s := newSvcServer(t, nil, svcOpts{})
	s.post(t, "/token/join", `{"room_name":"m1","participant_name":"u"}`)
	s.post(t, "/token/room", `{"room_name":"m1","participant_name":"u"}`)
	s.post(t, "/token/validate", `{"token":"x.y.z"}`)
	s.do(t, http.MethodGet, "/health", "", nil)

	// Monitoring sends no Origin; a browser Origin is not refused either (ops group).
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/metrics", nil)
	req.Header.Set("Origin", "http://evil.example")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out := string(raw)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`livekit_mock_tokens_minted_total{source="/token/join"} 1`,
		`livekit_mock_tokens_minted_total{source="/token/room"} 1`,
		`livekit_mock_token_validations_total{result="malformed"} 1`,
		`livekit_mock_http_requests_total{method="POST",route="/token/room",status="200"} 1`,
		`livekit_mock_http_requests_total{method="GET",route="/health",status="200"} 1`,
		`livekit_mock_http_request_duration_seconds_bucket{route="/token/join",le="+Inf"} 1`,
		`livekit_mock_room_events_total{kind="room_started"} 1`,
		"livekit_mock_rooms 1",
		"livekit_mock_connections 2",
		"go_goroutines",
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Raw paths never become labels.
	s.do(t, http.MethodGet, "/random/path/123", "", nil)
	s.do(t, "PURGE", "/x", "", nil)
	r := s.do(t, http.MethodGet, "/metrics", "", nil)
	if strings.Contains(r.raw, "/random/path") || strings.Contains(r.raw, "PURGE") || !strings.Contains(r.raw, `route="unmatched"`) {
		t.Errorf("unbounded labels in /metrics")
	}
}

func TestDefaultFiguresWithoutWiring(t *testing.T) {
	// The lead's minimal Deps (no TokenService, no Figures) still serve the
	// token service and the figures.
	s := newTestServer(t, nil)
	if r := s.do(t, http.MethodPost, "/token/join", `{"room_name":"r","participant_name":"u"}`, nil); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	r := s.do(t, http.MethodGet, "/stats", "", nil)
	if r.status != 200 || r.body["tokens"].(map[string]any)["generated_total"] != float64(1) {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if r := s.do(t, http.MethodGet, "/metrics", "", nil); r.status != 200 || !strings.Contains(r.raw, `livekit_mock_tokens_minted_total{source="/token/join"} 1`) {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}

func TestDashboardPollsAreNotTraffic(t *testing.T) {
	s := newSvcServer(t, nil, svcOpts{})
	dash := map[string]string{"X-Livekit-Mock-Dashboard": "1"}
	total := func() float64 {
		t.Helper()
		r := s.do(t, http.MethodGet, "/stats", "", dash)
		if r.status != 200 {
			t.Fatalf("/stats: %d %s", r.status, r.raw)
		}
		return r.body["requests"].(map[string]any)["total"].(float64)
	}
	start := total()
	for range 5 {
		for _, path := range []string{"/stats", "/livekit/status", "/__admin/info"} {
			if r := s.do(t, http.MethodGet, path, "", dash); r.status != 200 {
				t.Fatalf("%s: %d %s", path, r.status, r.raw)
			}
		}
	}
	if got := total(); got != start {
		t.Errorf("dashboard polls counted: requests.total %v -> %v", start, got)
	}

	// The same GETs without the header are traffic.
	for _, path := range []string{"/stats", "/livekit/status", "/__admin/info"} {
		s.do(t, http.MethodGet, path, "", nil)
	}
	if got := total(); got != start+3 {
		t.Errorf("ordinary requests: requests.total %v, want %v", got, start+3)
	}

	// The header hides nothing else: a mint, an unknown path, another
	// admin route and a refused method all count.
	s.do(t, http.MethodPost, "/token/join", `{"room_name":"d","participant_name":"u"}`, dash)
	s.do(t, http.MethodGet, "/no/such/path", "", dash)
	s.do(t, http.MethodGet, "/__admin/faults", "", dash)
	s.do(t, http.MethodDelete, "/stats", "", dash)
	if got := total(); got != start+7 {
		t.Errorf("header on other requests: requests.total %v, want %v", got, start+7)
	}
	r := s.do(t, http.MethodGet, "/metrics", "", nil)
	if !strings.Contains(r.raw, `livekit_mock_http_requests_total{method="GET",route="/stats",status="200"} 1`) {
		t.Errorf("/metrics counts dashboard polls of /stats:\n%s", grepLines(r.raw, `route="/stats"`))
	}
}

func TestRequestLogDemotesDashboardPolls(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e := gin.New()
	e.Use(requestLog(log))
	e.GET("/stats", func(c *gin.Context) { c.String(200, "{}") })
	e.GET("/__admin/info", func(c *gin.Context) { c.String(401, "{}") })
	e.POST("/token/join", func(c *gin.Context) { c.String(200, "{}") })
	send := func(method, path string, dash bool) {
		req := httptest.NewRequest(method, path, nil)
		if dash {
			req.Header.Set("X-Livekit-Mock-Dashboard", "1")
		}
		e.ServeHTTP(httptest.NewRecorder(), req)
	}
	send(http.MethodGet, "/stats", true)
	if buf.Len() != 0 {
		t.Errorf("a dashboard poll is logged at info: %s", buf.String())
	}
	send(http.MethodGet, "/stats", false)
	send(http.MethodGet, "/__admin/info", true) // refused: still logged
	send(http.MethodPost, "/token/join", true)  // not a poll
	out := buf.String()
	for _, want := range []string{"route=/stats status=200", "route=/__admin/info status=401", "route=/token/join status=200"} {
		if !strings.Contains(out, want) {
			t.Errorf("request log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "msg=request"); n != 3 {
		t.Errorf("%d lines, want 3:\n%s", n, out)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
