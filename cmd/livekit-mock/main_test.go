package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// startServe runs the real server in-process on a loopback port.
func startServe(t *testing.T, env map[string]string) (base string, logs *syncBuffer, stop func() error) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	env["PORT"], env["BIND"], env["RTC_UDP_PORT"], env["NODE_IP"] = "0", "127.0.0.1", "0", "127.0.0.1"
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	logs = &syncBuffer{}
	go func() { errc <- serve(ctx, nil, envOf(env), io.Discard, logs, ready) }()
	select {
	case addr := <-ready:
		return "http://" + addr, logs, func() error { cancel(); return <-errc }
	case err := <-errc:
		cancel()
		t.Fatalf("server did not start: %v\n%s", err, logs.String())
	}
	return "", nil, nil
}

func TestServeEndToEnd(t *testing.T) {
	base, logs, stop := startServe(t, nil)
	resp, err := http.Post(base+"/api/livekit/token", "application/json", strings.NewReader(`{"roomName":"r","participantName":"alice","participantIdentity":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body["identity"] != "alice" {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	tok := body["token"].(string)
	http.DefaultClient.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "apiKey=devkey") || !strings.Contains(out, "mode=development") {
		t.Errorf("start-up line: %s", out)
	}
	// No secret and no token in the logs.
	if strings.Contains(out, tok) || strings.Contains(out, "=secret") {
		t.Errorf("logs leak a secret or a token:\n%s", out)
	}
}

func TestBadConfigNamesTheVariable(t *testing.T) {
	for env, want := range map[string]string{
		"RATE_LIMIT_MAX":   "invalid RATE_LIMIT_MAX",
		"PORT":             "invalid PORT",
		"NAME_POLICY":      "invalid NAME_POLICY",
		"JWT_EXPIRY_HOURS": "invalid JWT_EXPIRY_HOURS",
	} {
		var stderr bytes.Buffer
		code := run(context.Background(), nil, envOf(map[string]string{env: "banana"}), io.Discard, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), want) {
			t.Errorf("%s=banana: exit %d, stderr %q", env, code, stderr.String())
		}
	}
}

func TestProductionRefusesDevSecrets(t *testing.T) {
	cases := []map[string]string{
		{"ENVIRONMENT": "production", "JWT_SECRET": strings.Repeat("j", 40)},                                                                              // default secret
		{"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": "short-secret", "JWT_SECRET": strings.Repeat("j", 40)},                                        // short
		{"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": strings.Repeat("s", 40)},                                                                      // no JWT_SECRET
		{"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": strings.Repeat("s", 40), "JWT_SECRET": strings.Repeat("j", 40), "LIVEKIT_KEYS": "k2: secret"}, // a dev secret among the keys
	}
	for _, env := range cases {
		var stderr bytes.Buffer
		if code := run(context.Background(), nil, envOf(env), io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "production") {
			t.Errorf("%v: exit %d %q", env, code, stderr.String())
		}
	}
}

func TestTokenCreateAndVerify(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"token", "create", "--room", "r1", "--identity", "bob", "--ttl", "10m", "--grant", "roomAdmin"}, envOf(nil), &out, &errb); code != 0 {
		t.Fatalf("create: %d %s", code, errb.String())
	}
	tok := strings.TrimSpace(out.String())
	out.Reset()
	if code := run(context.Background(), []string{"token", "verify", tok}, envOf(nil), &out, &errb); code != 0 {
		t.Fatalf("verify: %d %s", code, errb.String())
	}
	var claims map[string]any
	if err := json.Unmarshal(out.Bytes(), &claims); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if !strings.Contains(out.String(), `"bob"`) || !strings.Contains(out.String(), `"r1"`) {
		t.Fatalf("claims: %s", out.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"token", "verify", tok}, envOf(map[string]string{"LIVEKIT_API_SECRET": "other"}), &out, &errb); code != 1 || !strings.Contains(errb.String(), "invalid token") {
		t.Fatalf("wrong secret: %d %q", code, errb.String())
	}
	if code := run(context.Background(), []string{"token", "create", "--caller"}, envOf(nil), &out, &errb); code != 2 {
		t.Fatalf("--caller without JWT_SECRET: %d", code)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	base, _, stop := startServe(t, nil)
	defer stop()
	var out bytes.Buffer
	if code := run(context.Background(), []string{"healthcheck"}, envOf(map[string]string{"LIVEKIT_MOCK_URL": base}), &out, io.Discard); code != 0 {
		t.Fatalf("healthy server: exit %d", code)
	}
	http.DefaultClient.CloseIdleConnections()
	if code := run(context.Background(), []string{"healthcheck"}, envOf(map[string]string{"LIVEKIT_MOCK_URL": "http://127.0.0.1:1"}), &out, io.Discard); code != 1 {
		t.Fatalf("no server: exit %d", code)
	}
}

// TestSIGTERMExitsZero builds the real binary, starts it and stops it with
// SIGTERM, as a container runtime does.
func TestSIGTERMExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "livekit-mock")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT=0", "BIND=127.0.0.1", "RTC_UDP_PORT=0", "NODE_IP=127.0.0.1", "LOG_FORMAT=json")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the start-up line, then signal.
	dec := json.NewDecoder(stderr)
	deadline := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for {
		var line map[string]any
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("no start-up line: %v", err)
		}
		if line["msg"] == "livekit-mock listening" {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stderr)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("exit code %d", cmd.ProcessState.ExitCode())
	}
}

// TestHealthCountsLiveSessions checks /health against the real registry and
// hub: a JSON-dialect participant is one room, one participant, one connection.
func TestHealthCountsLiveSessions(t *testing.T) {
	base, _, stop := startServe(t, nil)
	defer stop()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/rtc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := ws.ReadMessage(); err != nil { // welcome
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"join_room","roomName":"r","participant":{"identity":"alice"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.ReadMessage(); err != nil || !strings.Contains(string(msg), `"room_joined"`) {
		t.Fatalf("join: %s %v", msg, err)
	}
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if h["rooms"] != float64(1) || h["participants"] != float64(1) || h["connections"] != float64(1) {
		t.Fatalf("/health %v, want 1 room, 1 participant, 1 connection", h)
	}
}

// freePortPair finds a TCP port p that is free with UDP port p+2 free too,
// as the default media port needs.
func freePortPair(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p+2 > 65535 {
			continue
		}
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p+2))
		if err != nil {
			continue
		}
		u.Close()
		return p
	}
	t.Fatal("no free port pair")
	return 0
}

// Two instances on one machine started with nothing but PORT different both
// serve: the media port follows PORT, and the start-up log names both ports
// and the dashboard.
func TestTwoInstancesDifferOnlyInPort(t *testing.T) {
	var stops []func() error
	for range 2 {
		port := freePortPair(t)
		ctx, cancel := context.WithCancel(context.Background())
		ready, errc, logs := make(chan string, 1), make(chan error, 1), &syncBuffer{}
		env := map[string]string{"PORT": strconv.Itoa(port)}
		go func() { errc <- serve(ctx, nil, envOf(env), io.Discard, logs, ready) }()
		select {
		case addr := <-ready:
			if addr != "127.0.0.1:"+strconv.Itoa(port) {
				t.Errorf("listening on %s, want loopback port %d", addr, port)
			}
		case err := <-errc:
			cancel()
			t.Fatalf("instance on port %d did not start: %v\n%s", port, err, logs.String())
		}
		stops = append(stops, func() error { cancel(); return <-errc })
		for _, want := range []string{"rtc_udp_port=" + strconv.Itoa(port+2), "url=http://127.0.0.1:" + strconv.Itoa(port) + "/", "loopback only"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("start-up log lacks %q:\n%s", want, logs.String())
			}
		}
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/health")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("instance on %d: %v %v", port, err, resp)
		}
		resp.Body.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	for _, stop := range stops {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}
}
