package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/cluster"
	"github.com/livekit-mock/livekit-mock/internal/metrics"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/roomservice"
	"github.com/livekit-mock/livekit-mock/internal/signal"
)

// fakeCluster stands in for internal/cluster: a fixed status and the rooms
// of one other instance.
type fakeCluster struct {
	status cluster.Status
	remote []cluster.Room
	home   atomic.Value // string: Route's answer
	// homeURL is HomeURL's answer (string).
	homeURL atomic.Value
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
func (f *fakeCluster) HomeURL(context.Context, string) string {
	u, _ := f.homeURL.Load().(string)
	return u
}

func newClusterServer(t *testing.T, cl ClusterView) (*testServer, *rooms.Registry) {
	t.Helper()
	return newClusterServerEnv(t, cl, nil)
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

// testHomes relays to the fake cluster's Route, as the builder's adapter
// does with the real one.
type testHomes struct{ c ClusterView }

func (h testHomes) Remote(ctx context.Context, room string) (string, bool) {
	home := h.c.Route(ctx, room)
	return home, home != ""
}

func (h testHomes) RelayHeader(ip string) http.Header {
	hd := http.Header{}
	hd.Set(relayHeader, h.c.InstanceID())
	hd.Set("X-Forwarded-For", ip)
	return hd
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

// TestClusterActsOnRemoteRooms: an instance that does not host a room
// answers for it at once (before any heartbeat put it in the directory) by
// asking the room's home: GET /api/rooms/:room and the RoomService's
// room-scoped calls; ListRooms lists the other instances' rooms too.
func TestClusterActsOnRemoteRooms(t *testing.T) {
	fa := &fakeCluster{status: cluster.Status{Redis: cluster.StateOK, InstanceID: "a"}}
	a, regA := newClusterServer(t, fa)
	fb := &fakeCluster{status: cluster.Status{Redis: cluster.StateOK, InstanceID: "b"}}
	b, regB := newClusterServer(t, fb)
	// On a, a room with one participant; b's directory has not heard of it.
	if _, _, err := regA.CreateRoom(context.Background(), "far", rooms.RoomSettings{Metadata: "m0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := regA.Join(context.Background(), rooms.JoinRequest{Room: "far", Identity: "bob", State: rooms.StateActive}, nopSink{}); err != nil {
		t.Fatal(err)
	}
	fb.homeURL.Store(a.URL)
	issuer := auth.NewIssuer(b.cfg.APIKey, b.cfg.APISecret, time.Now)
	tok, _, err := issuer.Mint(auth.Claims{Identity: "svc", Video: &auth.VideoGrant{RoomAdmin: true, RoomList: true, RoomCreate: true, Room: "far"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok}

	if r := b.do(t, http.MethodGet, "/api/rooms/far", "", nil); r.status != 200 || r.body["instance"] != "a" || r.body["numParticipants"] != float64(1) {
		t.Fatalf("GET /api/rooms/far on b: %d %s", r.status, r.raw)
	}
	if r := b.do(t, http.MethodPost, "/twirp/livekit.RoomService/ListParticipants", `{"room":"far"}`, bearer); r.status != 200 || !strings.Contains(r.raw, `"identity":"bob"`) {
		t.Fatalf("ListParticipants on b: %d %s", r.status, r.raw)
	}
	if r := b.do(t, http.MethodPost, "/twirp/livekit.RoomService/UpdateRoomMetadata", `{"room":"far","metadata":"m1"}`, bearer); r.status != 200 || !strings.Contains(r.raw, `"metadata":"m1"`) {
		t.Fatalf("UpdateRoomMetadata on b: %d %s", r.status, r.raw)
	}
	if info, _ := regA.Get("far"); info.Metadata != "m1" {
		t.Errorf("a's room metadata = %q after the call on b, want m1", info.Metadata)
	}
	if _, ok := regB.Get("far"); ok {
		t.Error("b opened a copy of the room")
	}
	// A call already forwarded once is answered where it lands.
	if r := b.do(t, http.MethodGet, "/api/rooms/far", "", map[string]string{relayHeader: "x"}); r.status != 404 {
		t.Errorf("a forwarded GET was forwarded again: %d %s", r.status, r.raw)
	}
	// ListRooms: b's own rooms and the directory's.
	lk, _ := protojson.Marshal(&livekit.Room{Name: "far", Sid: "RM_far", NumParticipants: 1})
	fb.remote = []cluster.Room{{Name: "far", Instance: "a", LiveKit: lk}}
	if _, err := regB.Reserve("near"); err != nil {
		t.Fatal(err)
	}
	r := b.do(t, http.MethodPost, "/twirp/livekit.RoomService/ListRooms", `{}`, bearer)
	if r.status != 200 || !strings.Contains(r.raw, `"name":"near"`) || !strings.Contains(r.raw, `"name":"far"`) {
		t.Fatalf("ListRooms on b: %d %s", r.status, r.raw)
	}
	if r := b.do(t, http.MethodPost, "/twirp/livekit.RoomService/ListRooms", `{"names":["near"]}`, bearer); strings.Contains(r.raw, `"far"`) {
		t.Errorf("ListRooms names filter let a remote room through: %s", r.raw)
	}
	// Deleting from b ends the room on a.
	if r := b.do(t, http.MethodPost, "/twirp/livekit.RoomService/DeleteRoom", `{"room":"far"}`, bearer); r.status != 200 {
		t.Fatalf("DeleteRoom on b: %d %s", r.status, r.raw)
	}
	if _, ok := regA.Get("far"); ok {
		t.Error("the room is still on a after DeleteRoom on b")
	}
}

// nopSink is a member that hears nothing.
type nopSink struct{}

func (nopSink) Send(rooms.Event) bool { return true }
func (nopSink) Close(rooms.Reason)    {}

func newClusterServerEnv(t *testing.T, cl ClusterView, env map[string]string) (*testServer, *rooms.Registry) {
	t.Helper()
	return newClusterServerOf(t, cl, env, nil)
}

// newClusterServerWith is newClusterServer with changes to its Deps.
func newClusterServerWith(t *testing.T, cl ClusterView, with func(*Deps)) (*testServer, *rooms.Registry) {
	t.Helper()
	return newClusterServerOf(t, cl, nil, with)
}

func newClusterServerOf(t *testing.T, cl ClusterView, env map[string]string, with func(*Deps)) (*testServer, *rooms.Registry) {
	t.Helper()
	cfg := testConfig(t, env)
	now := time.Now
	reg := rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
	t.Cleanup(reg.Close)
	figs := metrics.New(metrics.Options{Rooms: reg.Counts})
	hub, verifier := signal.NewHub(signal.Options{}), auth.NewVerifier(cfg.Keys, now)
	d := Deps{
		Verifier: verifier, RTC: rtcEndpointHomes(cfg, hub, reg, verifier, nil, testHomes{cl}),
		Registry: reg, Rooms: reg, Figures: figs, Cluster: cl, Hub: hub,
		RoomService: roomservice.New(reg, roomservice.Options{}),
	}
	if with != nil {
		with(&d)
	}
	s := serveDeps(t, cfg, now, d)
	return &testServer{Server: s, cfg: cfg}, reg
}

// Production hides participant sids from anonymous callers in every
// instance's rooms, remote ones included.
func TestClusterRoomsHideParticipantSidsInProduction(t *testing.T) {
	remoteDoc, _ := json.Marshal(roomJSON{Name: "far", Sid: "RM_far", Participants: []string{"bob"}, NumParticipants: 1,
		CreatedAt: "2026-01-01T00:00:00.000Z", ParticipantDetails: []participantJSON{{Sid: "PA_bob", Identity: "bob"}}})
	fc := &fakeCluster{
		status: cluster.Status{Redis: cluster.StateOK, InstanceID: "a", Instances: []string{"a", "b"}},
		remote: []cluster.Room{{Name: "far", Sid: "RM_far", Participants: 1, Instance: "b", Doc: remoteDoc}},
	}
	s, _ := newClusterServerEnv(t, fc, prodEnv(nil))
	bearer := map[string]string{"Authorization": "Bearer " + callerToken(t, prodJWTSecret, time.Hour, time.Now())}
	for _, path := range []string{"/api/rooms", "/api/rooms/far"} {
		if r := s.do(t, http.MethodGet, path, "", nil); r.status != 200 || !strings.Contains(r.raw, `"identity":"bob"`) || strings.Contains(r.raw, "PA_bob") {
			t.Errorf("%s without a bearer: %d %s", path, r.status, r.raw)
		}
		if r := s.do(t, http.MethodGet, path, "", bearer); r.status != 200 || !strings.Contains(r.raw, `"sid":"PA_bob"`) {
			t.Errorf("%s with the caller bearer: %d %s", path, r.status, r.raw)
		}
	}
}
