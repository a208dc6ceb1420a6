package cluster_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkTokenEndpoint measures POST /api/livekit/token on the real
// binary with the in-memory limiter and with the Redis limiter (one Lua call
// per request), the limit lifted so that every request is minted, and logs
// the throughput of the second as a ratio of the first (goal ≥ 0.5;
// BENCHMARKS.md). Run: go test -run '^$' -bench TokenEndpoint ./test/cluster/
func BenchmarkTokenEndpoint(b *testing.B) {
	bin := needTools(b)
	rds := startRedis(b)
	lifted := []string{"RATE_LIMIT_MAX=1000000000"}
	mem := startInstance(b, bin, "memory", "", lifted...)
	shared := startInstance(b, bin, "redis", rds.url(), lifted...)
	nsPerOp := map[string]float64{}
	for _, in := range []*instance{mem, shared} {
		b.Run(in.id, func(b *testing.B) {
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			defer c.CloseIdleConnections()
			url := in.base + "/api/livekit/token"
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := c.Post(url, "application/json", strings.NewReader(tokenBody))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			nsPerOp[in.id] = ns
			b.ReportMetric(1e9/ns, "req/s")
		})
	}
	if m, r := nsPerOp["memory"], nsPerOp["redis"]; m > 0 && r > 0 {
		b.Logf("token endpoint throughput, Redis limiter / in-memory limiter = %.2f", m/r)
	}
}
