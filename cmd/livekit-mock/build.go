package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/internal/httpapi"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
	"github.com/livekit-mock/livekit-mock/internal/server"
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

	handler := httpapi.New(httpapi.Deps{
		Config:         cfg,
		Logger:         log,
		Issuer:         auth.NewIssuer(cfg.APIKey, cfg.APISecret, now),
		Verifier:       auth.NewVerifier(cfg.Keys, now),
		IDs:            ids.New(nil),
		Names:          policy,
		Now:            now,
		Started:        started,
		MintLimiter:    ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now),
		ServiceLimiter: ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now),
	})
	srv := server.New(handler, server.Options{})

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
