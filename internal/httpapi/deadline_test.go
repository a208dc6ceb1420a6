package httpapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/roomservice"
	"github.com/livekit-mock/livekit-mock/internal/signal"
)

// bodyDeadline is the short body deadline of these tests.
const bodyDeadline = 300 * time.Millisecond

func startDeadline(t *testing.T) *adminEnv {
	t.Helper()
	return startAdminWith(t, nil, signal.Options{}, func(d *Deps) {
		d.BodyDeadline = bodyDeadline
		d.RoomService = roomservice.New(d.Registry, roomservice.Options{})
	})
}

// stalled sends head and part of a body on a raw socket and returns what the
// server answers until it closes the connection. The client waits far
// longer than the deadline, so a held connection shows as a failure.
func stalled(t *testing.T, url, head, part string) (status int, closed bool) {
	t.Helper()
	addr := strings.TrimPrefix(url, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, head+"\r\n%s", addr, part); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(bodyDeadline + 5*time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err == nil {
		status = resp.StatusCode
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// The server must also let the connection go.
	_, err = br.ReadByte()
	var ne net.Error
	closed = err == io.EOF || (err != nil && !(errors.As(err, &ne) && ne.Timeout()))
	return status, closed
}

// A request that declares a body and stalls is answered 408 (or closed) when
// the body deadline runs out, on every route; the server keeps answering.
func TestStalledBodyIsCutOff(t *testing.T) {
	e := startDeadline(t)
	const json = "Content-Type: application/json\r\n"
	for _, c := range []struct {
		name, head, part string
		want             int // 0: any answer, as long as the connection closes
	}{
		{"mint", "POST /api/livekit/token HTTP/1.1\r\nHost: %s\r\n" + json + "Content-Length: 100\r\n", `{"roomName"`, 408},
		{"mint chunked with a length", "POST /api/livekit/token HTTP/1.1\r\nHost: %s\r\n" + json + "Transfer-Encoding: chunked\r\nContent-Length: 100\r\n", "64\r\n{\"roomName\"", 0},
		{"mint chunked", "POST /api/livekit/token HTTP/1.1\r\nHost: %s\r\n" + json + "Transfer-Encoding: chunked\r\n", "64\r\n{\"roomName\"", 408},
		{"admin", "POST /__admin/events/wait HTTP/1.1\r\nHost: %s\r\n" + json + "Content-Length: 100\r\n", `{"type"`, 408},
		{"twirp", "POST /twirp/livekit.RoomService/ListRooms HTTP/1.1\r\nHost: %s\r\n" + json + "Content-Length: 100\r\n", `{"names"`, 408},
		{"health, a route that reads no body", "GET /health HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\n", "0123456789", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, closed := stalled(t, e.URL, c.head, c.part)
			if (c.want != 0 && status != c.want) || !closed {
				t.Fatalf("status %d, closed %v", status, closed)
			}
		})
	}
	if r := e.do(t, http.MethodGet, "/health", "", nil); r.status != http.StatusOK {
		t.Fatalf("/health after stalled bodies: %d", r.status)
	}
}

// The body deadline ends with the body on streaming routes: a long poll
// outlives it.
func TestLongPollOutlivesBodyDeadline(t *testing.T) {
	e := startDeadline(t)
	type answer struct {
		status int
		body   string
		err    error
	}
	got := make(chan answer, 1)
	go func() { // no t.Fatal here: only the test's goroutine may end it
		resp, err := e.Client().Post(e.URL+"/__admin/events/wait", "application/json",
			strings.NewReader(`{"type":"participant_joined","identity":"late","timeout_ms":10000}`))
		if err != nil {
			got <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- answer{status: resp.StatusCode, body: string(b), err: err}
	}()
	// Real time on purpose: the deadline is the socket's, which a synctest
	// bubble cannot run; the wait must outlive it.
	time.Sleep(3 * bodyDeadline)
	e.post(t, "/__admin/rooms/r/participants", `{"identity":"late"}`)
	if a := <-got; a.err != nil || a.status != http.StatusOK || !strings.Contains(a.body, `"identity":"late"`) {
		t.Fatalf("wait: %d %s %v", a.status, a.body, a.err)
	}
}
