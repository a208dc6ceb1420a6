package main

import (
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

var dialer = websocket.Dialer{HandshakeTimeout: joinTimeout, ReadBufferSize: 1024, WriteBufferSize: 1024}

// member is one joined connection and the goroutine that reads from it.
type member struct {
	conn *websocket.Conn
	done chan struct{} // closed when its reader has ended
}

// connectAll opens n connections with at most conc handshakes at a time;
// connection i joins room roomOf(i) as identity idOf(i). Each joined
// connection gets a reader goroutine running read (until the conn closes).
// It returns the joined members (nil entries for failures) and the first error.
func connectAll(t *target, n, conc int, roomOf, idOf func(int) string, read func(i int, c *websocket.Conn)) ([]*member, int, error) {
	members := make([]*member, n)
	var failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	sem := make(chan struct{}, max(conc, 1))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			room := roomOf(i)
			c, _, err := dialer.Dial(t.wsURL(room), nil)
			if err == nil {
				err = t.dialect.join(c, room, idOf(i))
				if err != nil {
					c.Close()
				}
			}
			if err != nil {
				failed.Add(1)
				errOnce.Do(func() { firstErr = fmt.Errorf("connection %d: %w", i, err) })
				return
			}
			m := &member{conn: c, done: make(chan struct{})}
			members[i] = m
			go func() { defer close(m.done); read(i, c) }()
		}(i)
	}
	wg.Wait()
	return members, int(failed.Load()), firstErr
}

// discard reads and drops every message until the connection ends.
func discard(_ int, c *websocket.Conn) {
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

// closeAll closes every member and waits for its reader.
func closeAll(members []*member) {
	for _, m := range members {
		if m != nil {
			_ = m.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			_ = m.conn.Close()
		}
	}
	for _, m := range members {
		if m != nil {
			<-m.done
		}
	}
}

func runHold(args []string) error {
	fs := flag.NewFlagSet("hold", flag.ContinueOnError)
	u, d := commonFlags(fs)
	n := fs.Int("n", 10000, "connections to open")
	rooms := fs.Int("rooms", 100, "rooms to spread them over")
	pid := fs.Int("pid", 0, "server process id, for its VmRSS before and after (0: no RSS report)")
	conc := fs.Int("concurrency", 64, "handshakes in flight at once")
	settle := fs.Duration("settle", 2*time.Second, "wait after the last join before reading RSS")
	hold := fs.Duration("hold", 3*time.Second, "how long to hold the connections in all (at least settle)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := newTarget(*u, *d)
	if err != nil {
		return err
	}
	if *n < 1 || *rooms < 1 || *n > 100_000 {
		return fmt.Errorf("-n must be 1..100000 and -rooms at least 1")
	}

	var before int64
	if *pid > 0 {
		if before, err = rssKiB(*pid); err != nil {
			return err
		}
	}
	start := time.Now()
	members, failed, firstErr := connectAll(t, *n, *conc,
		func(i int) string { return fmt.Sprintf("hold-%d", i%*rooms) },
		func(i int) string { return fmt.Sprintf("h-%d", i) }, discard)
	connectTime := time.Since(start)
	joined := *n - failed
	time.Sleep(*settle) // let the server finish fan-out of the join events
	var after int64
	if *pid > 0 {
		if after, err = rssKiB(*pid); err != nil {
			return err
		}
	}
	if rest := *hold - *settle; rest > 0 {
		time.Sleep(rest)
	}
	alive := 0
	for _, m := range members {
		if m == nil {
			continue
		}
		select {
		case <-m.done:
		default:
			alive++
		}
	}
	closeAll(members)

	perConn := 0.0
	if joined > 0 {
		perConn = float64(after-before) / float64(joined)
	}
	fmt.Printf("hold %s: %d/%d joined in %s (%.0f joins/s), %d still open at the end; server RSS %d KiB -> %d KiB, %.2f KiB per connection\n",
		*d, joined, *n, connectTime.Round(time.Millisecond), float64(joined)/connectTime.Seconds(), alive, before, after, perConn)
	if firstErr != nil {
		fmt.Printf("first failure: %v\n", firstErr)
	}
	fmt.Printf("RESULT mode=hold dialect=%s conns=%d joined=%d alive=%d rooms=%d rss_before_kib=%d rss_after_kib=%d kib_per_conn=%.2f connect_s=%.3f\n",
		*d, *n, joined, alive, *rooms, before, after, perConn, connectTime.Seconds())
	if failed > 0 || alive < joined {
		return fmt.Errorf("%d connections failed to join, %d dropped while held", failed, joined-alive)
	}
	return nil
}
