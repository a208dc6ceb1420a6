// Package cluster_test runs several real livekit-mock processes against a
// real redis-server (SPEC §12): shared rate limits, the room directory,
// Redis lost and back, and Redis missing at start-up. Every process listens
// on 127.0.0.1 and a port chosen at run time.
//
// LIVEKIT_MOCK_BIN, when set, names a binary to test instead of building one.
package cluster_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// buildDir holds the binary built for this run; set once by TestMain,
// before any test, and removed after the last.
var buildDir string

func TestMain(m *testing.M) { goleak.VerifyTestMain(withBuildDir{m}) }

type withBuildDir struct{ m *testing.M }

func (w withBuildDir) Run() int {
	dir, err := os.MkdirTemp("", "livekit-mock-cluster")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	buildDir = dir
	defer os.RemoveAll(dir)
	return w.m.Run()
}

const redisBin = "/usr/bin/redis-server"

// binary builds livekit-mock once per test binary run.
var binary = sync.OnceValues(func() (string, error) {
	if b := os.Getenv("LIVEKIT_MOCK_BIN"); b != "" {
		return b, nil
	}
	out := filepath.Join(buildDir, "livekit-mock")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/livekit-mock")
	cmd.Dir = filepath.Join("..", "..")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, msg)
	}
	return out, nil
})

func needTools(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("cluster tests start redis-server and the real binary; skipped with -short")
	}
	if _, err := os.Stat(redisBin); err != nil {
		t.Skipf("%s is missing (apt-get install -y redis-server; .ci/run installs it): %v", redisBin, err)
	}
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitUntil polls cond until it holds or the deadline passes. The processes
// under test are separate, so their state can only be observed by asking.
func waitUntil(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		<-tick.C
	}
}

// --- redis-server ---

type redisServer struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	logs bytes.Buffer
}

func startRedis(t testing.TB) *redisServer {
	t.Helper()
	r := &redisServer{port: freePort(t), dir: t.TempDir()}
	r.start(t)
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *redisServer) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) }

func (r *redisServer) start(t testing.TB) {
	t.Helper()
	r.cmd = exec.Command(redisBin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	r.logs.Reset()
	r.cmd.Stdout, r.cmd.Stderr = &r.logs, &r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	waitUntil(t, 10*time.Second, "redis-server accepts connections", func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.port), time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

func (r *redisServer) stop(t testing.TB) {
	t.Helper()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

// --- livekit-mock instances ---

type instance struct {
	id   string
	base string
	cmd  *exec.Cmd
	done chan struct{}
	logs *logBuffer
}

type logBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	sent bool
}

var listenRE = regexp.MustCompile(`livekit-mock listening.* addr=(\S+)`)

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < 1<<20 { // enough to explain a failure; benchmarks log a lot
		l.buf.Write(p)
	}
	if !l.sent {
		if m := listenRE.FindSubmatch(l.buf.Bytes()); m != nil {
			l.sent = true
			l.addr <- string(m[1])
		}
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func command(bin string, env ...string) (*exec.Cmd, *logBuffer) {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT=0", "BIND=127.0.0.1", "RTC_UDP_PORT=0", "NODE_IP=127.0.0.1")
	cmd.Env = append(cmd.Env, env...)
	logs := &logBuffer{addr: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = logs, logs
	return cmd, logs
}

func startInstance(t testing.TB, bin, id, redisURL string, env ...string) *instance {
	t.Helper()
	cmd, logs := command(bin, append([]string{"INSTANCE_ID=" + id, "REDIS_URL=" + redisURL}, env...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{id: id, cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() { _ = cmd.Wait(); close(in.done) }()
	t.Cleanup(func() { in.stop(t) })
	select {
	case addr := <-logs.addr:
		in.base = "http://" + addr
	case <-in.done:
		t.Fatalf("instance %s exited before listening\n%s", id, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("instance %s did not listen within 10 s\n%s", id, logs)
	}
	return in
}

// stop ends the instance with SIGTERM (its graceful shutdown).
func (in *instance) stop(t testing.TB) {
	t.Helper()
	select {
	case <-in.done:
		return
	default:
	}
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(10 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.done
		t.Errorf("instance %s did not stop within 10 s of SIGTERM\n%s", in.id, in.logs)
	}
}

// kill ends the instance as a crash would: no goodbye to the directory.
func (in *instance) kill() {
	_ = in.cmd.Process.Kill()
	<-in.done
}

// --- HTTP ---

func client(t testing.TB) *http.Client {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t testing.TB, c *http.Client, method, url, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// clusterState reads /health's "cluster" object.
func clusterState(t testing.TB, c *http.Client, in *instance) (redis string, instances []string) {
	t.Helper()
	a := do(t, c, "GET", in.base+"/health", "")
	cl, _ := a.body["cluster"].(map[string]any)
	redis, _ = cl["redis"].(string)
	list, _ := cl["instances"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		instances = append(instances, s)
	}
	return redis, instances
}

func roomsOf(t testing.TB, c *http.Client, in *instance) map[string]string {
	t.Helper()
	a := do(t, c, "GET", in.base+"/api/rooms", "")
	if a.status != 200 {
		t.Fatalf("GET /api/rooms on %s: %d %s", in.id, a.status, a.raw)
	}
	out := map[string]string{}
	list, _ := a.body["rooms"].([]any)
	for _, v := range list {
		r, _ := v.(map[string]any)
		name, _ := r["name"].(string)
		home, _ := r["instance"].(string)
		out[name] = home
	}
	return out
}

const tokenBody = `{"roomName":"r","participantName":"p"}`

// burst sends n parallel token requests, alternating between the instances,
// and returns the answers.
func burst(t testing.TB, c *http.Client, n int, ins ...*instance) []answer {
	t.Helper()
	out := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", ins[i%len(ins)].base+"/api/livekit/token", strings.NewReader(tokenBody))
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				out[i] = answer{status: -1, raw: err.Error()}
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			out[i] = answer{status: resp.StatusCode, header: resp.Header}
		})
	}
	close(start)
	wg.Wait()
	return out
}

// checkBurst asserts SPEC §3.5 over a burst of 15 from one IP: exactly ten
// succeed, each success sees a distinct remaining count, each refusal an
// honest Retry-After.
func checkBurst(t testing.TB, answers []answer, window int) {
	t.Helper()
	var ok, limited int
	var remaining []int
	for _, a := range answers {
		switch a.status {
		case 200:
			ok++
			n, _ := strconv.Atoi(a.header.Get("RateLimit-Remaining"))
			remaining = append(remaining, n)
		case 429:
			limited++
			ra, err := strconv.Atoi(a.header.Get("Retry-After"))
			if err != nil || ra < 1 || ra > window {
				t.Errorf("429 Retry-After = %q, want 1..%d", a.header.Get("Retry-After"), window)
			}
			if a.header.Get("RateLimit-Remaining") != "0" {
				t.Errorf("429 RateLimit-Remaining = %q, want 0", a.header.Get("RateLimit-Remaining"))
			}
		default:
			t.Errorf("unexpected answer %d %s", a.status, a.raw)
		}
	}
	if ok != 10 || limited != 5 {
		t.Fatalf("15 parallel requests over two instances: %d succeeded and %d were limited, want 10 and 5", ok, limited)
	}
	slices.Sort(remaining)
	if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(remaining, want) {
		t.Errorf("RateLimit-Remaining of the successes = %v, want each of %v once", remaining, want)
	}
}

func TestSharedRateLimit(t *testing.T) {
	t.Parallel()
	bin := needTools(t)
	rds := startRedis(t)
	a := startInstance(t, bin, "a", rds.url())
	b := startInstance(t, bin, "b", rds.url())
	c := client(t)

	checkBurst(t, burst(t, c, 15, a, b), 60)

	// The other bucket (/token/*) is counted apart.
	if got := do(t, c, "POST", b.base+"/token/join", `{"room_name":"r","participant_name":"p"}`); got.status != 200 {
		t.Fatalf("/token/join after the /api/livekit/token burst: %d %s", got.status, got.raw)
	}

	// A reset on one instance empties the windows of both.
	if got := do(t, c, "POST", a.base+"/__admin/reset", `{"what":["ratelimit"]}`); got.status != 200 {
		t.Fatalf("reset: %d %s", got.status, got.raw)
	}
	got := do(t, c, "POST", b.base+"/api/livekit/token", tokenBody)
	if got.status != 200 || got.header.Get("RateLimit-Remaining") != "9" {
		t.Fatalf("after a reset on a, b answers %d with RateLimit-Remaining %q; want 200 and 9",
			got.status, got.header.Get("RateLimit-Remaining"))
	}
}

func TestRoomDirectory(t *testing.T) {
	t.Parallel()
	bin := needTools(t)
	rds := startRedis(t)
	a := startInstance(t, bin, "a", rds.url())
	b := startInstance(t, bin, "b", rds.url())
	c := client(t)

	if got := do(t, c, "POST", a.base+"/token/room", `{"room_name":"room-a","participant_name":"p"}`); got.status != 200 {
		t.Fatalf("/token/room on a: %d %s", got.status, got.raw)
	}
	if got := do(t, c, "POST", b.base+"/__admin/rooms/room-b/participants", `{"identity":"fake-b"}`); got.status/100 != 2 {
		t.Fatalf("fake participant on b: %d %s", got.status, got.raw)
	}
	want := map[string]string{"room-a": "a", "room-b": "b"}
	for _, in := range []*instance{a, b} {
		waitUntil(t, 10*time.Second, "/api/rooms on "+in.id+" lists every instance's rooms", func() bool {
			got := roomsOf(t, c, in)
			return got["room-a"] == want["room-a"] && got["room-b"] == want["room-b"] && len(got) == 2
		})
	}

	// One room, asked of the instance that does not host it.
	got := do(t, c, "GET", a.base+"/api/rooms/room-b", "")
	if got.status != 200 || got.body["instance"] != "b" || got.body["numParticipants"] != float64(1) {
		t.Fatalf("GET /api/rooms/room-b on a: %d %s", got.status, got.raw)
	}
	if got := do(t, c, "GET", a.base+"/api/rooms/nowhere", ""); got.status != 404 || got.body["error"] != "Room not found" {
		t.Fatalf("GET /api/rooms/nowhere: %d %s", got.status, got.raw)
	}

	// Cluster figures: both instances, both rooms, the one participant.
	waitUntil(t, 10*time.Second, "/stats on a sums both instances", func() bool {
		s := do(t, c, "GET", a.base+"/stats", "")
		cl, _ := s.body["cluster"].(map[string]any)
		tot, _ := cl["totals"].(map[string]any)
		return s.body["instance"] == "a" && tot["rooms"] == float64(2) && tot["participants"] == float64(1)
	})
	if _, ins := clusterState(t, c, b); !slices.Equal(ins, []string{"a", "b"}) {
		t.Fatalf("/health cluster instances on b = %v, want [a b]", ins)
	}
	// /metrics stays per instance and says which one it is.
	if m := do(t, c, "GET", b.base+"/metrics", ""); !strings.Contains(m.raw, `livekit_mock_instance_info{instance_id="b"} 1`) {
		t.Fatalf("/metrics on b has no instance label:\n%s", m.raw)
	}

	// A crashed instance drops out of the directory within its TTL (5 s).
	a.kill()
	waitUntil(t, 8*time.Second, "a's room leaves b's /api/rooms after a crash", func() bool {
		got := roomsOf(t, c, b)
		_, still := got["room-a"]
		return !still && got["room-b"] == "b"
	})
	waitUntil(t, 8*time.Second, "b's /health forgets a", func() bool {
		_, ins := clusterState(t, c, b)
		return slices.Equal(ins, []string{"b"})
	})
	if got := do(t, c, "GET", b.base+"/api/rooms/room-a", ""); got.status != 404 {
		t.Fatalf("GET /api/rooms/room-a after a crashed: %d %s", got.status, got.raw)
	}
}

func TestRedisLostAndBack(t *testing.T) {
	t.Parallel()
	bin := needTools(t)
	rds := startRedis(t)
	a := startInstance(t, bin, "a", rds.url())
	b := startInstance(t, bin, "b", rds.url())
	c := client(t)
	if got := do(t, c, "POST", a.base+"/token/room", `{"room_name":"kept","participant_name":"p"}`); got.status != 200 {
		t.Fatalf("/token/room: %d %s", got.status, got.raw)
	}

	rds.stop(t)
	for _, in := range []*instance{a, b} {
		waitUntil(t, 10*time.Second, in.id+" reports Redis degraded", func() bool {
			s, _ := clusterState(t, c, in)
			return s == "degraded"
		})
		h := do(t, c, "GET", in.base+"/health", "")
		if h.status != 200 || h.body["status"] != "healthy" {
			t.Fatalf("/health on %s while degraded: %d %s", in.id, h.status, h.raw)
		}
		if got := do(t, c, "POST", in.base+"/api/livekit/token", tokenBody); got.status != 200 {
			t.Fatalf("token on %s while degraded: %d %s", in.id, got.status, got.raw)
		}
		ev := do(t, c, "GET", in.base+"/__admin/events", "")
		if !strings.Contains(ev.raw, `"type":"cluster_degraded"`) {
			t.Fatalf("journal of %s has no cluster_degraded event: %s", in.id, ev.raw)
		}
	}
	// Rooms are not lost: a's room is still on a.
	if got := do(t, c, "GET", a.base+"/api/rooms/kept", ""); got.status != 200 {
		t.Fatalf("a's room while degraded: %d %s", got.status, got.raw)
	}

	rds.start(t)
	for _, in := range []*instance{a, b} {
		waitUntil(t, 10*time.Second, in.id+" reports Redis ok again", func() bool {
			s, ins := clusterState(t, c, in)
			return s == "ok" && len(ins) == 2
		})
	}
	// The directory is published anew: b sees a's room again.
	waitUntil(t, 10*time.Second, "b lists a's room after Redis returned", func() bool {
		return roomsOf(t, c, b)["kept"] == "a"
	})
	// The windows are shared again (the restarted Redis is empty, and the
	// windows counted locally meanwhile were dropped).
	checkBurst(t, burst(t, c, 15, a, b), 60)
}

func TestRedisUnreachableAtStart(t *testing.T) {
	t.Parallel()
	bin := needTools(t)
	url := "redis://:hunter2-secret@127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd, logs := command(bin, "REDIS_URL="+url)
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the server did not refuse to start\n%s", logs)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v, want exit status 2\n%s", err, logs)
	}
	out := logs.String()
	if !strings.Contains(out, "REDIS_URL") || !strings.Contains(out, "Redis does not answer") {
		t.Errorf("the message does not name REDIS_URL and say why:\n%s", out)
	}
	if strings.Contains(out, "hunter2-secret") {
		t.Errorf("the message shows the Redis password:\n%s", out)
	}
	if strings.Contains(out, "livekit-mock listening") {
		t.Errorf("the server listened before refusing:\n%s", out)
	}
}

func TestNoRedisNoCluster(t *testing.T) {
	t.Parallel()
	bin := needTools(t)
	cmd, logs := command(bin)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{id: "alone", cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() { _ = cmd.Wait(); close(in.done) }()
	t.Cleanup(func() { in.stop(t) })
	select {
	case addr := <-logs.addr:
		in.base = "http://" + addr
	case <-time.After(10 * time.Second):
		t.Fatalf("did not listen\n%s", logs)
	}
	c := client(t)
	for _, path := range []string{"/health", "/stats"} {
		if got := do(t, c, "GET", in.base+path, ""); got.status != 200 || got.body["cluster"] != nil {
			t.Errorf("%s without REDIS_URL: %d %s (want no cluster object)", path, got.status, got.raw)
		}
	}
	if got := do(t, c, "GET", in.base+"/metrics", ""); strings.Contains(got.raw, "livekit_mock_instance_info") {
		t.Errorf("/metrics without REDIS_URL has an instance label")
	}
}

// --- signalling relay ---

func mintFor(t *testing.T, c *http.Client, in *instance, room, identity string) string {
	t.Helper()
	a := do(t, c, "POST", in.base+"/api/livekit/token",
		`{"roomName":"`+room+`","participantName":"`+identity+`","participantIdentity":"`+identity+`"}`)
	tok, _ := a.body["token"].(string)
	if a.status != 200 || tok == "" {
		t.Fatalf("mint for %s: %d %s", identity, a.status, a.raw)
	}
	return tok
}

func dialWS(t *testing.T, in *instance, query string) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(in.base, "http") + "/rtc?" + query
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", in.id, err, status)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readUntil reads JSON messages until one of type typ, within 10 s.
func readUntil(t *testing.T, conn *websocket.Conn, typ string) map[string]any {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m map[string]any
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if m["type"] == typ {
			return m
		}
	}
}

func TestSignallingRelay(t *testing.T) {
	t.Parallel()
	bin := needTools(t)
	rds := startRedis(t)
	a := startInstance(t, bin, "a", rds.url(), "RATE_LIMIT_MAX=0")
	b := startInstance(t, bin, "b", rds.url(), "RATE_LIMIT_MAX=0")
	c := client(t)

	// Alice opens the room on a: a claims it on first use.
	alice := dialWS(t, a, "access_token="+mintFor(t, c, a, "relay", "alice"))
	if w := readUntil(t, alice, "welcome"); w["serverInfo"].(map[string]any)["node"] != "a" {
		t.Fatalf("alice's welcome: %v", w)
	}
	_ = alice.WriteJSON(map[string]any{"type": "join_room", "roomName": "relay", "participant": map[string]any{"identity": "alice"}})
	readUntil(t, alice, "room_joined")

	// Bob connects to b: his token names the room, so b relays him to a.
	bob := dialWS(t, b, "access_token="+mintFor(t, c, b, "relay", "bob"))
	if w := readUntil(t, bob, "welcome"); w["serverInfo"].(map[string]any)["node"] != "a" {
		t.Fatalf("bob's welcome should come from a (relayed): %v", w)
	}
	_ = bob.WriteJSON(map[string]any{"type": "join_room", "roomName": "relay", "participant": map[string]any{"identity": "bob"}})
	joined := readUntil(t, bob, "room_joined")
	if ps := joined["room"].(map[string]any)["participants"].([]any); !slices.Contains(ps, any("alice")) {
		t.Fatalf("bob's room_joined does not list alice: %v", joined)
	}
	if p := readUntil(t, alice, "participant_connected"); p["participant"].(map[string]any)["identity"] != "bob" {
		t.Fatalf("alice saw %v", p)
	}
	_ = bob.WriteJSON(map[string]any{"type": "send_data", "payload": "hello through b"})
	if d := readUntil(t, alice, "data_received"); d["payload"] != "hello through b" {
		t.Fatalf("alice got %v", d)
	}

	// The LiveKit dialect is relayed from its token as well.
	carolTok := mintFor(t, c, b, "relay", "carol")
	if v := do(t, c, "GET", b.base+"/rtc/validate?protocol=17&access_token="+carolTok, ""); v.status != 200 || v.raw != "success" {
		t.Fatalf("validate through b: %d %q", v.status, v.raw)
	}
	carol := dialWS(t, b, "protocol=17&access_token="+carolTok)
	_ = carol.SetReadDeadline(time.Now().Add(10 * time.Second))
	if mt, data, err := carol.ReadMessage(); err != nil || mt != websocket.BinaryMessage || len(data) == 0 {
		t.Fatalf("carol's first frame: type %d, %d bytes, %v", mt, len(data), err)
	}
	if p := readUntil(t, alice, "participant_connected"); p["participant"].(map[string]any)["identity"] != "carol" {
		t.Fatalf("alice saw %v", p)
	}

	// One room, on a, whichever instance is asked.
	for _, in := range []*instance{a, b} {
		waitUntil(t, 10*time.Second, "the room is listed once, on a, with three participants, by "+in.id, func() bool {
			got := do(t, c, "GET", in.base+"/api/rooms/relay", "")
			return got.status == 200 && got.body["instance"] == "a" && got.body["numParticipants"] == float64(3)
		})
	}
	// The list comes from the directory (the next heartbeat); the room above
	// was asked of its home.
	waitUntil(t, 10*time.Second, "b listing the one room, on a", func() bool {
		got := roomsOf(t, c, b)
		return len(got) == 1 && got["relay"] == "a"
	})

	// Bob leaves by closing his socket to b: a tells alice.
	bob.Close()
	if p := readUntil(t, alice, "participant_disconnected"); p["participant"].(map[string]any)["identity"] != "bob" {
		t.Fatalf("alice saw %v", p)
	}
	// A connection without a token names no room: served where it lands.
	anon := dialWS(t, b, "")
	if w := readUntil(t, anon, "welcome"); w["serverInfo"].(map[string]any)["node"] != "b" {
		t.Fatalf("a token-less welcome should come from b: %v", w)
	}
}

func TestDuplicateInstanceID(t *testing.T) {
	t.Parallel()
	bin := needTools(t)
	rds := startRedis(t)
	first := startInstance(t, bin, "same", rds.url())
	cmd, logs := command(bin, "INSTANCE_ID=same", "REDIS_URL="+rds.url())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("a second instance with the same INSTANCE_ID started\n%s", logs)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(logs.String(), `INSTANCE_ID "same"`) {
		t.Fatalf("exit %v, want 2 and a message naming INSTANCE_ID\n%s", err, logs)
	}
	// The first one is still listed.
	if _, ins := clusterState(t, client(t), first); !slices.Equal(ins, []string{"same"}) {
		t.Fatalf("instances after the refused start: %v", ins)
	}
}
