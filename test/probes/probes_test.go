// Package probes_test runs the security probe scripts of scripts/probes
// against the real livekit-mock binary: one fresh server per probe on
// 127.0.0.1 and a free port, with the environment that probe needs. A probe
// that exits non-zero fails the test; exit code 77 means it could not run
// (no /rtc yet, no curl) and skips.
package probes_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bins are the binaries built once for every probe.
type bins struct {
	server, wsclient string
	root             string
}

// build compiles livekit-mock and the probe WebSocket client into dir.
func build(t *testing.T) bins {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	root := moduleRoot(t)
	dir := t.TempDir()
	b := bins{server: filepath.Join(dir, "livekit-mock"), wsclient: filepath.Join(dir, "wsclient"), root: root}
	for out, pkg := range map[string]string{b.server: "./cmd/livekit-mock", b.wsclient: "./scripts/probes/wsclient"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	return b
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// addrWriter collects the server's log and reports the listen address once.
type addrWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	found bool
	addr  chan string
}

var listenRE = regexp.MustCompile(`livekit-mock listening.* addr=(\S+)`)

func (w *addrWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.found {
		if m := listenRE.FindSubmatch(w.buf.Bytes()); m != nil {
			w.found = true
			w.addr <- string(m[1])
		}
	}
	return len(p), nil
}

func (w *addrWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startServer runs the binary with env on 127.0.0.1 and a free port and
// returns its base URL. The server is stopped (SIGTERM, then kill) at cleanup.
func startServer(t *testing.T, bin string, env map[string]string) string {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT=0", "BIND=127.0.0.1", "RTC_UDP_PORT=0", "NODE_IP=127.0.0.1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &addrWriter{addr: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("server did not stop within 10 s of SIGTERM\n%s", logs)
		}
	})
	select {
	case addr := <-logs.addr:
		return "http://" + addr
	case err := <-exited:
		t.Fatalf("server exited before listening: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("server did not listen within 10 s\n%s", logs)
	}
	return ""
}

// hasRTC tells whether the server serves /rtc at all (the hub may not be
// wired yet); a plain GET gets 400 when it does and 404 when it does not.
func hasRTC(t *testing.T, base string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/rtc", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	return resp.StatusCode != http.StatusNotFound
}

func TestProbes(t *testing.T) {
	if testing.Short() {
		t.Skip("probes start the real binary; skipped with -short")
	}
	b := build(t)
	tests := []struct {
		script string
		env    map[string]string // server environment
		ws     bool
	}{
		{script: "ratelimit.sh"}, // default limits, fresh bucket
		{script: "spoof.sh"},     // default limits, fresh bucket
		{script: "cors.sh"},      // default ALLOWED_ORIGINS
		{script: "payload.sh", env: map[string]string{"RATE_LIMIT_MAX": "0"}},
		{script: "strings.sh", env: map[string]string{"RATE_LIMIT_MAX": "0"}},
		{script: "ws.sh", ws: true},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.script, ".sh"), func(t *testing.T) {
			base := startServer(t, b.server, tc.env)
			if tc.ws && !hasRTC(t, base) {
				t.Skip("this build has no /rtc yet (GET /rtc is 404); the WebSocket probes wait on the hub")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", filepath.Join(b.root, "scripts", "probes", tc.script))
			cmd.Env = append(os.Environ(), "BASE="+base, "WSCLIENT="+b.wsclient)
			out, err := cmd.CombinedOutput()
			t.Logf("%s\n%s", tc.script, out)
			var ee *exec.ExitError
			switch {
			case err == nil:
			case errors.As(err, &ee) && ee.ExitCode() == 77:
				t.Skipf("%s could not run here (exit 77)", tc.script)
			default:
				t.Fatalf("%s failed: %v (see the FAIL lines above)", tc.script, err)
			}
		})
	}
}
