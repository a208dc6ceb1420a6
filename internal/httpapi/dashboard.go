package httpapi

import (
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/dashboard"
)

// page serves the dashboard of SPEC §11 (route group "page") and, for every
// client that does not ask for HTML or when ADMIN_API is off, LiveKit's
// health answer at GET /.
type page struct {
	site *dashboard.Site // nil when ADMIN_API is off
}

func newPage(enabled bool) *page {
	if !enabled {
		return &page{}
	}
	site, err := dashboard.New()
	if err != nil {
		panic(err) // the files are embedded at build time; this cannot fail at run time
	}
	return &page{site: site}
}

// root is GET / (and HEAD /).
func (p *page) root(c *gin.Context) {
	c.Header("Vary", "Accept")
	if p.site == nil || !acceptsHTML(c.Request.Header.Values("Accept")) {
		c.Header("Cache-Control", "no-store")
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte("OK"))
		return
	}
	a, _ := p.site.Lookup(dashboard.IndexName)
	a.Serve(c.Writer, c.Request)
}

// asset is GET /dashboard/*filepath: the page's CSS, JavaScript and icons.
func (p *page) asset(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("filepath"), "/")
	a, ok := p.site.Lookup(name)
	if !ok || name == dashboard.IndexName {
		abortError(c, codeNotFound, msgEndpointNotFound)
		return
	}
	a.Serve(c.Writer, c.Request)
}

// acceptsHTML reports whether an Accept header names text/html with a
// non-zero quality. Wildcards do not count: curl and monitors send */* and
// want LiveKit's plain "OK".
func acceptsHTML(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != "text/html" {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}

// handleAdminInfo is GET /__admin/info: what the dashboard's server panel
// shows beyond /livekit/status. Key names only, never a secret.
func (a *api) handleAdminInfo(c *gin.Context) {
	cfg := a.Config
	keys := make([]string, 0, len(cfg.Keys))
	for k := range cfg.Keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	origins := cfg.AllowedOrigins
	if origins == nil {
		origins = []string{}
	}
	now := a.Now()
	c.JSON(http.StatusOK, gin.H{
		"version":           Version,
		"mode":              "mock",
		"environment":       cfg.Environment,
		"api_key":           cfg.APIKey,
		"api_keys":          keys,
		"ws_url":            cfg.WSURL,
		"started_at":        timestamp(a.Started),
		"uptime_seconds":    int64(now.Sub(a.Started).Seconds()),
		"name_policy":       cfg.NamePolicy,
		"rtc_require_token": cfg.RTCRequireToken,
		"allowed_origins":   origins,
		"journal_size":      cfg.JournalSize,
		"journal_payloads":  cfg.JournalPayloads,
		"limits": gin.H{
			"rate_limit_max":                 cfg.RateLimitMax,
			"rate_limit_window_seconds":      cfg.RateLimitWindow.Seconds(),
			"body_limit_bytes":               cfg.BodyLimit,
			"max_participants":               cfg.MaxParticipants,
			"rtc_max_connections_per_ip":     cfg.RTCMaxConnectionsPerIP,
			"rtc_max_connections":            cfg.RTCMaxConnections,
			"rtc_message_rate":               cfg.RTCMessageRate,
			"rtc_message_burst":              cfg.RTCMessageBurst,
			"rtc_max_message_bytes":          cfg.RTCMaxMessageBytes,
			"rtc_outbox":                     cfg.RTCOutbox,
			"room_empty_timeout_seconds":     cfg.RoomEmptyTimeout.Seconds(),
			"room_departure_timeout_seconds": cfg.RoomDepartureTimeout.Seconds(),
			"resume_window_seconds":          cfg.ResumeWindow.Seconds(),
		},
	})
}
