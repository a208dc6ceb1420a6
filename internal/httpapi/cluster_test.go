package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/cluster"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/metrics"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal"
)

// fakeCluster stands in for internal/cluster: a fixed status and the rooms
// of one other instance.
type fakeCluster struct {
	status cluster.Status
	remote []cluster.Room
	home   atomic.Value // string: Route's answer
}

func (f *fakeCluster) InstanceID() string     { return f.status.InstanceID }
func (f *fakeCluster) Status() cluster.Status { return f.status }
func (f *fakeCluster) RemoteRooms(context.Context) ([]cluster.Room, error) {
	return f.remote, nil
}
func (f *fakeCluster) Route(context.Context, string) string {
	home, _ := f.home.Load().(string)
	return home
}
func (f *fakeCluster) Relaying() <-chan struct{} { return nil }

func newClusterServer(t *testing.T, cl ClusterView) (*testServer, *rooms.Registry) {
	t.Helper()
	cfg := testConfig(t, nil)
	now := time.Now
	policy, _ := names.ParsePolicy(cfg.NamePolicy)
	reg := rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
	t.Cleanup(reg.Close)
	figs := metrics.New(metrics.Options{Rooms: reg.Counts})
	h := New(Deps{
		Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Issuer: auth.NewIssuer(cfg.APIKey, cfg.APISecret, now), Verifier: auth.NewVerifier(cfg.Keys, now),
		IDs: ids.New(nil), Names: policy, Now: now, Started: now(),
		MintLimiter:    ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now),
		ServiceLimiter: ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now),
		Registry:       reg, Rooms: reg, Figures: figs, Cluster: cl,
		Hub: signal.NewHub(signal.Options{}),
	})
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return &testServer{Server: s, cfg: cfg}, reg
}

func TestClusterHTTP(t *testing.T) {
	remoteDoc, _ := json.Marshal(roomJSON{Name: "far", Sid: "RM_far", Participants: []string{"bob"}, NumParticipants: 1,
		CreatedAt: "2026-01-01T00:00:00.000Z", ParticipantDetails: []participantJSON{}})
	fc := &fakeCluster{
		status: cluster.Status{Redis: cluster.StateOK, InstanceID: "a", Instances: []string{"a", "b"},
			Totals: cluster.Figures{Rooms: 2, Participants: 1, Connections: 3, TokensTotal: 7}},
		remote: []cluster.Room{{Name: "far", Sid: "RM_far", Participants: 1, Instance: "b", Doc: remoteDoc}},
	}
	s, reg := newClusterServer(t, fc)
	if _, err := reg.Reserve("near"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path string
		status     int
		want       []string // substrings of the body
	}{
		{"health has the cluster", "/health", 200, []string{`"status":"healthy"`, `"rooms":1`,
			`"cluster":{"instance":"a","instances":["a","b"],"redis":"ok","totals":{"connections":3,"participants":1,"rooms":2}}`}},
		{"stats has the instance and totals", "/stats", 200, []string{`"instance":"a"`, `"tokens_generated":7`, `"redis":"ok"`}},
		{"list has every instance's rooms", "/api/rooms", 200, []string{`"name":"near"`, `"instance":"a"`, `"name":"far"`, `"instance":"b"`, `"participants":["bob"]`}},
		{"a local room", "/api/rooms/near", 200, []string{`"name":"near"`, `"instance":"a"`}},
		{"a remote room", "/api/rooms/far", 200, []string{`"sid":"RM_far"`, `"instance":"b"`, `"numParticipants":1`}},
		{"no such room", "/api/rooms/none", 404, []string{`"error":"Room not found"`}},
		{"metrics say which instance", "/metrics", 200, []string{"livekit_mock_rooms 1", `livekit_mock_instance_info{instance_id="a"} 1`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, http.MethodGet, tc.path, "", map[string]string{"Accept-Encoding": "gzip"})
			if r.status != tc.status {
				t.Fatalf("%s: %d %s", tc.path, r.status, r.raw)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.raw, w) {
					t.Errorf("%s: body lacks %s:\n%s", tc.path, w, r.raw)
				}
			}
		})
	}

	// Degraded: /health stays healthy and says why.
	fc.status = cluster.Status{Redis: cluster.StateDegraded, InstanceID: "a", Error: "dial tcp: connection refused"}
	r := s.do(t, http.MethodGet, "/health", "", nil)
	if r.status != 200 || !strings.Contains(r.raw, `"status":"healthy"`) ||
		!strings.Contains(r.raw, `"redis":"degraded"`) || !strings.Contains(r.raw, `"instances":[]`) {
		t.Fatalf("degraded /health: %d %s", r.status, r.raw)
	}
}

func TestClusterReport(t *testing.T) {
	reg := rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
	t.Cleanup(reg.Close)
	if _, err := reg.Reserve("r1"); err != nil {
		t.Fatal(err)
	}
	figs := metrics.New(metrics.Options{})
	figs.TokenMinted("api")
	rep := ClusterReport(reg, figs, connCount(4), nil)()
	if rep.Figures.Rooms != 1 || rep.Figures.TokensTotal != 1 || rep.Figures.Connections != 4 || len(rep.Rooms) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	var rj roomJSON
	if err := json.Unmarshal(rep.Rooms[0].Doc, &rj); err != nil || rj.Name != "r1" || rj.Sid != rep.Rooms[0].Sid {
		t.Fatalf("room doc %s: %v", rep.Rooms[0].Doc, err)
	}
}

type connCount int

func (c connCount) Connections() int { return int(c) }

// TestClusterRelayAnswers covers what the relay answers before any bytes
// flow: the home's refusal passed back, an unreachable home, and upgrades
// that are not relayed. test/cluster covers relayed sessions end to end.
func TestClusterRelayAnswers(t *testing.T) {
	seen := make(chan http.Header, 4)
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "origin not allowed")
	}))
	defer home.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	fc := &fakeCluster{status: cluster.Status{Redis: cluster.StateOK, InstanceID: "b"}}
	s, _ := newClusterServer(t, fc)
	issuer := auth.NewIssuer(s.cfg.APIKey, s.cfg.APISecret, time.Now)
	tok, _, err := issuer.Mint(auth.Claims{Identity: "x", Video: &auth.VideoGrant{RoomJoin: true, Room: "r"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	upgrade := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}

	tests := []struct {
		name, home, query string
		status            int
		body              string
	}{
		{"the home's refusal is the answer", home.URL, "access_token=" + tok, 403, "origin not allowed"},
		{"an unreachable home", gone.URL, "access_token=" + tok, 503, `"error":"The room's home instance is unreachable"`},
		{"a bad token is refused here", home.URL, "access_token=bad", 401, `"code":"unauthenticated"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc.home.Store(tc.home)
			r := s.do(t, http.MethodGet, "/rtc?"+tc.query, "", upgrade)
			if r.status != tc.status || !strings.Contains(r.raw, tc.body) {
				t.Fatalf("%d %q, want %d with %s", r.status, r.raw, tc.status, tc.body)
			}
			if tc.status == 403 {
				if h := <-seen; h.Get(relayHeader) != "b" || h.Get("X-Forwarded-For") != "127.0.0.1" {
					t.Errorf("the home saw %v, want the relay mark and the client address", h)
				}
			}
		})
	}
}
