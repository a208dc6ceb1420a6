package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

func runFanout(args []string) error {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	u, d := commonFlags(fs)
	rooms := fs.Int("rooms", 20, "rooms")
	parts := fs.Int("participants", 50, "participants per room, one of them the publisher")
	rate := fs.Float64("rate", 10, "messages per second each publisher sends (livekit-mock allows 20/s by default)")
	dur := fs.Duration("duration", 10*time.Second, "how long the publishers send")
	drain := fs.Duration("drain", 5*time.Second, "how long to wait for late deliveries after the last send")
	conc := fs.Int("concurrency", 64, "handshakes in flight at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := newTarget(*u, *d)
	if err != nil {
		return err
	}
	if *rooms < 1 || *parts < 2 || *rate <= 0 || *rate > 10000 || *rooms**parts > 100_000 {
		return fmt.Errorf("need -rooms ≥ 1, -participants ≥ 2, 0 < -rate ≤ 10000, at most 100000 connections")
	}
	perPub := int(*rate * dur.Seconds())
	if perPub < 1 {
		return fmt.Errorf("-rate × -duration sends no message")
	}
	n := *rooms * *parts
	expected := int64(*rooms) * int64(*parts-1) * int64(perPub)

	// Payloads are "<seq>:<ns since base>"; base is one monotonic clock for
	// senders and receivers (same process).
	base := time.Now()
	want := t.dialect.dataType()
	var delivered atomic.Int64
	allIn := make(chan struct{})
	var allOnce sync.Once
	lat := make([][]time.Duration, n) // lat[i] is written only by reader i
	read := func(i int, c *websocket.Conn) {
		var mine []time.Duration
		defer func() { lat[i] = mine }()
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if typeOf(msg) != want {
				continue
			}
			p, ok := stringField(msg, `"payload":"`)
			if !ok {
				continue
			}
			_, sent, ok := strings.Cut(p, ":")
			if !ok {
				continue
			}
			ns, err := strconv.ParseInt(sent, 10, 64)
			if err != nil {
				continue
			}
			mine = append(mine, time.Since(base)-time.Duration(ns))
			if delivered.Add(1) == expected {
				allOnce.Do(func() { close(allIn) })
			}
		}
	}
	members, failed, firstErr := connectAll(t, n, *conc,
		func(i int) string { return fmt.Sprintf("fan-%d", i / *parts) },
		func(i int) string { return fmt.Sprintf("f-%d-%d", i / *parts, i%*parts) }, read)
	if failed > 0 {
		closeAll(members)
		return fmt.Errorf("%d of %d connections failed to join: %w", failed, n, firstErr)
	}
	// Joins fan out participant_connected events; give them a moment to pass
	// so that they do not queue in front of the first data messages.
	time.Sleep(500 * time.Millisecond)

	gap := time.Duration(float64(time.Second) / *rate)
	var sendErrs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for r := 0; r < *rooms; r++ {
		pub := members[r**parts] // participant 0 of each room publishes
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(gap)
			defer tick.Stop()
			for seq := 0; seq < perPub; seq++ {
				payload := strconv.Itoa(seq) + ":" + strconv.FormatInt(int64(time.Since(base)), 10)
				_ = pub.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if err := pub.conn.WriteMessage(websocket.TextMessage, t.dialect.dataMessage(payload)); err != nil {
					sendErrs.Add(1)
					return
				}
				<-tick.C
			}
		}()
	}
	wg.Wait()
	sendTime := time.Since(start)
	select {
	case <-allIn:
	case <-time.After(*drain):
	}
	got := delivered.Load()
	closeAll(members)

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sortDurations(all)
	p50, p95, p99 := percentile(all, 0.50), percentile(all, 0.95), percentile(all, 0.99)
	maxLat := percentile(all, 1)
	fmt.Printf("fanout %s: %d rooms × %d participants, %d msgs per publisher at %.0f/s over %s; delivered %d of %d expected; latency p50 %s ms, p95 %s ms, p99 %s ms, max %s ms\n",
		*d, *rooms, *parts, perPub, *rate, sendTime.Round(time.Millisecond), got, expected, ms(p50), ms(p95), ms(p99), ms(maxLat))
	fmt.Printf("RESULT mode=fanout dialect=%s rooms=%d participants=%d rate=%g per_pub=%d expected=%d delivered=%d p50_ms=%s p95_ms=%s p99_ms=%s max_ms=%s send_errors=%d\n",
		*d, *rooms, *parts, *rate, perPub, expected, got, ms(p50), ms(p95), ms(p99), ms(maxLat), sendErrs.Load())
	if got != expected || sendErrs.Load() > 0 {
		return fmt.Errorf("delivered %d of %d messages, %d publishers failed to send", got, expected, sendErrs.Load())
	}
	return nil
}
