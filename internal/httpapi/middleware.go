package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/rs/cors"

	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
	"github.com/livekit-mock/livekit-mock/internal/secheaders"
)

// Route groups of SPEC §3.1.
const (
	groupMint  = "mint"
	groupAPI   = "api"
	groupOps   = "ops"
	groupAdmin = "admin"
	groupTwirp = "twirp"
	groupRTC   = "rtc"
	groupAgent = "agent"
	groupPage  = "page"
)

// groupKey holds a request's route group (markGroup).
const groupKey = "livekit-mock/group"

// markGroup names each request's route group for the middleware that runs
// before the route's own chain: the group the route was declared in
// (routes.go), or, for a request that matches no route (an unknown path, a
// preflight, a wrong method), the group its path would belong to.
func markGroup(declared map[string]string) gin.HandlerFunc {
	return func(c *gin.Context) {
		g, ok := declared[c.FullPath()]
		if !ok {
			g = groupOfPath(c.Request.URL.Path)
		}
		c.Set(groupKey, g)
		c.Next()
	}
}

// groupOf is the route group markGroup named.
func groupOf(c *gin.Context) string { return c.GetString(groupKey) }

// groupOfPath tells the route group of a path that matches no route. Unknown
// paths fall in the api group, so that probes of them get the API origin rule.
func groupOfPath(path string) string {
	switch {
	case path == "/api/livekit/token", path == "/token/room", path == "/token/join":
		return groupMint
	case path == "/health", path == "/metrics":
		return groupOps
	case path == "/__admin" || strings.HasPrefix(path, "/__admin/"):
		return groupAdmin
	case strings.HasPrefix(path, "/twirp/"):
		return groupTwirp
	case path == "/rtc" || strings.HasPrefix(path, "/rtc/"):
		return groupRTC
	case path == "/agent":
		return groupAgent
	case path == "/" || strings.HasPrefix(path, "/dashboard/"):
		return groupPage
	}
	return groupAPI
}

// securityHeaders sets the helmet header set on every response.
func securityHeaders() gin.HandlerFunc {
	set := secheaders.New()
	return func(c *gin.Context) {
		set.Set(c.Writer.Header(), groupOf(c) == groupPage)
		c.Next()
	}
}

// recoverJSON turns a panic into a 500 JSON answer; the process goes on.
func recoverJSON(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic in handler", "route", c.FullPath(), "panic", p)
				if !c.Writer.Written() {
					abortError(c, codeInternal, msgInternal)
				} else {
					c.Abort()
				}
			}
		}()
		c.Next()
	}
}

// requestLog writes one line per request: method, route pattern, status,
// latency and client IP. Never the query string: it may hold access_token.
// The dashboard's own polls are logged at debug (metricsmw.go).
func requestLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		level := slog.LevelInfo
		if dashboardPoll(c) {
			level = slog.LevelDebug
		}
		log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.Int("status", c.Writer.Status()),
			slog.Duration("latency", time.Since(start)),
			slog.String("ip", c.ClientIP()))
	}
}

// defaultBodyDeadline is the handler deadline of SPEC §3.6.
const defaultBodyDeadline = 15 * time.Second

// handlerDeadline bounds reading the request body on every route, so that a
// body that stalls cannot hold its connection: a handler's read then fails
// (jsonBody answers 408) and net/http closes the connection. Ordinary
// handlers also get a write deadline (the server has no WriteTimeout, so
// that streams can set their own). On streaming routes (WebSockets, SSE,
// long polls) the read deadline ends with the body: a deadline left on the
// connection would cancel the request once the stream outlives it.
func handlerDeadline(d time.Duration) gin.HandlerFunc {
	if d <= 0 {
		d = defaultBodyDeadline
	}
	return func(c *gin.Context) {
		rc := http.NewResponseController(c.Writer)
		r := c.Request
		stream := false
		switch groupOf(c) {
		case groupRTC, groupAgent, groupAdmin:
			stream = true
		default:
			_ = rc.SetWriteDeadline(time.Now().Add(d))
		}
		if r.Body != nil && r.Body != http.NoBody {
			_ = rc.SetReadDeadline(time.Now().Add(d))
			if stream {
				r.Body = &bodyUntilEOF{ReadCloser: r.Body, done: func() { _ = rc.SetReadDeadline(time.Time{}) }}
			}
		}
		c.Next()
	}
}

// bodyUntilEOF calls done once, when the body has been read to its end.
type bodyUntilEOF struct {
	io.ReadCloser
	done func()
}

func (b *bodyUntilEOF) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && b.done != nil {
		b.done()
		b.done = nil
	}
	return n, err
}

// bodyTimedOut reports whether err is the body deadline running out; if so
// it answers 408 and the connection closes (its body is half read).
func bodyTimedOut(c *gin.Context, err error) bool {
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		return false
	}
	// The write deadline ran out with the read one: a moment to answer.
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(time.Second))
	c.Header("Connection", "close")
	return true
}

// originPolicy applies the origin rule of the request's route group and, where
// cross-origin calls are allowed, CORS through rs/cors. It runs globally:
// preflights match no gin route, so group middleware never sees them.
type originPolicy struct {
	api      *cors.Cors // nil when ALLOWED_ORIGINS is empty: no cross origin at all
	any      *cors.Cors // LiveKit's Twirp CORS: any origin
	onRefuse func(c *gin.Context, origin string)
}

func newOriginPolicy(allowed []string, onRefuse func(*gin.Context, string)) *originPolicy {
	p := &originPolicy{onRefuse: onRefuse}
	exposed := []string{"RateLimit-Policy", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"}
	if len(allowed) > 0 {
		star := false
		for _, o := range allowed {
			star = star || o == "*"
		}
		p.api = cors.New(cors.Options{
			AllowedOrigins:   allowed,
			AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodDelete},
			AllowedHeaders:   []string{"Content-Type", "Authorization", "Accept", "X-Requested-With", "Last-Event-ID"},
			ExposedHeaders:   exposed,
			AllowCredentials: !star, // ACAO * with credentials never works in a browser
		})
	}
	p.any = cors.New(cors.Options{
		AllowedOrigins: []string{"*"},
		AllowedMethods: []string{http.MethodOptions, http.MethodHead, http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"*"},
		MaxAge:         86400,
	})
	return p
}

func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// routeHasMethod reports whether the route of a preflight has method. No
// route takes OPTIONS, so gin runs a preflight as "method not allowed" and
// has already put the route's own methods in the Allow header (none for an
// unknown path); rs/cors would grant any method of its global list.
func routeHasMethod(c *gin.Context, method string) bool {
	for _, m := range strings.Split(c.Writer.Header().Get("Allow"), ",") {
		if strings.TrimSpace(m) == method && method != "" {
			return true
		}
	}
	return false
}

// sameOrigin reports whether origin is the server's own (scheme and Host).
func sameOrigin(r *http.Request, origin string) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(origin, scheme+"://"+r.Host)
}

// normaliseRequestHeaders rewrites Access-Control-Request-Headers as the
// lowercase, sorted, duplicate-free list rs/cors accepts.
func normaliseRequestHeaders(r *http.Request) {
	v := r.Header.Values("Access-Control-Request-Headers")
	if len(v) == 0 {
		return
	}
	seen := map[string]bool{}
	var names []string
	for _, line := range v {
		for _, n := range strings.Split(line, ",") {
			n = strings.ToLower(strings.TrimSpace(n))
			if n != "" && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	r.Header.Set("Access-Control-Request-Headers", strings.Join(names, ","))
}

func (p *originPolicy) handler() gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		origin := r.Header.Get("Origin")
		switch groupOf(c) {
		case groupOps, groupRTC, groupAgent:
			// Monitoring sends no Origin; /rtc applies RTC_ALLOWED_ORIGINS
			// itself; agent workers are servers (their token is the check).
			c.Next()
			return
		case groupTwirp:
			normaliseRequestHeaders(r)
			p.any.HandlerFunc(c.Writer, r)
			if isPreflight(r) {
				c.AbortWithStatus(http.StatusNoContent)
				return
			}
			c.Next()
			return
		case groupPage:
			if origin != "" && !sameOrigin(r, origin) {
				p.refuse(c, origin)
				return
			}
			c.Next()
			return
		}
		// The API rule: mint, api, admin and unknown paths.
		cross := origin != "" && !sameOrigin(r, origin)
		if cross && (p.api == nil || !p.api.OriginAllowed(r)) {
			c.Header("Vary", "Origin")
			p.refuse(c, origin)
			return
		}
		if p.api != nil && cross && (!isPreflight(r) || routeHasMethod(c, r.Header.Get("Access-Control-Request-Method"))) {
			normaliseRequestHeaders(r)
			p.api.HandlerFunc(c.Writer, r)
		} else {
			c.Header("Vary", "Origin")
		}
		if isPreflight(r) {
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

func (p *originPolicy) refuse(c *gin.Context, origin string) {
	if p.onRefuse != nil {
		p.onRefuse(c, origin)
	}
	abortError(c, codeOriginNotAllowed, msgOriginNotAllowed)
}

// jsonBodyKey holds the decoded top-level object of a JSON body.
const jsonBodyKey = "livekit-mock/json-body"

// jsonBody enforces, in this order, the body cap (413, also for chunked
// bodies), the content type and encoding (415), and the JSON syntax (400):
// the body must be one JSON object in valid UTF-8. An empty body counts as {}.
// Keys are kept exactly as sent; a duplicated key: the last wins.
func jsonBody(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if r.ContentLength > limit {
			c.Header("Connection", "close")
			abortError(c, codePayloadTooLarge, msgTooLarge)
			return
		}
		if enc := strings.TrimSpace(r.Header.Get("Content-Encoding")); enc != "" && !strings.EqualFold(enc, "identity") {
			abortError(c, codeUnsupportedMedia, "Content-Encoding not supported")
			return
		}
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			abortError(c, codeUnsupportedMedia, msgContentType)
			return
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			abortError(c, codeUnsupportedMedia, msgContentType)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Writer, r.Body, limit))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				c.Header("Connection", "close")
				abortError(c, codePayloadTooLarge, msgTooLarge)
				return
			}
			if bodyTimedOut(c, err) {
				abortError(c, codeTimeout, msgBodyTimeout)
				return
			}
			abortError(c, codeInvalidJSON, msgInvalidJSON)
			return
		}
		obj, ok := decodeObject(body)
		if !ok {
			abortError(c, codeInvalidJSON, msgInvalidJSON)
			return
		}
		c.Set(jsonBodyKey, obj)
		c.Next()
	}
}

// decodeObject parses body as exactly one JSON object in valid UTF-8.
func decodeObject(body []byte) (map[string]json.RawMessage, bool) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]json.RawMessage{}, true
	}
	if !utf8.Valid(body) {
		return nil, false
	}
	// Unmarshal refuses trailing data itself, unlike a Decoder.
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, false
	}
	return obj, true
}

// rateLimit counts the request against l and writes the draft-6 headers.
func rateLimit(l ratelimit.Limiter, max int, window time.Duration, onLimited func(c *gin.Context)) gin.HandlerFunc {
	policy := strconv.Itoa(max) + ";w=" + strconv.Itoa(int((window+time.Second-1)/time.Second))
	return func(c *gin.Context) {
		if max <= 0 {
			c.Next()
			return
		}
		res, err := l.Hit(c.Request.Context(), ratelimit.Key(c.ClientIP()))
		if err != nil {
			renderError(c, err)
			return
		}
		h := c.Writer.Header()
		h.Set("RateLimit-Policy", policy)
		h.Set("RateLimit-Limit", strconv.Itoa(res.Limit))
		h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(res.Reset))
		if !res.Allowed {
			h.Set("Retry-After", strconv.Itoa(res.Reset))
			if onLimited != nil {
				onLimited(c)
			}
			abortErrorWith(c, codeRateLimited, msgRateLimited, gin.H{"retryAfter": res.Reset})
			return
		}
		c.Next()
	}
}
