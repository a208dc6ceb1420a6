package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T, h http.Handler, o Options) (addr string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := New(h, o)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	return ln.Addr().String(), func() error { cancel(); return <-errc }
}

func TestServesAndShutsDownInOrder(t *testing.T) {
	var order []string
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	s := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), Options{})
	s.OnShutdown("first", func(context.Context) { order = append(order, "first") })
	s.OnShutdown("second", func(context.Context) { order = append(order, "second") })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ",") != "first,second" {
		t.Fatalf("hooks ran %v", order)
	}
}

func TestHeaderCapAnswers431(t *testing.T) {
	addr, stop := start(t, http.NotFoundHandler(), Options{})
	defer stop()
	req, _ := http.NewRequest("GET", "http://"+addr, nil)
	req.Header.Set("X-Big", strings.Repeat("a", 100<<10))
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestSlowHeadersAreCutOff(t *testing.T) {
	addr, stop := start(t, http.NotFoundHandler(), Options{ReadHeaderTimeout: 200 * time.Millisecond})
	defer stop()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	// The server closes the connection without answering.
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && !strings.Contains(line, "408") {
		t.Fatalf("got %q, want the connection closed", line)
	}
}
