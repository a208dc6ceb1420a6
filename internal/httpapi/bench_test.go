package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/internal/httpapi"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/metrics"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
	"github.com/livekit-mock/livekit-mock/internal/tokenservice"
)

const benchBody = `{"roomName":"bench-room","participantName":"Alice","participantIdentity":"alice"}`

// surface is the one way this package's external tests build a server: the
// whole HTTP surface from httpapi.New with the configuration env, as the
// builder makes it (logging to io.Discard at the default level: the request
// log still runs); with, when not nil, changes the Deps first.
func surface(tb testing.TB, env map[string]string, with func(*httpapi.Deps)) (http.Handler, *config.Config) {
	tb.Helper()
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now
	policy, _ := names.ParsePolicy(cfg.NamePolicy)
	issuer, verifier := auth.NewIssuer(cfg.APIKey, cfg.APISecret, now), auth.NewVerifier(cfg.Keys, now)
	d := httpapi.Deps{
		Figures: metrics.New(metrics.Options{}),
		TokenService: tokenservice.New(tokenservice.Options{Minter: issuer, Verifier: verifier, WSURL: cfg.WSURL,
			DefaultTTL: time.Hour, NewIdentity: ids.New(nil).UUID}),
		Config:         cfg,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Issuer:         issuer,
		Verifier:       verifier,
		IDs:            ids.New(nil),
		Names:          policy,
		Now:            now,
		Started:        now(),
		MintLimiter:    ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now),
		ServiceLimiter: ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now),
	}
	if with != nil {
		with(&d)
	}
	return httpapi.New(d), cfg
}

// benchHandler is the surface with the configuration env.
func benchHandler(b *testing.B, env map[string]string) http.Handler {
	b.Helper()
	h, _ := surface(b, env, nil)
	return h
}

// BenchmarkTokenEndpoint is POST /api/livekit/token through the full
// middleware stack, in process (ServeHTTP, no network).
func BenchmarkTokenEndpoint(b *testing.B) {
	cases := map[string]map[string]string{
		"no-limit": {"RATE_LIMIT_MAX": "0"},
		// The limiter counts but never refuses: its cost is included.
		"limiter-on": {"RATE_LIMIT_MAX": "1000000000"},
	}
	for name, env := range cases {
		b.Run(name, func(b *testing.B) {
			h := benchHandler(b, env)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/api/livekit/token", strings.NewReader(benchBody))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Origin", "http://localhost:3000")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
	b.Run("refused-origin", func(b *testing.B) {
		h := benchHandler(b, map[string]string{"RATE_LIMIT_MAX": "0"})
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/api/livekit/token", strings.NewReader(benchBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", "http://evil.example")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusForbidden {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

// BenchmarkTokenEndpointHTTP is the same over a real loopback listener with
// keep-alive clients in parallel (what wrk measures in scripts/bench.sh).
func BenchmarkTokenEndpointHTTP(b *testing.B) {
	srv := httptest.NewServer(benchHandler(b, map[string]string{"RATE_LIMIT_MAX": "0"}))
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/livekit/token", strings.NewReader(benchBody))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func BenchmarkHealth(b *testing.B) {
	h := benchHandler(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/health", nil))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
