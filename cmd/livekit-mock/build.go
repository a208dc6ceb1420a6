package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	"github.com/livekit-mock/livekit-mock/internal/tokenservice"
	"github.com/livekit-mock/livekit-mock/internal/webhook"
)

const version = httpapi.Version

// newLogger builds the slog logger the configuration asks for.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
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

// serve builds everything in dependency order and runs until ctx ends.
// ready, when not nil, receives the listen address once the server accepts.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	started := time.Now()
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		if err == config.ErrHelp {
			return nil
		}
		return exitError{code: 2, msg: "livekit-mock: " + err.Error()}
	}
	log := newLogger(cfg, stderr)
	policy, _ := names.ParsePolicy(cfg.NamePolicy)
	now := time.Now

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", cfg.Port, err)
	}

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
		return err
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
	engine, err := rtc.NewEngine(rtc.Options{UDPPort: cfg.RTCUDPPort, NodeIP: cfg.NodeIP, Logger: log})
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("RTC_UDP_PORT %d: %w", cfg.RTCUDPPort, err)
	}

	issuer, verifier := auth.NewIssuer(cfg.APIKey, cfg.APISecret, now), auth.NewVerifier(cfg.Keys, now)
	agentOpts := agents.Options{Minter: issuer, Rooms: registry, Journal: jour, IDs: idgen, Now: now,
		Logger: log, Production: cfg.Production()}
	if shared != nil { // jobs no worker here takes go to other instances' workers
		agentOpts.Remote = httpapi.AgentRemote(shared, issuer)
	}
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
	agentWorkers := httpapi.AgentHandler(httpapi.AgentDeps{Hub: hub, Verifier: verifier, Dispatcher: dispatcher,
		NodeID: nodeID, Now: now, Logger: log})
	livekit := httpapi.LiveKitHandler(httpapi.LiveKitDeps{Hub: hub, Verifier: verifier, Config: cfg, Logger: log,
		Registry: registry, Engine: engine, Now: now, NodeID: nodeID})

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
		Media: engine.Forwarder(), Agents: dispatcher})

	handler := httpapi.New(httpapi.Deps{
		Config:         cfg,
		Logger:         log,
		Issuer:         issuer,
		Verifier:       verifier,
		TokenService:   tokens,
		Figures:        figures,
		Signal:         sigState,
		IDs:            idgen,
		Registry:       registry,
		Hub:            hub,
		LiveKit:        livekit,
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
	if shared != nil { // relayed signalling ends with the sessions
		srv.OnShutdown("cluster relays", func(context.Context) { shared.StopRelays() })
	}
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
			return exitError{code: 2, msg: "livekit-mock: " + err.Error()}
		}
		log.Info("cluster: sharing rate limits, figures and rooms through Redis", "instance", shared.InstanceID(),
			"instance_url", shared.InstanceURL(), "redis", cluster.Redact(cfg.RedisURL))
	}
	hooks.Start()

	mode := cfg.Environment
	log.Info("livekit-mock listening", "addr", ln.Addr().String(), "apiKey", cfg.APIKey, "mode", mode,
		"version", version, "ws_url", cfg.WSURL)
	if !cfg.Production() {
		log.Info("development mode: token-service and admin endpoints are open to any caller")
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	err = srv.Serve(ctx, ln)
	log.Info("livekit-mock stopped")
	return err
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
		return nil, exitError{code: 2, msg: "livekit-mock: " + err.Error()}
	}
	return c, nil
}

// instanceURL is INSTANCE_URL, with the bound port when PORT=0 left it
// unknown in the default.
func instanceURL(cfg *config.Config, addr net.Addr) string {
	u := cfg.InstanceURL
	if tcp, ok := addr.(*net.TCPAddr); ok && cfg.Port == 0 && strings.HasSuffix(u, ":0") {
		u = strings.TrimSuffix(u, "0") + strconv.Itoa(tcp.Port)
	}
	return u
}
