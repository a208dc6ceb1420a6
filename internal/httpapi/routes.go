package httpapi

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/journal"
)

// New builds the whole HTTP surface.
func New(d Deps) http.Handler {
	h, _ := newRoutes(d)
	return h
}

// routeGroups is the group of every route New declares, by pattern.
func routeGroups(d Deps) map[string]string {
	_, declared := newRoutes(d)
	return declared
}

func newRoutes(d Deps) (http.Handler, map[string]string) {
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

	rt := &routes{e: e, declared: map[string]string{}}
	e.Use(markGroup(rt.declared)) // first: the others read the group
	e.Use(securityHeaders(), recordMetrics(a.Figures), journalHTTP(d.Journal), recoverJSON(d.Logger), requestLog(d.Logger), handlerDeadline(d.BodyDeadline), origins.handler())
	e.Use(faultHTTP(d.Admin)) // after the origin rule: test-control faults (admin.go)
	e.NoRoute(func(c *gin.Context) { abortError(c, codeNotFound, msgEndpointNotFound) })
	e.NoMethod(func(c *gin.Context) { abortError(c, codeMethodNotAllowed, msgMethodNotAllowed) })

	// callers: the production caller bearer (bearer.go), right after origin,
	// before the body cap; a pass-through in development.
	callers := a.callerAuth()

	// The route groups of SPEC §3.1, each with the middleware every route of
	// it runs first; a route is declared once, below, in its group.
	var (
		// mint: the caller bearer, BODY_LIMIT bodies, a rate limit per IP
		// (one bucket per endpoint family, per route).
		mint = group{groupMint, []gin.HandlerFunc{callers, jsonBody(cfg.BodyLimit)}}
		// api: 16 KiB bodies, no rate limit; only /token/validate wants the
		// caller bearer.
		apiGroup = group{name: groupAPI}
		// rtc and agent: the WebSockets; their endpoints apply the origin
		// rule, tokens and connection caps before the upgrade.
		rtcGroup   = group{name: groupRTC}
		agentGroup = group{name: groupAgent}
		// page: the dashboard, same-origin only.
		page = group{name: groupPage}
		// twirp: LiveKit's server APIs; any origin, 1 MiB bodies, LiveKit tokens.
		twirp = group{name: groupTwirp}
		// admin: /__admin when ADMIN_API is on; 64 KiB bodies, no rate limit,
		// the caller bearer in production (admin.go).
		adminGroup = group{groupAdmin, []gin.HandlerFunc{callers}}
		// ops: no origin policy, no limits.
		ops = group{name: groupOps}
	)

	rt.handle(mint, http.MethodPost, "/api/livekit/token", rateLimit(d.MintLimiter, cfg.RateLimitMax, cfg.RateLimitWindow, limited), a.handleToken)
	serviceLimit := rateLimit(d.ServiceLimiter, cfg.RateLimitMax, cfg.RateLimitWindow, limited)
	rt.handle(mint, http.MethodPost, "/token/room", serviceLimit, a.handleTokenRoom)
	rt.handle(mint, http.MethodPost, "/token/join", serviceLimit, a.handleTokenJoin)

	rt.handle(apiGroup, http.MethodPost, "/token/validate", callers, jsonBody(apiBodyCap), a.handleTokenValidate)
	rt.handle(apiGroup, http.MethodGet, "/livekit/status", a.handleStatus)
	rt.handle(apiGroup, http.MethodGet, "/stats", a.handleStats)
	if d.Registry != nil && d.Cluster != nil { // every instance's rooms (cluster.go)
		rt.handle(apiGroup, http.MethodGet, "/api/rooms", a.clusterRoomList(d.Registry, a.callerKnown()))
		rt.handle(apiGroup, http.MethodGet, "/api/rooms/:roomName", a.clusterRoomGet(d.Registry, a.callerKnown()))
	} else if d.Registry != nil {
		rt.handle(apiGroup, http.MethodGet, "/api/rooms", roomListHandler(d.Registry, a.callerKnown()))
		rt.handle(apiGroup, http.MethodGet, "/api/rooms/:roomName", roomGetHandler(d.Registry, a.callerKnown()))
	}

	if d.RTC != nil {
		// A room homed on another instance is relayed there by the
		// endpoint itself (signal's relay.go).
		rtc := mount(d.RTC)
		rt.handle(rtcGroup, http.MethodGet, "/rtc", rtc)
		rt.handle(rtcGroup, http.MethodGet, "/rtc/v1", rtc)
		// The LiveKit SDKs' validate calls answer as the upgrade would, with
		// Access-Control-Allow-Origin: *. Without the LiveKit dialect they are
		// unknown paths (404), which makes the SDKs fall back.
		if lk := d.RTC.LiveKit(); lk != nil {
			validate := mount(lk)
			rt.handle(rtcGroup, http.MethodGet, "/rtc/validate", validate)
			rt.handle(rtcGroup, http.MethodGet, "/rtc/v1/validate", validate)
		}
	}

	// GET / is LiveKit's plain "OK" health answer unless an HTML client asks
	// and ADMIN_API is on.
	dash := newPage(cfg.AdminAPI)
	rt.handle(page, http.MethodGet, "/", dash.root)
	rt.handle(page, http.MethodHead, "/", dash.root)
	if cfg.AdminAPI {
		rt.handle(page, http.MethodGet, "/dashboard/*filepath", dash.asset)
		rt.handle(adminGroup, http.MethodGet, "/__admin/info", a.handleAdminInfo) // dashboard.go
	}

	// Any method: Twirp answers non-POST with bad_route. AgentDispatchService
	// beside RoomService when agents are on.
	if d.RoomService != nil {
		services := map[string]map[string]twirpMethod{twirpService: roomServiceMethods(d.RoomService)}
		if d.AgentDispatch != nil {
			services[twirpDispatch] = agentDispatchMethods(d.AgentDispatch)
		}
		rt.any(twirp, "/twirp/:service/:method", a.twirpHandler(services, d.Verifier))
	}

	if d.Agent != nil { // LiveKit Agents workers; the hub's connection caps
		rt.handle(agentGroup, http.MethodGet, "/agent", mount(d.Agent))
	}
	// Jobs offered by and ended from other instances (cluster_agents.go).
	if d.Cluster != nil && d.AgentPeer != nil {
		agentPeerRoutes(rt, apiGroup, d.AgentPeer, d.Verifier)
	}

	a.adminRoutes(rt, adminGroup)

	rt.handle(ops, http.MethodGet, "/health", a.handleHealth)
	rt.handle(ops, http.MethodGet, "/metrics", a.handleMetrics)

	return e, rt.declared
}

// group is a route group of SPEC §3.1 with the middleware every route of it
// runs first (after the global chain).
type group struct {
	name string
	mw   []gin.HandlerFunc
}

// routes declares each route once: its group, the group's middleware, its
// own. declared feeds markGroup.
type routes struct {
	e        *gin.Engine
	declared map[string]string // route pattern → group
}

func (rt *routes) handle(g group, method, path string, h ...gin.HandlerFunc) {
	rt.declared[path] = g.name
	rt.e.Handle(method, path, append(slices.Clone(g.mw), h...)...)
}

// any declares path for every method (gin's Any).
func (rt *routes) any(g group, path string, h ...gin.HandlerFunc) {
	rt.declared[path] = g.name
	rt.e.Any(path, append(slices.Clone(g.mw), h...)...)
}
