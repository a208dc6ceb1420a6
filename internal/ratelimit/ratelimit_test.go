package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestFixedWindowCountsLikeExpress(t *testing.T) {
	ck := &clock{t: time.Unix(1_000_000, 0)}
	f := NewFixedWindow(10, time.Minute, 0, ck.now)
	ctx := context.Background()
	for i := 1; i <= 10; i++ {
		r, _ := f.Hit(ctx, "1.2.3.4")
		if !r.Allowed || r.Remaining != 10-i || r.Reset != 60 || r.Limit != 10 {
			t.Fatalf("hit %d: %+v", i, r)
		}
	}
	ck.add(2100 * time.Millisecond)
	r, _ := f.Hit(ctx, "1.2.3.4")
	if r.Allowed || r.Remaining != 0 || r.Reset != 58 {
		t.Fatalf("11th: %+v", r)
	}
	// Blocked hits do not extend the window; a fresh window starts after it.
	ck.add(57 * time.Second)
	if r, _ = f.Hit(ctx, "1.2.3.4"); r.Allowed || r.Reset != 1 {
		t.Fatalf("late in window: %+v", r)
	}
	ck.add(time.Second)
	if r, _ = f.Hit(ctx, "1.2.3.4"); !r.Allowed || r.Remaining != 9 || r.Reset != 60 {
		t.Fatalf("new window: %+v", r)
	}
	// Other keys are independent.
	if r, _ = f.Hit(ctx, "5.6.7.8"); !r.Allowed || r.Remaining != 9 {
		t.Fatalf("other key: %+v", r)
	}
}

func TestParallelHitsGiveExactlyMax(t *testing.T) {
	f := NewFixedWindow(10, time.Minute, 0, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 15 {
		wg.Go(func() {
			r, _ := f.Hit(context.Background(), "k")
			if r.Allowed {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 10 {
		t.Fatalf("%d allowed, want 10", ok)
	}
}

func TestEvictionBoundsKeys(t *testing.T) {
	ck := &clock{t: time.Unix(1_000_000, 0)}
	f := NewFixedWindow(10, time.Minute, 100, ck.now)
	for i := range 1000 {
		f.Hit(context.Background(), fmt.Sprint(i))
	}
	if n := f.Len(); n > 200 {
		t.Fatalf("holding %d keys, cap 100 per generation", n)
	}
	// Idle keys disappear after two windows.
	ck.add(61 * time.Second)
	f.Hit(context.Background(), "x")
	ck.add(61 * time.Second)
	f.Hit(context.Background(), "y")
	if n := f.Len(); n > 2 {
		t.Fatalf("idle keys kept: %d", n)
	}
}

func TestLiveKeySurvivesGenerationSwap(t *testing.T) {
	ck := &clock{t: time.Unix(1_000_000, 0)}
	f := NewFixedWindow(2, time.Minute, 0, ck.now)
	ck.add(59 * time.Second) // the generation is old, the key is new
	f.Hit(context.Background(), "k")
	ck.add(2 * time.Second) // swap happens; k's window is still open
	f.Hit(context.Background(), "k")
	if r, _ := f.Hit(context.Background(), "k"); r.Allowed {
		t.Fatalf("third hit allowed after a swap: %+v", r)
	}
}

func TestResetForgets(t *testing.T) {
	f := NewFixedWindow(1, time.Minute, 0, nil)
	f.Hit(context.Background(), "k")
	f.Reset(context.Background())
	if r, _ := f.Hit(context.Background(), "k"); !r.Allowed {
		t.Fatal("reset did not free the key")
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3.4":         "1.2.3.4",
		"::ffff:1.2.3.4":  "1.2.3.4",
		"2001:db8:0:1::1": "2001:db8:0:1::/64",
		"2001:db8:0:1::2": "2001:db8:0:1::/64",
		"2001:db8:0:2::1": "2001:db8:0:2::/64",
		"not-an-ip":       "not-an-ip",
	} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}
