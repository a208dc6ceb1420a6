package main

import (
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

func runChurn(args []string) error {
	fs := flag.NewFlagSet("churn", flag.ContinueOnError)
	u, d := commonFlags(fs)
	workers := fs.Int("workers", 50, "concurrent clients")
	rooms := fs.Int("rooms", 10, "rooms the clients join")
	dur := fs.Duration("duration", 5*time.Second, "how long to churn")
	maxCycles := fs.Int("max-cycles", 1_000_000, "stop after this many joins in all")
	reconnect := fs.Bool("reconnect", false, "a new connection for every join (always so for -dialect base); "+
		"otherwise join_room/leave_room on one socket (needs RTC_MESSAGE_RATE above 2× the joins per socket)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := newTarget(*u, *d)
	if err != nil {
		return err
	}
	if *workers < 1 || *workers > 10_000 || *rooms < 1 {
		return fmt.Errorf("-workers must be 1..10000 and -rooms at least 1")
	}
	if *d == "base" {
		*reconnect = true
	}

	var joins, budget atomic.Int64
	budget.Store(int64(*maxCycles))
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) { errOnce.Do(func() { firstErr = err }) }
	deadline := time.Now().Add(*dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			room := fmt.Sprintf("churn-%d", w%*rooms)
			var c *websocket.Conn
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for cycle := 0; time.Now().Before(deadline) && budget.Add(-1) >= 0; cycle++ {
				id := fmt.Sprintf("c-%d-%d", w, cycle)
				var err error
				switch {
				case *reconnect:
					if c, _, err = dialer.Dial(t.wsURL(room), nil); err == nil {
						err = t.dialect.join(c, room, id)
						_ = c.WriteControl(websocket.CloseMessage,
							websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
						c.Close()
						c = nil
					}
				case c == nil:
					if c, _, err = dialer.Dial(t.wsURL(room), nil); err == nil {
						err = t.dialect.join(c, room, id)
					}
				default:
					if err = t.dialect.leave(c); err == nil {
						err = t.dialect.rejoin(c, room, id)
					}
				}
				if err != nil {
					fail(fmt.Errorf("worker %d: %w", w, err))
					return
				}
				joins.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	perSec := float64(joins.Load()) / elapsed.Seconds()
	how := "join_room/leave_room on one socket"
	if *reconnect {
		how = "a new connection per join"
	}
	fmt.Printf("churn %s: %d joins in %s with %d workers (%s): %.0f joins/s\n",
		*d, joins.Load(), elapsed.Round(time.Millisecond), *workers, how, perSec)
	fmt.Printf("RESULT mode=churn dialect=%s reconnect=%t workers=%d joins=%d joins_per_s=%.0f\n",
		*d, *reconnect, *workers, joins.Load(), perSec)
	return firstErr
}
