package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/journal"
)

// New builds the whole HTTP surface.
func New(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	// The counts of /health come from the registry and the hub when no
	// other source is given.
	if d.Rooms == nil && d.Registry != nil {
		d.Rooms = d.Registry
	}
	if d.Conns == nil && d.Hub != nil {
		d.Conns = d.Hub
	}
	if d.Figures == nil || d.TokenService == nil || (d.Config.Production() && d.Callers == nil) {
		panic("httpapi: the builder must give Figures, TokenService and, in production, Callers")
	}
	a := &api{Deps: d, streams: newStreamCaps(d.AdminStreamsPerIP, d.AdminStreams), forwarder: &http.Client{Timeout: forwardTimeout}}
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
		d.Journal.Record(journal.TypeOriginRefused, "", "", map[string]any{"route": c.Request.URL.Path, "origin": clip(origin), "ip": c.ClientIP()})
	})
	limited := func(c *gin.Context) {
		d.Logger.Warn("rate limit hit", "ip", c.ClientIP(), "route", c.FullPath())
		d.Journal.Record(journal.TypeRateLimited, "", "", map[string]any{"route": c.FullPath(), "ip": c.ClientIP()})
	}
	cfg := d.Config

	e.Use(securityHeaders(), recordMetrics(a.Figures), journalHTTP(d.Journal), recoverJSON(d.Logger), requestLog(d.Logger), handlerDeadline(d.BodyDeadline), origins.handler())
	e.Use(faultHTTP(d.Admin)) // after the origin rule: test-control faults (admin.go)
	e.NoRoute(func(c *gin.Context) { abortError(c, codeNotFound, msgEndpointNotFound) })
	e.NoMethod(func(c *gin.Context) { abortError(c, codeMethodNotAllowed, msgMethodNotAllowed) })

	// callers: the production caller bearer (bearer.go), right after origin,
	// before the body cap; a pass-through in development.
	callers := a.callerAuth()

	// mint: body cap, JSON, rate limit per IP (one bucket per endpoint family).
	mintBody := jsonBody(cfg.BodyLimit)
	e.POST("/api/livekit/token", callers, mintBody, rateLimit(d.MintLimiter, cfg.RateLimitMax, cfg.RateLimitWindow, limited), a.handleToken)
	serviceLimit := rateLimit(d.ServiceLimiter, cfg.RateLimitMax, cfg.RateLimitWindow, limited)
	e.POST("/token/room", callers, mintBody, serviceLimit, a.handleTokenRoom)
	e.POST("/token/join", callers, mintBody, serviceLimit, a.handleTokenJoin)

	// api: 16 KiB bodies, no rate limit; only /token/validate wants the caller bearer.
	e.POST("/token/validate", callers, jsonBody(apiBodyCap), a.handleTokenValidate)
	e.GET("/livekit/status", a.handleStatus)
	e.GET("/stats", a.handleStats)
	if d.Registry != nil && d.Cluster != nil { // every instance's rooms (cluster.go)
		e.GET("/api/rooms", a.clusterRoomList(d.Registry, a.callerKnown()))
		e.GET("/api/rooms/:roomName", a.clusterRoomGet(d.Registry, a.callerKnown()))
	} else if d.Registry != nil {
		e.GET("/api/rooms", roomListHandler(d.Registry, a.callerKnown()))
		e.GET("/api/rooms/:roomName", roomGetHandler(d.Registry, a.callerKnown()))
	}

	// rtc: the WebSocket in both dialects; the endpoint applies
	// RTC_ALLOWED_ORIGINS, tokens and the connection caps before the upgrade.
	if d.RTC != nil {
		// A room homed on another instance is relayed there by the
		// endpoint itself (signal's relay.go).
		rtc := rtcRoute(d.RTC)
		e.GET("/rtc", rtc)
		e.GET("/rtc/v1", rtc)
		// The LiveKit SDKs' validate calls answer as the upgrade would, with
		// Access-Control-Allow-Origin: *. Without the LiveKit dialect they are
		// unknown paths (404), which makes the SDKs fall back.
		if lk := d.RTC.LiveKit(); lk != nil {
			validate := validateRoute(lk)
			e.GET("/rtc/validate", validate)
			e.GET("/rtc/v1/validate", validate)
		}
	}

	// page: the dashboard (SPEC §11), same-origin only. GET / is LiveKit's
	// plain "OK" health answer unless an HTML client asks and ADMIN_API is on.
	dash := newPage(cfg.AdminAPI)
	e.GET("/", dash.root)
	e.HEAD("/", dash.root)
	if cfg.AdminAPI {
		e.GET("/dashboard/*filepath", dash.asset)
		e.GET("/__admin/info", callers, a.handleAdminInfo) // admin group; dashboard.go
	}

	// twirp: LiveKit's RoomService; any origin (middleware.go), 1 MiB bodies,
	// LiveKit tokens. Any method: Twirp answers non-POST with bad_route.
	// AgentDispatchService beside it when agents are on.
	if d.RoomService != nil {
		services := map[string]map[string]twirpMethod{twirpService: roomServiceMethods(d.RoomService)}
		if d.AgentDispatch != nil {
			services[twirpDispatch] = agentDispatchMethods(d.AgentDispatch)
		}
		e.Any("/twirp/:service/:method", a.twirpHandler(services, d.Verifier))
	}

	// agent: LiveKit Agents workers (agent.go); the hub's connection caps.
	if d.Agent != nil {
		e.GET("/agent", agentRoute(d.Agent))
	}
	// Jobs offered by and ended from other instances (cluster_agents.go).
	if d.Cluster != nil && d.AgentPeer != nil {
		agentPeerRoutes(e, d.AgentPeer, d.Verifier)
	}

	// admin: /__admin (SPEC §10) when ADMIN_API is on; 64 KiB bodies, no
	// rate limit, the caller bearer in production (admin.go).
	a.adminRoutes(e, callers)

	// ops: no origin policy, no limits.
	e.GET("/health", a.handleHealth)
	e.GET("/metrics", a.handleMetrics)

	return e
}
