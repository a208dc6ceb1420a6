package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/admin"
	"github.com/livekit-mock/livekit-mock/internal/auth"
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
	// Webhooks (WEBHOOK_URLS) see every room event; delivery has its own
	// workers and never blocks a room.
	hooks := webhook.New(webhook.Options{URLs: cfg.WebhookURLs, APIKey: cfg.WebhookAPIKey,
		APISecret: cfg.Keys[cfg.WebhookAPIKey], IDs: idgen, Now: now, Logger: log})
	// The journal of SPEC §10 sees room events, HTTP refusals and sessions;
	// faults are the test-control rules the HTTP layer and sessions apply.
	jour := journal.New(journal.Options{Size: cfg.JournalSize, Payloads: cfg.JournalPayloads, Now: now})
	faults := admin.NewFaults(jour, nil)
	registry := rooms.NewRegistry(rooms.Options{
		Observer: observers(
			rooms.ObserverFunc(func(ev rooms.Event) { figures.RoomEvent(ev.Kind.String()) }),
			hooks,
			admin.Observer(jour),
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

	figures = metrics.New(metrics.Options{Now: now, Version: version, Mode: cfg.Environment,
		Rooms: registry.Counts, Connections: hub.Connections})
	issuer, verifier := auth.NewIssuer(cfg.APIKey, cfg.APISecret, now), auth.NewVerifier(cfg.Keys, now)
	tokens := tokenservice.New(tokenservice.Options{
		Minter: issuer, Verifier: verifier, Names: policy, WSURL: cfg.WSURL,
		DefaultTTL:  time.Duration(cfg.JWTExpiryHours) * time.Hour,
		NewIdentity: idgen.UUID,
		Rooms:       roomReserver{registry},
	})
	sigState := &signalState{hub: hub, max: cfg.RTCMaxConnections}

	livekit := httpapi.LiveKitHandler(httpapi.LiveKitDeps{Hub: hub, Verifier: verifier, Config: cfg, Logger: log,
		Registry: registry, Engine: engine, Now: now, NodeID: idgen.NodeID()})

	mintLimiter := ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now)
	serviceLimiter := ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now)
	adm := admin.New(admin.Options{Registry: registry, Journal: jour, Faults: faults, Sessions: hub,
		Limiters: []admin.Resetter{mintLimiter, serviceLimiter}, Logger: log})

	handler := httpapi.New(httpapi.Deps{
		Config:         cfg,
		Logger:         log,
		Issuer:         issuer,
		Verifier:       verifier,
		TokenService:   tokens,
		Figures:        figures,
		Signal:         sigState,
		IDs:            idgen,
		Rooms:          registry,
		Conns:          hub,
		Registry:       registry,
		Hub:            hub,
		LiveKit:        livekit,
		RoomService:    roomservice.New(registry, roomservice.Options{}),
		Names:          policy,
		Now:            now,
		Started:        started,
		MintLimiter:    mintLimiter,
		ServiceLimiter: serviceLimiter,
		Admin:          adm,
		Journal:        jour,
	})
	srv := server.New(handler, server.Options{})
	srv.OnShutdown("signal status", func(context.Context) { sigState.stopping.Store(true) })
	// Shutdown order: the listener is closed, then every session is told
	// and closed (1001), then the rooms end.
	// Admin streams and long polls end first (SPEC §3.6).
	srv.OnShutdown("journal followers", func(context.Context) { jour.Close() })
	srv.OnShutdown("signal hub", func(ctx context.Context) { _ = hub.Shutdown(ctx) })
	srv.OnShutdown("rtc engine", func(context.Context) { _ = engine.Close() })
	srv.OnShutdown("rooms", func(context.Context) { registry.Close() })
	srv.OnShutdown("fake participants", func(context.Context) { adm.Close() })
	// After the rooms, so that their room_finished webhooks go out.
	srv.OnShutdown("webhooks", func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, webhookDrain)
		defer cancel()
		hooks.Close(ctx)
	})
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

// roomReserver lets POST /token/room reserve its room in the registry.
type roomReserver struct{ reg *rooms.Registry }

func (r roomReserver) Reserve(name string) error { _, err := r.reg.Reserve(name); return err }

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
