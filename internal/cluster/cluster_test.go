package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const redisBin = "/usr/bin/redis-server"

// redisProc is a real redis-server on a loopback port of the test's choice.
type redisProc struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedis(t *testing.T) *redisProc {
	t.Helper()
	if _, err := os.Stat(redisBin); err != nil {
		t.Skipf("%s is missing (apt-get install -y redis-server; .ci/run installs it)", redisBin)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &redisProc{port: ln.Addr().(*net.TCPAddr).Port, dir: t.TempDir()}
	ln.Close()
	r.start(t)
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *redisProc) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

func (r *redisProc) start(t *testing.T) {
	t.Helper()
	r.cmd = exec.Command(redisBin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server does not accept connections: %v", err)
		}
		select {
		case <-r.done:
			t.Fatal("redis-server exited at start")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (r *redisProc) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	<-r.done
	r.cmd = nil
}

func connect(t *testing.T, url, id string, o Options) *Cluster {
	t.Helper()
	o.URL, o.InstanceID, o.InstanceURL = url, id, "http://"+id
	c, err := Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func TestConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	for _, url := range []string{
		"redis://:s3cret-pw@127.0.0.1:" + strconv.Itoa(port),
		"redis://user:s3cret-pw@127.0.0.1:" + strconv.Itoa(port) + "/2",
		"redis://127.0.0.1:" + strconv.Itoa(port) + "/notanumber",
	} {
		_, err := Connect(context.Background(), Options{URL: url, InstanceID: "x"})
		if err == nil {
			t.Fatalf("Connect(%q) succeeded", url)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "REDIS_URL ") || strings.Contains(msg, "s3cret-pw") {
			t.Errorf("Connect(%q) error %q: want it to name REDIS_URL and hide the password", url, msg)
		}
	}
}

func TestLimiterSharedWindow(t *testing.T) {
	r := startRedis(t)
	a := connect(t, r.url(), "a", Options{})
	b := connect(t, r.url(), "b", Options{})
	ctx := context.Background()
	win := 30 * time.Second
	la := a.Limiter("mint", 3, win, ratelimit.NewFixedWindow(3, win, 0, nil))
	lb := b.Limiter("mint", 3, win, ratelimit.NewFixedWindow(3, win, 0, nil))
	other := b.Limiter("service", 3, win, ratelimit.NewFixedWindow(3, win, 0, nil))

	tests := []struct {
		l             *Limiter
		key           string
		allowed       bool
		remaining     int
		differentFrom string
	}{
		{la, "1.2.3.4", true, 2, ""},
		{lb, "1.2.3.4", true, 1, ""},
		{la, "1.2.3.4", true, 0, ""},
		{lb, "1.2.3.4", false, 0, ""},
		{la, "1.2.3.4", false, 0, ""},
		{lb, "2001:db8::/64", true, 2, ""}, // another key has its own window
		{other, "1.2.3.4", true, 2, ""},    // another bucket too
	}
	for i, tc := range tests {
		res, err := tc.l.Hit(ctx, tc.key)
		if err != nil {
			t.Fatalf("hit %d: %v", i, err)
		}
		if res.Allowed != tc.allowed || res.Remaining != tc.remaining || res.Limit != 3 {
			t.Errorf("hit %d on %s: %+v, want allowed %v remaining %d limit 3", i, tc.key, res, tc.allowed, tc.remaining)
		}
		if res.Reset < 1 || res.Reset > 30 {
			t.Errorf("hit %d: Reset %d s, want 1..30", i, res.Reset)
		}
	}
	// A reset through one instance empties the bucket for both; the other
	// bucket keeps its window.
	if err := la.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if res, _ := lb.Hit(ctx, "1.2.3.4"); !res.Allowed || res.Remaining != 2 {
		t.Errorf("after Reset: %+v, want a fresh window", res)
	}
	if res, _ := other.Hit(ctx, "1.2.3.4"); res.Remaining != 1 {
		t.Errorf("the other bucket after Reset: %+v, want its window kept (remaining 1)", res)
	}
}

func TestLimiterDegradedAndBack(t *testing.T) {
	r := startRedis(t)
	states := make(chan bool, 8)
	c := connect(t, r.url(), "a", Options{Heartbeat: 20 * time.Millisecond,
		OnState: func(degraded bool, _ error) { states <- degraded }})
	if err := c.Start("", func() Report { return Report{} }); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l := c.Limiter("mint", 2, time.Minute, ratelimit.NewFixedWindow(2, time.Minute, 0, nil))
	if res, _ := l.Hit(ctx, "k"); res.Remaining != 1 {
		t.Fatalf("shared hit: %+v", res)
	}

	r.stop()
	waitState(t, states, true)
	if !c.Degraded() || c.Status().Redis != StateDegraded || c.Status().Error == "" {
		t.Fatalf("status while Redis is down: %+v", c.Status())
	}
	// The fallback counts from zero: requests are served, limited per instance.
	for i, want := range []bool{true, true, false} {
		res, err := l.Hit(ctx, "k")
		if err != nil || res.Allowed != want {
			t.Fatalf("degraded hit %d: %+v %v, want allowed %v", i, res, err, want)
		}
	}
	if err := l.Reset(ctx); err != nil {
		t.Fatalf("Reset while degraded: %v", err)
	}

	r.start(t)
	waitState(t, states, false)
	if st := c.Status(); st.Redis != StateOK || !slices.Equal(st.Instances, []string{"a"}) {
		t.Fatalf("status after Redis returned: %+v", st)
	}
	if res, _ := l.Hit(ctx, "k"); !res.Allowed || res.Remaining != 1 {
		t.Fatalf("first shared hit after Redis returned empty: %+v", res)
	}
}

func waitState(t *testing.T, states <-chan bool, want bool) {
	t.Helper()
	select {
	case got := <-states:
		if got != want {
			t.Fatalf("OnState(degraded=%v), want %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no OnState(degraded=%v) within 10 s", want)
	}
}

func TestDirectory(t *testing.T) {
	r := startRedis(t)
	ctx := context.Background()
	doc := json.RawMessage(`{"name":"x"}`)
	report := func(rooms ...string) func() Report {
		return func() Report {
			out := Report{Figures: Figures{Rooms: len(rooms), Participants: 2 * len(rooms), TokensTotal: 5}}
			for _, rm := range rooms {
				out.Rooms = append(out.Rooms, Room{Name: rm, Sid: "RM_" + rm, Participants: 2, Doc: doc})
			}
			return out
		}
	}
	// A long heartbeat: Start publishes once, at once; nothing changes after.
	a := connect(t, r.url(), "a", Options{Heartbeat: time.Hour})
	b := connect(t, r.url(), "b", Options{Heartbeat: time.Hour})
	if err := a.Start("http://127.0.0.1:1111", report("one", "both")); err != nil {
		t.Fatal(err)
	}
	if err := b.Start("", report("two", "both")); err != nil {
		t.Fatal(err)
	}
	// A second process with a's id, elsewhere, is refused and removes nothing.
	dup := connect(t, r.url(), "a", Options{})
	if err := dup.Start("http://127.0.0.1:2222", report()); !errors.Is(err, ErrDuplicateID) ||
		!strings.Contains(err.Error(), "INSTANCE_ID") {
		t.Fatalf("a second instance a: %v, want ErrDuplicateID naming INSTANCE_ID", err)
	}
	_ = dup.Close(ctx)

	all, err := a.Instances(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "a" || all[1].ID != "b" || all[0].URL != "http://127.0.0.1:1111" {
		t.Fatalf("Instances: %+v %v", all, err)
	}
	// b's status was computed after a and b had both published.
	if st := b.Status(); st.Totals.Rooms != 4 || st.Totals.Participants != 8 || st.Totals.TokensTotal != 10 {
		t.Errorf("b's totals: %+v, want rooms 4, participants 8, tokens 10", st.Totals)
	}
	remote, _ := b.RemoteRooms(ctx)
	var names []string
	for _, rm := range remote {
		names = append(names, rm.Name+"@"+rm.Instance)
		if string(rm.Doc) != string(doc) || rm.InstanceURL != "http://127.0.0.1:1111" {
			t.Errorf("remote room %+v", rm)
		}
	}
	if slices.Sort(names); !slices.Equal(names, []string{"both@a", "one@a"}) {
		t.Errorf("b's remote rooms: %v", names)
	}
	// "both" is homed where it was claimed first (a started first).
	if home, _ := b.Home(ctx, "both"); home != "a" {
		t.Errorf("home of both = %q, want a", home)
	}
	if got := b.Conflicts(); got["both"] != "a" || len(got) != 1 {
		t.Errorf("b's conflicts = %v, want both → a", got)
	}
	// HomeURL names another instance's URL, never this one's, and claims nothing.
	if u := b.HomeURL(ctx, "both"); u != "http://127.0.0.1:1111" {
		t.Errorf("b.HomeURL(both) = %q, want a's URL", u)
	}
	if u := a.HomeURL(ctx, "both"); u != "" {
		t.Errorf("a.HomeURL(both) = %q, want \"\" (a is the home)", u)
	}
	if u := b.HomeURL(ctx, "unclaimed"); u != "" {
		t.Errorf("b.HomeURL(unclaimed) = %q", u)
	}
	if home, _ := a.Home(ctx, "unclaimed"); home != "" {
		t.Errorf("HomeURL claimed the room for %q", home)
	}
	if home, _ := b.Claim(ctx, "fresh"); home != "b" {
		t.Errorf("Claim(fresh) on b = %q, want b", home)
	}
	if home, _ := a.Claim(ctx, "fresh"); home != "b" {
		t.Errorf("Claim(fresh) on a = %q, want b (already claimed)", home)
	}

	// A closed instance leaves at once, with its claims.
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if all, _ := b.Instances(ctx); len(all) != 1 || all[0].ID != "b" {
		t.Errorf("after a closed: %+v", all)
	}
	if home, _ := b.Home(ctx, "one"); home != "" {
		t.Errorf("home of one after a closed = %q, want none", home)
	}
}
