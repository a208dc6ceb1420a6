// Package metrics keeps the server's figures: request counts and latencies,
// tokens minted, validations, rate-limit rejections and room events. It is
// the only importer of the Prometheus client. Everything lives in one
// *Metrics with its own registry (the Go and process collectors beside ours),
// never in the global default registry, so tests can run many servers.
//
// The same figures feed GET /metrics (Prometheus text, Handler) and GET /stats
// (Snapshot). Memory is bounded: latency percentiles come from a fixed-size
// ring of recent samples, "last minute" from sixty one-second slots, and
// label values are the route patterns and sources the caller passes in,
// which must come from a bounded set (route patterns, never raw paths).
package metrics

import (
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name of ours.
const Namespace = "livekit_mock"

// DefaultReservoir is how many recent response times the percentiles of
// Snapshot are computed over.
const DefaultReservoir = 2048

// Options configures New. Every field is optional.
type Options struct {
	Now     func() time.Time // clock; nil: time.Now
	Version string           // reported in livekit_mock_info
	Mode    string           // development or production, in livekit_mock_info
	// Rooms and Connections are read at scrape and Snapshot time; nil counts
	// as zero. They are called without any lock of ours held.
	Rooms       func() (rooms, participants int)
	Connections func() int
	// Agents counts LiveKit Agents workers registered and jobs running.
	Agents func() (workers, jobs int)
	// Reservoir is the number of response times kept for percentiles;
	// zero or less: DefaultReservoir.
	Reservoir int
}

// Metrics records the figures. It is safe for concurrent use.
type Metrics struct {
	now         func() time.Time
	rooms       func() (int, int)
	connections func() int
	agents      func() (workers, jobs int)
	registry    *prometheus.Registry
	handler     http.Handler

	requests    *prometheus.CounterVec
	durations   *prometheus.HistogramVec
	minted      *prometheus.CounterVec
	validations *prometheus.CounterVec
	limited     *prometheus.CounterVec
	roomEvents  *prometheus.CounterVec
	dataDropped *prometheus.CounterVec

	mu          sync.Mutex // guards the fields below
	nRequests   int64
	nErrors     int64
	nServerErrs int64
	nMinted     int64
	mintedBy    map[string]int64
	lastMinute  secondSlots
	nValidated  int64
	nValid      int64
	nLimited    int64
	events      map[string]int64
	samples     []float64 // ring of response times in ms
	next        int       // next slot of samples to write
	filled      bool      // samples has wrapped at least once
}

// New builds a Metrics with its own Prometheus registry.
func New(o Options) *Metrics {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Reservoir <= 0 {
		o.Reservoir = DefaultReservoir
	}
	m := &Metrics{
		now:         o.Now,
		rooms:       o.Rooms,
		connections: o.Connections,
		agents:      o.Agents,
		registry:    prometheus.NewRegistry(),
		mintedBy:    map[string]int64{},
		events:      map[string]int64{},
		samples:     make([]float64, o.Reservoir),
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	m.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by route pattern (streams and WebSockets excluded).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.minted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "tokens_minted_total",
		Help: "Access tokens minted, by source endpoint.",
	}, []string{"source"})
	m.validations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "token_validations_total",
		Help: `Tokens checked by POST /token/validate, by result ("valid" or the refusal code).`,
	}, []string{"result"})
	m.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "rate_limited_total",
		Help: "Requests refused with 429, by route pattern.",
	}, []string{"route"})
	m.roomEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "room_events_total",
		Help: "Room events (room_started, participant_joined, …), by kind.",
	}, []string{"kind"})
	m.dataDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "data_dropped_total",
		Help: `Data packets not delivered to a receiver, by kind: "lossy" (dropped, the receiver's channel backed up) or "reliable" (the receiver was disconnected as a slow consumer, or its data channel was closed or never opened); a packet dropped on arrival, the server being far behind its sender, counts by its channel.`,
	}, []string{"kind"})
	m.initDataDropped()
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "info",
		Help:        "Always 1; the labels say which server this is.",
		ConstLabels: prometheus.Labels{"version": o.Version, "mode": o.Mode},
	})
	info.Set(1)
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, f)
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.durations, m.minted, m.validations, m.limited, m.roomEvents, m.dataDropped, info,
		gauge("rooms", "Rooms open now.", func() float64 { r, _ := m.roomCounts(); return float64(r) }),
		gauge("participants", "Participants in rooms now.", func() float64 { _, p := m.roomCounts(); return float64(p) }),
		gauge("connections", "Signalling (/rtc) connections open now.", func() float64 { return float64(m.conns()) }),
		gauge("agent_workers", "LiveKit Agents workers registered now.", func() float64 { w, _ := m.agentCounts(); return float64(w) }),
		gauge("agent_jobs", "Agent jobs running now (assigned to a worker, not ended).", func() float64 { _, j := m.agentCounts(); return float64(j) }),
	)
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

func (m *Metrics) roomCounts() (int, int) {
	if m.rooms == nil {
		return 0, 0
	}
	return m.rooms()
}

func (m *Metrics) agentCounts() (int, int) {
	if m.agents == nil {
		return 0, 0
	}
	return m.agents()
}

func (m *Metrics) conns() int {
	if m.connections == nil {
		return 0
	}
	return m.connections()
}

// Handler serves the Prometheus text format of this instance's registry.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry is this instance's Prometheus registry, for collectors of other
// packages (through the lead's wiring) and for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Observe records one answered HTTP request. route is the route pattern
// (never the raw path: labels must stay few). A negative d means the
// request was a stream or an upgraded connection: counted, but its lifetime
// is no response time and is not timed.
func (m *Metrics) Observe(route, method string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, method, code).Inc()
	if d >= 0 {
		m.durations.WithLabelValues(route).Observe(d.Seconds())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nRequests++
	if status >= 400 {
		m.nErrors++
	}
	if status >= 500 {
		m.nServerErrs++
	}
	if d >= 0 {
		m.samples[m.next] = float64(d) / float64(time.Millisecond)
		m.next++
		if m.next == len(m.samples) {
			m.next, m.filled = 0, true
		}
	}
}

// TokenMinted records one access token handed out by source (an endpoint).
func (m *Metrics) TokenMinted(source string) {
	m.minted.WithLabelValues(source).Inc()
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nMinted++
	m.mintedBy[source]++
	m.lastMinute.add(now)
}

// Validation records one answer of POST /token/validate: ok, or the refusal
// code (a small fixed vocabulary).
func (m *Metrics) Validation(ok bool, code string) {
	result := "valid"
	if !ok {
		result = code
		if result == "" {
			result = "invalid"
		}
	}
	m.validations.WithLabelValues(result).Inc()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nValidated++
	if ok {
		m.nValid++
	}
}

// RateLimited records one request refused by a rate limit on route.
func (m *Metrics) RateLimited(route string) {
	m.limited.WithLabelValues(route).Inc()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nLimited++
}

// RoomEvent records one room event by kind (rooms.EventKind's String). It
// never blocks, so it may be called from room goroutines.
func (m *Metrics) RoomEvent(kind string) {
	m.roomEvents.WithLabelValues(kind).Inc()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events[kind]++
}

// Kinds of DataDropped.
const (
	DataLossy    = "lossy"
	DataReliable = "reliable"
)

// DataDropped records one data packet not delivered to one receiver, kind
// DataLossy or DataReliable (anything else counts as reliable, so that the
// label stays bounded). It never blocks.
func (m *Metrics) DataDropped(kind string) {
	if kind != DataLossy {
		kind = DataReliable
	}
	m.dataDropped.WithLabelValues(kind).Inc()
}

// initDataDropped shows both kinds from the start, at zero.
func (m *Metrics) initDataDropped() {
	m.dataDropped.WithLabelValues(DataLossy)
	m.dataDropped.WithLabelValues(DataReliable)
}

// Snapshot is the state of the figures at one moment, for GET /stats.
type Snapshot struct {
	At time.Time

	Requests         int64
	Errors           int64   // answers with status 400 or more
	ServerErrors     int64   // answers with status 500 or more
	ErrorRate        float64 // Errors / Requests; 0 without requests
	LatencySamples   int     // response times the percentiles are over
	P50, P95, P99    float64 // milliseconds; 0 without samples
	TokensTotal      int64
	TokensLastMinute int64
	TokensBySource   map[string]int64
	Validations      int64
	ValidationsOK    int64
	SuccessRate      float64 // ValidationsOK / Validations; 0 without validations
	RateLimited      int64
	RoomEvents       map[string]int64
	Rooms            int
	Participants     int
	Connections      int
}

// Snapshot returns the current figures.
func (m *Metrics) Snapshot() Snapshot {
	rooms, participants := m.roomCounts()
	conns := m.conns()
	now := m.now()
	m.mu.Lock()
	s := Snapshot{
		At:               now,
		Requests:         m.nRequests,
		Errors:           m.nErrors,
		ServerErrors:     m.nServerErrs,
		TokensTotal:      m.nMinted,
		TokensLastMinute: m.lastMinute.sum(now),
		TokensBySource:   make(map[string]int64, len(m.mintedBy)),
		Validations:      m.nValidated,
		ValidationsOK:    m.nValid,
		RateLimited:      m.nLimited,
		RoomEvents:       make(map[string]int64, len(m.events)),
		Rooms:            rooms,
		Participants:     participants,
		Connections:      conns,
	}
	for k, v := range m.mintedBy {
		s.TokensBySource[k] = v
	}
	for k, v := range m.events {
		s.RoomEvents[k] = v
	}
	n := m.next
	if m.filled {
		n = len(m.samples)
	}
	lat := slices.Clone(m.samples[:n])
	m.mu.Unlock()

	if s.Requests > 0 {
		s.ErrorRate = float64(s.Errors) / float64(s.Requests)
	}
	if s.Validations > 0 {
		s.SuccessRate = float64(s.ValidationsOK) / float64(s.Validations)
	}
	slices.Sort(lat)
	s.LatencySamples = len(lat)
	s.P50, s.P95, s.P99 = percentile(lat, 50), percentile(lat, 95), percentile(lat, 99)
	return s
}

// percentile is the nearest-rank percentile of sorted values; 0 when empty.
func percentile(sorted []float64, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 · n), 1-based
	return sorted[max(rank, 1)-1]
}

// secondSlots counts events per second over the last 60 seconds.
type secondSlots struct {
	count [60]int64
	stamp [60]int64 // the Unix second each slot counts
}

func slot(sec int64) int { return int((sec%60 + 60) % 60) }

func (w *secondSlots) add(now time.Time) {
	sec := now.Unix()
	i := slot(sec)
	if w.stamp[i] != sec {
		w.stamp[i], w.count[i] = sec, 0
	}
	w.count[i]++
}

// sum counts the events of the 60 seconds ending at now.
func (w *secondSlots) sum(now time.Time) int64 {
	sec := now.Unix()
	var n int64
	for i := range w.count {
		if age := sec - w.stamp[i]; age >= 0 && age < 60 {
			n += w.count[i]
		}
	}
	return n
}
