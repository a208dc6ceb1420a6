package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// New builds the whole HTTP surface.
func New(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	a := &api{Deps: d}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.RemoteIPHeaders = []string{"X-Forwarded-For", "X-Real-IP"}
	// Trust X-Forwarded-For only from TRUSTED_PROXIES; by default the socket
	// address is the client IP (gin trusts every proxy unless told otherwise).
	if err := e.SetTrustedProxies(d.Config.TrustedProxies); err != nil {
		panic(err) // config validated the CIDRs already
	}
	origins := newOriginPolicy(d.Config.AllowedOrigins, func(c *gin.Context, origin string) {
		d.Logger.Warn("origin refused", "ip", c.ClientIP(), "route", c.Request.URL.Path)
	})
	limited := func(c *gin.Context) { d.Logger.Warn("rate limit hit", "ip", c.ClientIP(), "route", c.FullPath()) }
	cfg := d.Config

	e.Use(securityHeaders(), recoverJSON(d.Logger), requestLog(d.Logger), handlerDeadline(), origins.handler())
	e.NoRoute(func(c *gin.Context) { abortError(c, codeNotFound, msgEndpointNotFound) })
	e.NoMethod(func(c *gin.Context) { abortError(c, codeMethodNotAllowed, msgMethodNotAllowed) })

	// mint: body cap, JSON, rate limit per IP (one bucket per endpoint family).
	mintBody := jsonBody(cfg.BodyLimit)
	e.POST("/api/livekit/token", mintBody, rateLimit(d.MintLimiter, cfg.RateLimitMax, cfg.RateLimitWindow, limited), a.handleToken)

	// ops: no origin policy, no limits.
	e.GET("/health", a.handleHealth)

	return e
}
