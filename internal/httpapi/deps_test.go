package httpapi

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/metrics"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/roomservice"
	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/tokenservice"
)

// completeDeps gives a test's Deps the parts the builder makes for the
// binary and that the test does not care to choose: the token service, the
// figures and the caller verifier, built from its configuration.
func completeDeps(d Deps) Deps {
	if d.TokenService == nil {
		d.TokenService = tokenservice.New(tokenservice.Options{
			Minter: d.Issuer, Verifier: d.Verifier, Names: d.Names, WSURL: d.Config.WSURL,
			DefaultTTL: hours(d.Config.JWTExpiryHours), NewIdentity: d.IDs.UUID,
		})
	}
	if d.Figures == nil {
		o := metrics.Options{Now: d.Now, Version: Version, Mode: d.Config.Environment}
		if d.Rooms != nil {
			o.Rooms = d.Rooms.Counts
		} else if d.Registry != nil {
			o.Rooms = d.Registry.Counts
		}
		if d.Conns != nil {
			o.Connections = d.Conns.Connections
		} else if d.Hub != nil {
			o.Connections = d.Hub.Connections
		}
		d.Figures = metrics.New(o)
	}
	if d.Callers == nil {
		d.Callers = auth.NewCallerVerifier(d.Config.JWTSecret, d.Now)
	}
	return d
}

// serveDeps is the one way this package's tests build a server: the whole
// HTTP surface from New, with the real middleware, on httptest. d holds what
// a test chooses; the rest comes from cfg and now as the builder makes it
// (logger, issuer, verifier, ids, name policy, limiters, then completeDeps).
func serveDeps(t testing.TB, cfg *config.Config, now func() time.Time, d Deps) *httptest.Server {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	d.Config = cfg
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Issuer == nil {
		d.Issuer = auth.NewIssuer(cfg.APIKey, cfg.APISecret, now)
	}
	if d.Verifier == nil {
		d.Verifier = auth.NewVerifier(cfg.Keys, now)
	}
	if d.IDs == nil {
		d.IDs = ids.New(nil)
	}
	d.Names, _ = names.ParsePolicy(cfg.NamePolicy) // validated by config
	if d.Now == nil {
		d.Now = now
	}
	if d.Started.IsZero() {
		d.Started = now()
	}
	if d.MintLimiter == nil {
		d.MintLimiter = ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now)
	}
	if d.ServiceLimiter == nil {
		d.ServiceLimiter = ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now)
	}
	s := httptest.NewServer(New(completeDeps(d)))
	t.Cleanup(s.Close)
	return s
}

// Each route is declared once, in its group (routes.go); a path that matches
// no route (an unknown path, a preflight, a wrong method) is put in a group
// by its prefix. The two must agree for every declared route, or a preflight
// or a 405 next to a route would get another group's rules.
func TestDeclaredGroupsAgreeWithPaths(t *testing.T) {
	cfg := testConfig(t, map[string]string{"ADMIN_API": "on"})
	reg := rooms.NewRegistry(rooms.Options{})
	t.Cleanup(reg.Close)
	hub, verifier := signal.NewHub(signal.Options{}), auth.NewVerifier(cfg.Keys, time.Now)
	lk := signal.NewLiveKit(signal.LiveKitOptions{Registry: reg, Hub: hub, Verifier: verifier})
	t.Cleanup(lk.Close)
	d := completeDeps(Deps{Config: cfg, Now: time.Now, Issuer: auth.NewIssuer(cfg.APIKey, cfg.APISecret, time.Now),
		Verifier: verifier, IDs: ids.New(nil), Registry: reg, Hub: hub, RTC: rtcEndpoint(cfg, hub, reg, verifier, lk),
		RoomService: roomservice.New(reg, roomservice.Options{}),
		Agent:       signal.NewAgentEndpoint(hub, verifier, signal.AgentOptions{})})
	declared := routeGroups(d)
	for _, want := range []string{"/rtc", "/rtc/v1/validate", "/twirp/:service/:method", "/agent", "/api/rooms/:roomName", "/health"} {
		if _, ok := declared[want]; !ok {
			t.Errorf("%s is not declared", want)
		}
	}
	if len(declared) < 10 {
		t.Fatalf("only %d routes declared: %v", len(declared), declared)
	}
	for path, g := range declared {
		if byPath := groupOfPath(path); byPath != g {
			t.Errorf("%s is declared in %s but its path says %s", path, g, byPath)
		}
	}
}
