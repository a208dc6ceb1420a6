// Package ratelimit holds the fixed-window counters of the minting endpoints
// (SPEC §3.5, counted as express-rate-limit's memory store counts) and the
// token buckets that bound a WebSocket's message rate.
package ratelimit

import (
	"context"
	"math"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Result is what one hit on a window tells the caller.
type Result struct {
	Allowed   bool
	Limit     int
	Remaining int
	// Reset is the whole number of seconds until the window ends, rounded up.
	Reset int
}

// Limiter counts hits per key. The in-memory FixedWindow is one; a shared
// store (several instances) is another.
type Limiter interface {
	Hit(ctx context.Context, key string) (Result, error)
	Reset(ctx context.Context) error
}

type window struct {
	hits    int
	resetAt time.Time
}

// FixedWindow allows max hits per key per window, the window starting at the
// key's first hit. Blocked hits still count but never extend the window. Idle
// keys are dropped in bulk: two generations of maps swap every window, and
// early when the current one holds maxKeys entries.
type FixedWindow struct {
	max     int
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu       sync.Mutex
	cur      map[string]*window
	prev     map[string]*window
	genStart time.Time
	swaps    int
}

// NewFixedWindow returns a limiter of max hits per window. maxKeys bounds the
// keys held at once (0 means 100 000).
func NewFixedWindow(max int, win time.Duration, maxKeys int, now func() time.Time) *FixedWindow {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	if now == nil {
		now = time.Now
	}
	return &FixedWindow{max: max, window: win, maxKeys: maxKeys, now: now,
		cur: map[string]*window{}, prev: map[string]*window{}, genStart: now()}
}

// Hit counts one request for key.
func (f *FixedWindow) Hit(_ context.Context, key string) (Result, error) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.genStart) >= f.window || len(f.cur) >= f.maxKeys {
		f.prev, f.cur, f.genStart = f.cur, make(map[string]*window, len(f.cur)), now
		f.swaps++
	}
	w, ok := f.cur[key]
	if !ok {
		if w, ok = f.prev[key]; ok {
			delete(f.prev, key)
			f.cur[key] = w
		}
	}
	if !ok || !now.Before(w.resetAt) {
		w = &window{resetAt: now.Add(f.window)}
		f.cur[key] = w
	}
	w.hits++
	secs := int(math.Ceil(w.resetAt.Sub(now).Seconds()))
	if secs < 0 {
		secs = 0
	}
	return Result{Allowed: w.hits <= f.max, Limit: f.max, Remaining: max(f.max-w.hits, 0), Reset: secs}, nil
}

// Reset forgets every key.
func (f *FixedWindow) Reset(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cur, f.prev, f.genStart = map[string]*window{}, map[string]*window{}, f.now()
	return nil
}

// Len reports how many keys are held (both generations).
func (f *FixedWindow) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cur) + len(f.prev)
}

// Key turns a client IP into a limiter key: IPv4-mapped addresses become IPv4
// and IPv6 addresses are keyed by their /64.
func Key(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// NewMessageBucket returns the token bucket of one WebSocket connection.
func NewMessageBucket(perSecond float64, burst int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(perSecond), burst)
}
