package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/metrics"
)

// Figures records what the server does and reports it (internal/metrics
// implements it). Handlers never call it: the recordMetrics middleware does,
// from the route, the status and what a handler left in the context.
type Figures interface {
	Observe(route, method string, status int, d time.Duration)
	TokenMinted(source string)
	Validation(ok bool, code string)
	RateLimited(route string)
	Snapshot() metrics.Snapshot
	Handler() http.Handler
}

// newFigures is the private metrics instance used when Deps has none; its
// gauges read the same counters as /health.
// mintRoutes are the routes whose 200 is a token handed out.
var mintRoutes = map[string]bool{"/api/livekit/token": true, "/token/room": true, "/token/join": true}

// metricMethod keeps the method label to a fixed set: unmatched requests
// may carry any method a client invents.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// recordMetrics records every request once it is answered: count, status
// and response time by route pattern (never the raw path, which would make
// labels unbounded), tokens minted, validations and rate-limit refusals.
// It runs outside recoverJSON, so a panic is recorded as the 500 it became.
// WebSockets and admin streams are counted but not timed: their lifetime
// is no response time.
func recordMetrics(f Figures) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		d := time.Since(start)
		if g := groupOf(c.Request.URL.Path); g == groupRTC || g == groupAdmin || status == http.StatusSwitchingProtocols {
			d = -1
		}
		f.Observe(route, metricMethod(c.Request.Method), status, d)
		if status == http.StatusOK && mintRoutes[route] {
			f.TokenMinted(route)
		}
		if code, ok := c.Get(validationKey); ok {
			s, _ := code.(string)
			f.Validation(s == "", s)
		}
		if status == http.StatusTooManyRequests {
			f.RateLimited(route)
		}
	}
}
