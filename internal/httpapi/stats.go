package httpapi

import (
	"math"

	"github.com/gin-gonic/gin"
)

// SignalState tells whether the signalling endpoint (/rtc) takes new
// connections now (the WebSocket hub: not shutting down, below its caps).
type SignalState interface {
	Accepting() bool
}

// counts reads rooms, participants and connections as /health does.
func (a *api) counts() (rooms, participants, conns int) {
	if a.Rooms != nil {
		rooms, participants = a.Rooms.Counts()
	}
	if a.Conns != nil {
		conns = a.Conns.Connections()
	}
	return
}

// handleStatus is GET /livekit/status: what this server is and whether
// clients can connect.
func (a *api) handleStatus(c *gin.Context) {
	now := a.Now()
	rooms, participants, conns := a.counts()
	accepting := a.Signal != nil && a.Signal.Accepting()
	c.JSON(200, gin.H{
		"status":         "ok",
		"mode":           "mock",
		"environment":    a.Config.Environment,
		"version":        Version,
		"ws_url":         a.Config.WSURL,
		"api_key":        a.Issuer.APIKey(),
		"started_at":     timestamp(a.Started),
		"timestamp":      timestamp(now),
		"uptime_seconds": int64(now.Sub(a.Started).Seconds()),
		"rooms":          rooms,
		"participants":   participants,
		"connections":    conns,
		"signalling":     gin.H{"accepting": accepting, "url": a.Config.WSURL, "paths": []string{"/rtc", "/rtc/v1"}},
	})
}

// handleStats is GET /stats: the figures of internal/metrics as JSON.
func (a *api) handleStats(c *gin.Context) {
	s := a.Figures.Snapshot()
	now := a.Now()
	rooms, participants, conns := s.Rooms, s.Participants, s.Connections
	if a.Rooms != nil || a.Conns != nil {
		rooms, participants, conns = a.counts()
	}
	body := gin.H{
		"timestamp":      timestamp(now),
		"uptime_seconds": int64(now.Sub(a.Started).Seconds()),
		"tokens": gin.H{
			"generated_total":       s.TokensTotal,
			"generated_last_minute": s.TokensLastMinute,
			"by_source":             s.TokensBySource,
		},
		"validations": gin.H{
			"total":        s.Validations,
			"valid":        s.ValidationsOK,
			"invalid":      s.Validations - s.ValidationsOK,
			"success_rate": s.SuccessRate,
		},
		"requests": gin.H{
			"total":         s.Requests,
			"errors":        s.Errors,
			"server_errors": s.ServerErrors,
			"error_rate":    s.ErrorRate,
		},
		"response_time_ms": gin.H{"p50": ms(s.P50), "p95": ms(s.P95), "p99": ms(s.P99), "samples": s.LatencySamples},
		"rate_limit":       gin.H{"rejections": s.RateLimited},
		"rooms":            rooms,
		"participants":     participants,
		"connections":      conns,
		"room_events":      s.RoomEvents,
	}
	if a.Cluster != nil {
		body["instance"] = a.Cluster.InstanceID()
		body["cluster"] = a.clusterStats()
	}
	c.JSON(200, body)
}

// handleMetrics is GET /metrics: the Prometheus text format.
func (a *api) handleMetrics(c *gin.Context) {
	if a.Cluster != nil {
		a.clusterMetrics(c)
		return
	}
	a.Figures.Handler().ServeHTTP(c.Writer, c.Request)
}

// ms rounds milliseconds to the microsecond.
func ms(v float64) float64 { return math.Round(v*1000) / 1000 }
