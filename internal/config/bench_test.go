package config_test

import (
	"io"
	"testing"

	"github.com/livekit-mock/livekit-mock/internal/config"
)

// Load runs once per start; it is part of the start-up budget (SPEC §9:
// ready in well under 100 ms).
func BenchmarkLoad(b *testing.B) {
	envs := map[string]map[string]string{
		"defaults": {},
		"full": {
			"PORT": "7880", "LIVEKIT_KEYS": "k1: s1\nk2: s2\nk3: s3", "ALLOWED_ORIGINS": "http://a.test,http://b.test",
			"TRUSTED_PROXIES": "10.0.0.0/8,192.168.0.0/16,::1", "RATE_LIMIT_WINDOW": "30s", "NODE_IP": "127.0.0.1",
			"ICE_SERVERS": "stun:stun.example:3478", "WEBHOOK_URLS": "http://127.0.0.1:9/hook", "INSTANCE_ID": "bench",
			"LOG_FORMAT": "json", "NAME_POLICY": "livekit",
		},
	}
	for name, env := range envs {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
