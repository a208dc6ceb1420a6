// Package gosdk runs LiveKit's Go server SDK (server-sdk-go) against the
// livekit-mock binary, in two-PeerConnection and single-PeerConnection mode.
//
// The SDK's WebRTC never offers a loopback candidate, so it cannot reach a
// server on 127.0.0.1. The tests therefore run in a network namespace of
// their own (unshare -n, as root): lo and a veth pair whose two ends hold
// 198.18.0.1/24 and 198.18.0.2/24, no route anywhere else. Every packet stays
// in that namespace. Without root or unshare the tests skip and say why.
package gosdk

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	protoLogger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

const (
	// nsAddr is this test's own address inside its namespace (RFC 2544
	// benchmarking range, routed nowhere).
	nsAddr    = "198.18.0.1"
	peerAddr  = "198.18.0.2" // the veth pair's other end
	inNSEnv   = "LIVEKIT_MOCK_GOSDK_NETNS"
	binEnv    = "LIVEKIT_MOCK_BIN"
	apiKey    = "devkey"
	apiSecret = "secret"
)

// skipReason is set when the namespace cannot be made; every test skips
// with it.
var skipReason string

// srv is the server every test talks to (started once in TestMain).
var srv *server

func TestMain(m *testing.M) {
	if os.Getenv(inNSEnv) == "" {
		code, reason := reexecInNamespace()
		if reason == "" {
			os.Exit(code)
		}
		fmt.Fprintf(os.Stderr, "gosdk: SKIPPING every Go SDK test: %s\n", reason)
		skipReason = reason
		os.Exit(m.Run())
	}
	s, err := startServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosdk: cannot start livekit-mock: %v\n", err)
		os.Exit(1)
	}
	srv = s
	if os.Getenv("GOSDK_LOG") == "" {
		lksdk.SetLogger(protoLogger.GetDiscardLogger()) // GOSDK_LOG=1 shows the SDK's log
	}
	code := m.Run()
	s.stop()
	os.Exit(code)
}

// reexecInNamespace runs this test binary again, with the same arguments,
// inside a new network namespace with lo and a veth pair at nsAddr and
// peerAddr.
// It returns the child's exit code, or why it could not.
func reexecInNamespace() (int, string) {
	if os.Geteuid() != 0 {
		return 0, "a network namespace needs root (unshare -n); the SDK cannot use loopback"
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return 0, tool + " is missing (util-linux, iproute2)"
		}
	}
	if err := exec.Command("unshare", "-n", "true").Run(); err != nil {
		return 0, "unshare -n fails here (no CAP_SYS_ADMIN?): " + err.Error()
	}
	self, err := os.Executable()
	if err != nil {
		return 0, err.Error()
	}
	setup := "ip link set lo up && ip link add lkm0 type veth peer name lkm1 && ip addr add " + nsAddr + "/24 dev lkm0 && " +
		"ip addr add " + peerAddr + "/24 dev lkm1 && ip link set lkm0 up && ip link set lkm1 up && exec \"$0\" \"$@\""
	args := append([]string{"-n", "--", "sh", "-c", setup, self}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = os.Stdout, os.Stderr, os.Stdin
	cmd.Env = append(os.Environ(), inNSEnv+"=1")
	dieWithParent(cmd)
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), ""
		}
		return 0, "cannot run the tests in a namespace: " + err.Error()
	}
	return 0, ""
}

func needNamespace(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

type server struct {
	cmd  *exec.Cmd
	base string // http://198.18.0.1:port
	ws   string
	done chan struct{}
	mu   sync.Mutex
	logs strings.Builder
}

func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp4", nsAddr+":0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	ln, err := net.Listen("tcp4", nsAddr+":0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func startServer() (*server, error) {
	bin := os.Getenv(binEnv)
	if bin == "" {
		bin = filepath.Join("..", "..", "bin", "livekit-mock")
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s: %w (run make build, or set %s)", bin, err, binEnv)
	}
	port, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	udp, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + nsAddr + ":" + strconv.Itoa(port), ws: "ws://" + nsAddr + ":" + strconv.Itoa(port), done: make(chan struct{})}
	s.cmd = exec.Command(bin)
	s.cmd.Env = append(os.Environ(),
		"PORT="+strconv.Itoa(port), "BIND="+nsAddr, "NODE_IP="+nsAddr, "RTC_UDP_PORT="+strconv.Itoa(udp),
		"LIVEKIT_API_KEY="+apiKey, "LIVEKIT_API_SECRET="+apiSecret, "RATE_LIMIT_MAX=0",
		"ROOM_DEPARTURE_TIMEOUT=1s", "LOG_LEVEL=warn",
	)
	dieWithParent(s.cmd)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
		_ = s.cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(s.base + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("exited at start:\n%s", s.log())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("no /health within 20 s:\n%s", s.log())
		}
	}
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// ctx is a test's deadline for what it waits on.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
