package cluster

import (
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
)

// hitScript counts one hit on a fixed window in one atomic step: the window
// starts at the key's first hit and is never extended by later ones (as the
// in-memory FixedWindow and express-rate-limit count). It returns the count
// and the milliseconds left. A key that lost its expiry (it cannot, short of
// manual edits) gets a fresh window rather than living forever.
var hitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  t = tonumber(ARGV[1])
end
return {n, t}`)

// Limiter is a ratelimit.Limiter whose windows live in Redis, so every
// instance counts the same hits. While Redis is out of reach it counts with
// its in-memory fallback.
type Limiter struct {
	c        *Cluster
	prefix   string // "<prefix>rl:<bucket>:"
	max      int
	window   time.Duration
	fallback ratelimit.Limiter
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// Limiter returns the shared limiter of bucket (one per endpoint family):
// max hits per key per window. fallback counts while Redis is lost; it is
// emptied when Redis answers again.
func (c *Cluster) Limiter(bucket string, max int, window time.Duration, fallback ratelimit.Limiter) *Limiter {
	l := &Limiter{c: c, prefix: c.key("rl", bucket) + ":", max: max, window: window, fallback: fallback}
	c.mu.Lock()
	c.limiters = append(c.limiters, l)
	c.mu.Unlock()
	return l
}

// Hit counts one request for key.
func (l *Limiter) Hit(ctx context.Context, key string) (ratelimit.Result, error) {
	if l.c.degraded.Load() {
		return l.fallback.Hit(ctx, key)
	}
	tctx, cancel := context.WithTimeout(ctx, opTimeout)
	vals, err := hitScript.Run(tctx, l.c.rdb, []string{l.prefix + key}, l.window.Milliseconds()).Int64Slice()
	cancel()
	if err == nil && len(vals) != 2 {
		err = redis.Nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return ratelimit.Result{}, ctx.Err()
		}
		l.c.failed(ctx, err)
		return l.fallback.Hit(ctx, key)
	}
	n, left := vals[0], vals[1]
	reset := int((left + 999) / 1000)
	return ratelimit.Result{
		Allowed:   n <= int64(l.max),
		Limit:     l.max,
		Remaining: int(max(int64(l.max)-n, 0)),
		Reset:     reset,
	}, nil
}

// Reset forgets every window of this bucket, on every instance, and the
// fallback's. While Redis is out of reach only the fallback is emptied.
func (l *Limiter) Reset(ctx context.Context) error {
	_ = l.fallback.Reset(ctx)
	if l.c.degraded.Load() {
		return nil
	}
	match := globEscape(l.prefix) + "*"
	var cursor uint64
	// Bounded: SCAN ends when the cursor comes back to 0; the cap only
	// guards against a server that never says so.
	for range 1_000_000 {
		tctx, cancel := context.WithTimeout(ctx, opTimeout)
		keys, next, err := l.c.rdb.Scan(tctx, cursor, match, 1000).Result()
		if err == nil && len(keys) > 0 {
			err = l.c.rdb.Unlink(tctx, keys...).Err()
		}
		cancel()
		if err != nil {
			l.c.failed(ctx, err)
			return err
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	return nil
}

// globEscape quotes the glob characters of SCAN's MATCH.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
