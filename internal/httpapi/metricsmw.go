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
		if dashboardPoll(c) {
			return
		}
		d := time.Since(start)
		if g := groupOf(c); g == groupRTC || g == groupAdmin || status == http.StatusSwitchingProtocols {
			d = -1
		}
		f.Observe(route, metricMethod(c.Request.Method), status, d)
		if _, ok := c.Get(mintedKey); ok && status == http.StatusOK { // a minting handler handed a token out
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

// dashboardHeader marks the dashboard's own calls (api.js sends it).
const dashboardHeader = "X-Livekit-Mock-Dashboard"

// dashboardPolls are the read-only routes the dashboard polls on a timer.
var dashboardPolls = map[string]bool{
	"/stats": true, "/livekit/status": true, "/api/rooms": true, "/api/rooms/:roomName": true,
	"/__admin/info": true, "/__admin/events": true,
}

// dashboardPoll reports whether an answered request is the dashboard polling
// for its own display: a GET with dashboardHeader on one of dashboardPolls
// that succeeded. Such polls are not traffic, so /stats, /metrics and the
// info-level request log leave them out. The header can hide nothing else:
// other methods and routes, and every refusal or error, count as usual.
func dashboardPoll(c *gin.Context) bool {
	return c.Request.Method == http.MethodGet && c.Request.Header.Get(dashboardHeader) == "1" &&
		c.Writer.Status() < http.StatusBadRequest && dashboardPolls[c.FullPath()]
}
