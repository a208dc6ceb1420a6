package livekitmock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/admin"
	"github.com/livekit-mock/livekit-mock/internal/agents"
	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/cluster"
	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/internal/httpapi"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/metrics"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/roomservice"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
	"github.com/livekit-mock/livekit-mock/internal/server"
	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/signal/jsonwire"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
	"github.com/livekit-mock/livekit-mock/internal/tokenservice"
	"github.com/livekit-mock/livekit-mock/internal/webhook"
)

// version is the LiveKit server version the mock reports.
const version = httpapi.Version

// newLogger builds the slog logger the configuration asks for; nil w
// discards the logs.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	if w == nil {
		return slog.New(slog.DiscardHandler)
	}
	level := slog.LevelInfo
	switch cfg.LogLevel {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// build constructs everything in dependency order, registers its closing in
// the same place, and returns once the listener accepts. Nothing is served
// until s.run.
func build(ctx context.Context, cfg *config.Config, logOut io.Writer) (*Server, error) {
	started := time.Now()
	log := newLogger(cfg, logOut)
	policy, _ := names.ParsePolicy(cfg.NamePolicy)
	now := time.Now

	catalog, err := loadAgents(cfg)
	if err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("listen on port %d: %w", cfg.Port, err)
	}
	// PORT=0: the URLs derived from the port name the one bound.
	cfg.WSURL = withBoundPort(cfg.WSURL, cfg.Port, ln.Addr())

	idgen := ids.New(nil)
	// figures is set below, before the server starts and so before any room
	// event; the registry's observer and the gauges need each other.
	var figures *metrics.Metrics
	// dispatcher (LiveKit Agents) is set below too, before any room event:
	// it observes the rooms and removes agents from them.
	var dispatcher *agents.Dispatcher
	// Webhooks (WEBHOOK_URLS) see every room event; delivery has its own
	// workers and never blocks a room.
	hooks := webhook.New(webhook.Options{URLs: cfg.WebhookURLs, APIKey: cfg.WebhookAPIKey,
		APISecret: cfg.Keys[cfg.WebhookAPIKey], IDs: idgen, Now: now, Logger: log})
	// The journal of SPEC §10 sees room events, HTTP refusals and sessions;
	// faults are the test-control rules the HTTP layer and sessions apply.
	jour := journal.New(journal.Options{Size: cfg.JournalSize, Payloads: cfg.JournalPayloads, Now: now})
	faults := admin.NewFaults(jour, nil)
	// REDIS_URL (SPEC §12): shared rate limits, cluster figures and a room
	// directory; Redis out of reach at start-up refuses to start.
	shared, err := connectCluster(ctx, cfg, log, now, jour)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	registry := rooms.NewRegistry(rooms.Options{
		Observer: observers(
			rooms.ObserverFunc(func(ev rooms.Event) { figures.RoomEvent(ev.Kind.String()) }),
			hooks,
			admin.Observer(jour),
			rooms.ObserverFunc(func(ev rooms.Event) { dispatcher.Observe(ev) }),
		),
		EmptyTimeout:     cfg.RoomEmptyTimeout,
		DepartureTimeout: cfg.RoomDepartureTimeout,
		MaxParticipants:  cfg.MaxParticipants,
		IDs:              idgen,
		Now:              now,
	})
	hub := signal.NewHub(signal.Options{
		MaxConnections:      cfg.RTCMaxConnections,
		MaxConnectionsPerIP: cfg.RTCMaxConnectionsPerIP,
		Outbox:              cfg.RTCOutbox,
		Logger:              log,
		Journal:             jour,
		Faults:              faults,
		ResumeWindow:        cfg.ResumeWindow,
	})
	// One UDP port carries every participant's WebRTC (LiveKit dialect).
	engine, err := rtc.NewEngine(rtc.Options{UDPPort: cfg.RTCUDPPort, NodeIP: cfg.NodeIP, Logger: log,
		InboundDataDropped: func(label string) {
			if label == rtc.LabelLossy {
				figures.DataDropped(metrics.DataLossy)
			} else {
				figures.DataDropped(metrics.DataReliable)
			}
		}})
	if err != nil {
		_ = ln.Close()
		if shared != nil {
			_ = shared.Close(ctx)
		}
		return nil, fmt.Errorf("RTC_UDP_PORT %d: %w", cfg.RTCUDPPort, err)
	}

	issuer, verifier := auth.NewIssuer(cfg.APIKey, cfg.APISecret, now), auth.NewVerifier(cfg.Keys, now)
	agentOpts := agents.Options{Minter: issuer, Rooms: registry, Journal: jour, IDs: idgen, Now: now,
		Logger: log, Production: cfg.Production()}
	if shared != nil { // jobs no worker here takes go to other instances' workers
		agentOpts.Remote = httpapi.AgentRemote(shared, issuer)
	}
	// Scripted agents (AGENTS_FILE, AGENT_DEFAULT) take the room jobs no
	// worker takes, by the same dispatch rules; the admin plays them.
	scripted := &scriptedAgents{}
	agentOpts.Scripted = scripted
	dispatcher = agents.New(agentOpts)
	figures = metrics.New(metrics.Options{Now: now, Version: version, Mode: cfg.Environment,
		Rooms: registry.Counts, Connections: hub.Connections, Agents: dispatcher.Counts})
	tokens := tokenservice.New(tokenservice.Options{
		Minter: issuer, Verifier: verifier, Names: policy, WSURL: cfg.WSURL,
		DefaultTTL:  time.Duration(cfg.JWTExpiryHours) * time.Hour,
		NewIdentity: idgen.UUID,
		Rooms:       roomReserver{registry, shared},
	})
	sigState := &signalState{hub: hub, max: cfg.RTCMaxConnections}

	nodeID := idgen.NodeID()
	// /rtc: each dialect owns its checks before the upgrade and its
	// sessions after it; the LiveKit dialect's resume table is closed below.
	var ice []pbwire.ICEServer
	if len(cfg.ICEServers) > 0 {
		ice = []pbwire.ICEServer{{URLs: cfg.ICEServers}}
	}
	// With REDIS_URL, a session whose room another instance holds is relayed
	// there (signal's relay.go), in either dialect.
	var relayHomes signal.Homes
	if shared != nil {
		relayHomes = homes{shared}
	}
	livekit := signal.NewLiveKit(signal.LiveKitOptions{
		Registry: registry, Engine: engine, ICEServers: ice, Server: pbwire.ServerInfo{NodeID: nodeID},
		Now: now, Logger: log, Hub: hub, Verifier: verifier, Keys: cfg.Keys, Origins: cfg.RTCAllowedOrigins,
		DataDropped: func(kind string) { figures.DataDropped(kind) }, Homes: relayHomes,
	})
	jsonOpts := signal.JSONOptions{
		Registry: registry, IDs: idgen, Names: policy, RequireToken: cfg.RTCRequireToken,
		Server: jsonwire.ServerInfo{Version: version, Node: cfg.InstanceID, Region: "local", Protocol: 1},
		Limits: signal.Limits{ReadLimit: cfg.RTCMaxMessageBytes, Rate: cfg.RTCMessageRate, Burst: cfg.RTCMessageBurst},
	}
	jsonOpts.Homes = relayHomes
	rtcEndpoint := signal.NewEndpoint(signal.NewJSONEndpoint(signal.JSONEndpointOptions{
		JSONOptions: jsonOpts, Hub: hub, Verifier: verifier, Origins: cfg.RTCAllowedOrigins, Logger: log,
	}), livekit)
	agentWorkers := signal.NewAgentEndpoint(hub, verifier, signal.AgentOptions{Dispatcher: dispatcher,
		Server: pbwire.ServerInfo{NodeID: nodeID}, Now: now, Logger: log})

	var mintLimiter, serviceLimiter ratelimit.Limiter = ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now),
		ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now)
	var clusterView httpapi.ClusterView
	if shared != nil { // the in-memory windows count while Redis is lost
		mintLimiter = shared.Limiter("mint", cfg.RateLimitMax, cfg.RateLimitWindow, mintLimiter)
		serviceLimiter = shared.Limiter("service", cfg.RateLimitMax, cfg.RateLimitWindow, serviceLimiter)
		clusterView = shared
	}
	adm := admin.New(admin.Options{Registry: registry, Journal: jour, Faults: faults, Sessions: hub,
		Limiters: []admin.Resetter{mintLimiter, serviceLimiter}, Stats: figures, Logger: log,
		Media: engine.Forwarder(), MediaDir: cfg.AdminMediaDir, Wire: agentWire{}, Voices: agentVoices{engine.Forwarder()},
		Catalog: catalog, DefaultAgent: cfg.AgentDefault, Agents: dispatcher})
	scripted.adm = adm

	handler := httpapi.New(httpapi.Deps{
		Config:         cfg,
		Logger:         log,
		Issuer:         issuer,
		Verifier:       verifier,
		TokenService:   tokens,
		Callers:        auth.NewCallerVerifier(cfg.JWTSecret, now),
		Figures:        figures,
		Signal:         sigState,
		IDs:            idgen,
		Registry:       registry,
		Hub:            hub,
		RTC:            rtcEndpoint,
		RoomService:    roomservice.New(registry, roomservice.Options{}),
		AgentDispatch:  roomservice.NewDispatchService(registry, dispatcher),
		Agent:          agentWorkers,
		Agents:         dispatcher,
		AgentPeer:      dispatcher,
		Names:          policy,
		Now:            now,
		Started:        started,
		MintLimiter:    mintLimiter,
		ServiceLimiter: serviceLimiter,
		Admin:          adm,
		Journal:        jour,
		Cluster:        clusterView,
	})
	srv := server.New(handler, server.Options{})
	srv.OnShutdown("signal status", func(context.Context) { sigState.stopping.Store(true) })
	// Shutdown order: the listener is closed, then every session is told
	// and closed (1001), then the rooms end.
	// Admin streams and long polls end first (SPEC §3.6).
	srv.OnShutdown("journal followers", func(context.Context) { jour.Close() })
	srv.OnShutdown("signal hub", func(ctx context.Context) { _ = hub.Shutdown(ctx) })
	srv.OnShutdown("livekit resume table", func(context.Context) { livekit.Close() })
	srv.OnShutdown("rtc engine", func(context.Context) { _ = engine.Close() })
	srv.OnShutdown("rooms", func(context.Context) { registry.Close() })
	// After the rooms: their ends are the jobs' ends.
	srv.OnShutdown("agent dispatch", func(context.Context) { dispatcher.Close() })
	if shared != nil { // leaves the directory at once rather than after its TTL
		srv.OnShutdown("cluster", func(ctx context.Context) { _ = shared.Close(ctx) })
	}
	srv.OnShutdown("fake participants", func(context.Context) { adm.Close() })
	// After the rooms, so that their room_finished webhooks go out.
	srv.OnShutdown("webhooks", func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, webhookDrain)
		defer cancel()
		hooks.Close(ctx)
	})
	if shared != nil {
		if err := shared.Start(instanceURL(cfg, ln.Addr()), httpapi.ClusterReport(registry, figures, hub, dispatcher)); err != nil {
			_ = ln.Close()
			_ = engine.Close()
			registry.Close()
			dispatcher.Close()
			_ = shared.Close(ctx)
			return nil, err
		}
		log.Info("cluster: sharing rate limits, figures and rooms through Redis", "instance", shared.InstanceID(),
			"instance_url", shared.InstanceURL(), "redis", cluster.Redact(cfg.RedisURL))
	}
	hooks.Start()

	logStart(log, cfg, ln.Addr(), engine.Port())
	return &Server{cfg: cfg, log: log, srv: srv, ln: ln, issuer: issuer, udpPort: engine.Port(), started: started}, nil
}

// logStart says where the server listens, with the ports actually bound
// (PORT=0 and the default RTC_UDP_PORT pick them), the dashboard's address,
// and who can reach it.
func logStart(log *slog.Logger, cfg *config.Config, addr net.Addr, udpPort int) {
	base := "http://" + addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		base = "http://127.0.0.1:" + strconv.Itoa(tcp.Port)
	}
	log.Info("livekit-mock listening", "addr", addr.String(), "rtc_udp_port", udpPort, "apiKey", cfg.APIKey,
		"mode", cfg.Environment, "version", version, "ws_url", cfg.WSURL)
	if cfg.AdminAPI {
		log.Info("dashboard and test control", "url", base+"/")
	}
	if cfg.Loopback() {
		log.Info("listening on loopback only; BIND=0.0.0.0 serves other machines")
	}
	if !cfg.Production() {
		log.Info("development mode: token-service and admin endpoints are open to any caller")
	}
	for _, w := range cfg.Warnings {
		log.Warn("configuration: " + w)
	}
}

// webhookDrain bounds how long shutdown waits for queued webhooks.
const webhookDrain = 2 * time.Second

// observers fans registry events out to several observers, in order; each
// must not block (rooms.Observer).
func observers(list ...rooms.Observer) rooms.Observer {
	return rooms.ObserverFunc(func(ev rooms.Event) {
		for _, o := range list {
			o.Observe(ev)
		}
	})
}

// roomReserver lets POST /token/room reserve its room in the registry; with
// REDIS_URL, on the room's home instance only (claimed here if nobody has).
type roomReserver struct {
	reg    *rooms.Registry
	shared *cluster.Cluster
}

func (r roomReserver) Reserve(name string) error {
	if r.shared != nil {
		if home, _ := r.shared.Claim(context.Background(), name); home != r.shared.InstanceID() {
			return nil // the home instance holds the room
		}
	}
	_, err := r.reg.Reserve(name)
	return err
}

// signalState tells /livekit/status whether /rtc takes connections: until
// shutdown begins and while below RTC_MAX_CONNECTIONS.
type signalState struct {
	hub      *signal.Hub
	max      int
	stopping atomic.Bool
}

func (s *signalState) Accepting() bool {
	return !s.stopping.Load() && (s.max <= 0 || s.hub.Connections() < s.max)
}

// connectCluster connects to REDIS_URL when it is set (nil, nil otherwise).
// Losing Redis later is journaled (cluster_degraded, cluster_restored).
func connectCluster(ctx context.Context, cfg *config.Config, log *slog.Logger, now func() time.Time, jour *journal.Journal) (*cluster.Cluster, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	c, err := cluster.Connect(ctx, cluster.Options{
		URL: cfg.RedisURL, InstanceID: cfg.InstanceID, InstanceURL: cfg.InstanceURL, Logger: log, Now: now,
		OnState: func(degraded bool, err error) {
			if degraded {
				jour.Record(journal.TypeClusterDegraded, "", "", map[string]any{"redis": cluster.StateDegraded, "error": err.Error()})
			} else {
				jour.Record(journal.TypeClusterRestored, "", "", map[string]any{"redis": cluster.StateOK})
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// instanceURL is INSTANCE_URL, with the bound port when PORT=0 left it
// unknown in the default.
func instanceURL(cfg *config.Config, addr net.Addr) string {
	return withBoundPort(cfg.InstanceURL, cfg.Port, addr)
}

// withBoundPort replaces the ":0" a default URL got from PORT=0 with the
// port actually bound.
func withBoundPort(u string, port int, addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && port == 0 && strings.HasSuffix(u, ":0") {
		u = strings.TrimSuffix(u, "0") + strconv.Itoa(tcp.Port)
	}
	return u
}

// homes tells the dialects where a room is served, so that a session whose
// room another instance holds is relayed there (signal's relay.go).
type homes struct{ c *cluster.Cluster }

func (h homes) Remote(ctx context.Context, room string) (string, bool) {
	home := h.c.Route(ctx, room)
	return home, home != ""
}

// RelayHeader marks the upgrade as relayed and names the client (the home
// believes it only from TRUSTED_PROXIES).
func (h homes) RelayHeader(ip string) http.Header {
	hd := http.Header{}
	hd.Set(signal.RelayHeader, h.c.InstanceID())
	if ip != "" {
		hd.Set("X-Forwarded-For", ip)
	}
	return hd
}

// scriptedAgents lets the dispatcher hand a room job to a scripted agent,
// which the admin runs as a fake participant of kind agent.
type scriptedAgents struct{ adm *admin.Admin }

func (s *scriptedAgents) Dispatch(ctx context.Context, room, roomSid, agentName string) (string, error) {
	info, err := s.adm.DispatchAgent(ctx, room, roomSid, agentName)
	if errors.Is(err, admin.ErrNoScript) {
		return "", fmt.Errorf("%w: %v", agents.ErrNoScript, err)
	}
	return info.Identity, err
}
