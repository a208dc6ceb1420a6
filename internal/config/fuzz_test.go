package config_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/livekit-mock/livekit-mock/internal/config"
)

// envVars are the variables of SPEC §2.
var envVars = []string{
	"PORT", "BIND", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "LIVEKIT_KEYS", "LIVEKIT_WS_URL", "JWT_SECRET",
	"JWT_EXPIRY_HOURS", "ALLOWED_ORIGINS", "RATE_LIMIT_MAX", "RATE_LIMIT_WINDOW", "BODY_LIMIT", "TRUSTED_PROXIES",
	"NAME_POLICY", "RTC_REQUIRE_TOKEN", "RTC_ALLOWED_ORIGINS", "ROOM_EMPTY_TIMEOUT", "ROOM_DEPARTURE_TIMEOUT",
	"RESUME_WINDOW", "MAX_PARTICIPANTS", "RTC_MAX_CONNECTIONS_PER_IP", "RTC_MAX_CONNECTIONS", "RTC_MESSAGE_RATE",
	"RTC_MESSAGE_BURST", "RTC_MAX_MESSAGE_BYTES", "RTC_OUTBOX", "RTC_UDP_PORT", "NODE_IP", "ICE_SERVERS",
	"WEBHOOK_URLS", "WEBHOOK_API_KEY", "ADMIN_API", "JOURNAL_SIZE", "JOURNAL_PAYLOADS", "ENVIRONMENT",
	"REDIS_URL", "INSTANCE_ID", "INSTANCE_URL", "LOG_LEVEL", "LOG_FORMAT", "DEBUG",
}

// FuzzLoad sets two variables to fuzzed values: Load must return a config or
// an error naming a variable, never panic, and a config it returns must hold
// values inside the documented ranges.
func FuzzLoad(f *testing.F) {
	seeds := []struct {
		a  uint8
		va string
		b  uint8
		vb string
	}{
		{0, "7880", 9, "10"}, {0, "-1", 10, "0s"}, {0, "65536", 11, "1023"}, {4, "k1: s1\nk2: s2", 5, "ws://x:1"},
		{4, "a:b,c", 8, "*"}, {8, "http://localhost:3000,", 12, "10.0.0.0/8,::1"}, {13, "LIVEKIT", 22, "NaN"},
		{22, "1e309", 24, "0x10"}, {34, "production", 3, "secret"}, {34, "prod", 6, strings.Repeat("x", 40)},
		{10, "1.5", 16, "9999999h"}, {27, "::1", 35, "redis://"}, {29, "ftp://x", 30, "nope"}, {40, "jodex:*", 38, "trace"},
		{1, "localhost", 2, ""}, {7, "25", 14, "maybe"}, {10, "\x00", 0, "78\u0660"},
	}
	for _, s := range seeds {
		f.Add(s.a, s.va, s.b, s.vb)
	}
	f.Fuzz(func(t *testing.T, a uint8, va string, b uint8, vb string) {
		env := map[string]string{envVars[int(a)%len(envVars)]: va, envVars[int(b)%len(envVars)]: vb}
		cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Load(%q) = %v, %v: want exactly one of a config and an error", env, cfg, err)
		}
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) || !known(ce.Var) || !strings.Contains(err.Error(), ce.Var) {
				t.Fatalf("Load(%q): error %q does not name a variable", env, err)
			}
			return
		}
		switch {
		case cfg.Port < 0 || cfg.Port > 65535:
			t.Fatalf("Port %d", cfg.Port)
		case cfg.RateLimitMax < 0, cfg.RateLimitWindow <= 0:
			t.Fatalf("rate limit %d per %s", cfg.RateLimitMax, cfg.RateLimitWindow)
		case cfg.BodyLimit < 1, cfg.RTCMaxMessageBytes < 1, cfg.RTCOutbox < 1, cfg.RTCMessageBurst < 1:
			t.Fatalf("caps body %d frame %d outbox %d burst %d", cfg.BodyLimit, cfg.RTCMaxMessageBytes, cfg.RTCOutbox, cfg.RTCMessageBurst)
		case !(cfg.RTCMessageRate > 0):
			t.Fatalf("message rate %v", cfg.RTCMessageRate)
		case cfg.JWTExpiryHours < 1 || cfg.JWTExpiryHours > 24:
			t.Fatalf("JWT expiry %d h", cfg.JWTExpiryHours)
		case cfg.NamePolicy != "strict" && cfg.NamePolicy != "livekit":
			t.Fatalf("name policy %q", cfg.NamePolicy)
		case cfg.Environment != config.Development && cfg.Environment != config.Production:
			t.Fatalf("environment %q", cfg.Environment)
		case cfg.APIKey == "" || cfg.APISecret == "" || cfg.Keys[cfg.APIKey] != cfg.APISecret:
			t.Fatalf("key pair %q / keys %d", cfg.APIKey, len(cfg.Keys))
		case cfg.Production() && (config.IsDevSecret(cfg.APISecret) || len(cfg.JWTSecret) < 32):
			t.Fatalf("production accepted a weak secret")
		}
	})
}

func known(v string) bool {
	for _, k := range envVars {
		if k == v {
			return true
		}
	}
	return false
}
