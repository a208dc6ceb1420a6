package ratelimit_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
)

// The fixed window sits on every minting request; Key on every limited one.
func BenchmarkFixedWindowHit(b *testing.B) {
	ctx := context.Background()
	b.Run("one-key", func(b *testing.B) {
		l := ratelimit.NewFixedWindow(1<<30, time.Minute, 0, time.Now)
		b.ReportAllocs()
		for b.Loop() {
			_, _ = l.Hit(ctx, "127.0.0.1")
		}
	})
	b.Run("10k-keys", func(b *testing.B) {
		l := ratelimit.NewFixedWindow(10, time.Minute, 0, time.Now)
		keys := make([]string, 10_000)
		for i := range keys {
			keys[i] = "10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_, _ = l.Hit(ctx, keys[i%len(keys)])
			i++
		}
	})
	b.Run("parallel-distinct", func(b *testing.B) {
		l := ratelimit.NewFixedWindow(10, time.Minute, 0, time.Now)
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			key := "192.0.2." + strconv.FormatInt(next.Add(1), 10)
			for pb.Next() {
				_, _ = l.Hit(ctx, key)
			}
		})
	})
}

func BenchmarkKey(b *testing.B) {
	for _, ip := range []string{"203.0.113.7", "::ffff:203.0.113.7", "2001:db8:0:1::1"} {
		b.Run(ip, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = ratelimit.Key(ip)
			}
		})
	}
}

// The message bucket is consulted for every WebSocket frame.
func BenchmarkMessageBucketAllow(b *testing.B) {
	l := ratelimit.NewMessageBucket(1e9, 1<<30)
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Allow()
	}
}
