package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	return Load(args, func(k string) string { return env[k] }, &bytes.Buffer{})
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7880 || c.APIKey != "devkey" || c.APISecret != "secret" || c.WSURL != "ws://localhost:7880" ||
		c.RateLimitMax != 10 || c.RateLimitWindow != time.Minute || c.BodyLimit != 1024 || c.NamePolicy != "strict" ||
		c.RoomEmptyTimeout != 300*time.Second || c.RoomDepartureTimeout != 20*time.Second || c.ResumeWindow != 15*time.Second ||
		c.RTCMaxConnectionsPerIP != 100 || c.RTCMaxConnections != 20000 || c.RTCMessageRate != 20 || c.RTCMessageBurst != 40 ||
		c.RTCMaxMessageBytes != 65536 || c.RTCOutbox != 256 || c.RTCUDPPort != 7882 || !c.AdminAPI || c.JournalSize != 10000 ||
		c.Environment != Development || c.JWTExpiryHours != 24 || c.WebhookAPIKey != "devkey" || len(c.RTCAllowedOrigins) != 1 ||
		strings.Join(c.AllowedOrigins, ",") != "http://localhost:3000,http://localhost:3001" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	c, err := load(t, []string{"--port", "9000", "--rate-limit-max=3"}, map[string]string{"PORT": "8000", "RATE_LIMIT_MAX": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9000 || c.RateLimitMax != 3 || c.WSURL != "ws://localhost:9000" {
		t.Fatalf("%d %d %s", c.Port, c.RateLimitMax, c.WSURL)
	}
}

func TestKeys(t *testing.T) {
	c, err := load(t, nil, map[string]string{"LIVEKIT_KEYS": "k1: s1\nk2:s2, k3 : s3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Keys) != 4 || c.Keys["k1"] != "s1" || c.Keys["k2"] != "s2" || c.Keys["k3"] != "s3" || c.Keys["devkey"] != "secret" {
		t.Fatalf("keys %v", c.Keys)
	}
	for _, bad := range []string{"k1", "k1:", ": s", "k1: a, k1: b"} {
		if _, err := load(t, nil, map[string]string{"LIVEKIT_KEYS": bad}); err == nil || !strings.Contains(err.Error(), "LIVEKIT_KEYS") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	for v, val := range map[string]string{
		"PORT": "70000", "RATE_LIMIT_MAX": "-1", "RATE_LIMIT_WINDOW": "soon", "BODY_LIMIT": "1", "NAME_POLICY": "loose",
		"RTC_REQUIRE_TOKEN": "maybe", "ROOM_EMPTY_TIMEOUT": "-5s", "RTC_MESSAGE_RATE": "NaN", "NODE_IP": "here",
		"ICE_SERVERS": "http://x", "WEBHOOK_URLS": "ftp://x", "WEBHOOK_API_KEY": "unknown", "ADMIN_API": "sometimes",
		"ENVIRONMENT": "staging", "LOG_LEVEL": "trace", "LOG_FORMAT": "xml", "ALLOWED_ORIGINS": "localhost:3000",
		"TRUSTED_PROXIES": "10.0.0.0/33", "LIVEKIT_WS_URL": "localhost", "REDIS_URL": "http://x", "JWT_EXPIRY_HOURS": "0",
		"BIND": "nowhere", "ADMIN_MEDIA_DIR": "/nonexistent/media",
	} {
		_, err := load(t, nil, map[string]string{v: val})
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != v || !strings.Contains(err.Error(), "invalid "+v) {
			t.Errorf("%s=%q: %v", v, val, err)
		}
	}
}

func TestDurationsAcceptSeconds(t *testing.T) {
	c, err := load(t, nil, map[string]string{"RATE_LIMIT_WINDOW": "30", "ROOM_DEPARTURE_TIMEOUT": "1.5"})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimitWindow != 30*time.Second || c.RoomDepartureTimeout != 1500*time.Millisecond {
		t.Fatal(c.RateLimitWindow, c.RoomDepartureTimeout)
	}
}

func TestProduction(t *testing.T) {
	good := map[string]string{"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": strings.Repeat("s", 32), "JWT_SECRET": strings.Repeat("j", 32)}
	c, err := load(t, nil, good)
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminAPI || !c.Production() {
		t.Fatal("production: admin API must default to off")
	}
	good["ADMIN_API"] = "on"
	if c, _ = load(t, nil, good); !c.AdminAPI {
		t.Fatal("ADMIN_API=on ignored")
	}
	for name, env := range map[string]map[string]string{
		"dev secret":     {"ENVIRONMENT": "production", "JWT_SECRET": strings.Repeat("j", 32)},
		"short secret":   {"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": strings.Repeat("s", 31), "JWT_SECRET": strings.Repeat("j", 32)},
		"no JWT_SECRET":  {"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": strings.Repeat("s", 32)},
		"dev JWT_SECRET": {"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": strings.Repeat("s", 32), "JWT_SECRET": "secret"},
	} {
		if _, err := load(t, nil, env); err == nil || !strings.Contains(err.Error(), "production") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDebugMeansDebug(t *testing.T) {
	for val, want := range map[string]string{"true": "debug", "jodex:*": "debug", "false": "info", "0": "info", "": "info"} {
		c, err := load(t, nil, map[string]string{"DEBUG": val})
		if err != nil || c.LogLevel != want {
			t.Errorf("DEBUG=%q: %v %v", val, c.LogLevel, err)
		}
	}
}

// A JWT_SECRET equal to an API secret makes every participant token a caller
// bearer: production refuses it, naming JWT_SECRET; development warns.
func TestJWTSecretMustDifferFromAPISecrets(t *testing.T) {
	api, other, jwt := strings.Repeat("s", 32), strings.Repeat("k", 32), strings.Repeat("j", 32)
	for name, env := range map[string]map[string]string{
		"main secret":    {"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": api, "JWT_SECRET": api},
		"LIVEKIT_KEYS":   {"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": api, "LIVEKIT_KEYS": "k2: " + other, "JWT_SECRET": other},
		"padded secrets": {"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": api, "JWT_SECRET": " " + api + " "},
	} {
		_, err := load(t, nil, env)
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != "JWT_SECRET" || !strings.Contains(err.Error(), "API secret") {
			t.Errorf("%s: %v", name, err)
		}
	}
	c, err := load(t, nil, map[string]string{"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": api, "LIVEKIT_KEYS": "k2: " + other, "JWT_SECRET": jwt})
	if err != nil || len(c.Warnings) != 0 {
		t.Fatalf("distinct secrets: %v %v", err, c)
	}
	c, err = load(t, nil, map[string]string{"JWT_SECRET": "secret"})
	if err != nil {
		t.Fatalf("development refuses: %v", err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "JWT_SECRET") {
		t.Fatalf("development warnings: %q", c.Warnings)
	}
}

// A weak secret in LIVEKIT_KEYS is reported under LIVEKIT_KEYS.
func TestWeakKeysSecretNamesLIVEKIT_KEYS(t *testing.T) {
	for _, keys := range []string{"k2: secret", "k2: short"} {
		_, err := load(t, nil, map[string]string{"ENVIRONMENT": "production", "LIVEKIT_API_SECRET": strings.Repeat("s", 32),
			"JWT_SECRET": strings.Repeat("j", 32), "LIVEKIT_KEYS": keys})
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != "LIVEKIT_KEYS" || strings.Contains(err.Error(), "LIVEKIT_API_SECRET") {
			t.Errorf("%q: %v", keys, err)
		}
	}
}

func TestAdminMediaDir(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil || c.AdminMediaDir != "" {
		t.Fatalf("default: %q %v", c.AdminMediaDir, err)
	}
	dir := t.TempDir()
	c, err = load(t, []string{"--admin-media-dir", dir}, nil)
	if err != nil || c.AdminMediaDir != dir {
		t.Fatalf("flag: %q %v", c.AdminMediaDir, err)
	}
	if _, err := load(t, nil, map[string]string{"ADMIN_MEDIA_DIR": "config_test.go"}); err == nil || !strings.Contains(err.Error(), "ADMIN_MEDIA_DIR") {
		t.Fatalf("a file as the media dir: %v", err)
	}
	var help bytes.Buffer
	_, _ = Load([]string{"--help"}, func(string) string { return "" }, &help)
	if !strings.Contains(help.String(), "-admin-media-dir") || !strings.Contains(help.String(), "ADMIN_MEDIA_DIR") {
		t.Fatalf("--help: %s", help.String())
	}
}

// Two instances started with only PORT different must both serve: the media
// port follows the HTTP port (LiveKit's 7880/7882 pairing), and a server on
// a port picked by the system picks its media port the same way.
func TestUDPPortFollowsThePort(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want int
	}{
		{nil, 7882},
		{map[string]string{"PORT": "7890"}, 7892},
		{map[string]string{"PORT": "0"}, 0},
		{map[string]string{"PORT": "65534"}, 0},
		{map[string]string{"PORT": "7890", "RTC_UDP_PORT": "9999"}, 9999},
	} {
		c, err := load(t, nil, tc.env)
		if err != nil {
			t.Fatal(err)
		}
		if c.RTCUDPPort != tc.want {
			t.Errorf("%v: RTC_UDP_PORT %d, want %d", tc.env, c.RTCUDPPort, tc.want)
		}
	}
}

// The default listens on loopback only, as LiveKit's development mode does,
// and then advertises loopback candidates; BIND=0.0.0.0 opens it up.
func TestBindDefaultsToLoopback(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Bind != "127.0.0.1" || !c.Loopback() || c.NodeIP != "127.0.0.1" {
		t.Fatalf("bind %q loopback %v node ip %q", c.Bind, c.Loopback(), c.NodeIP)
	}
	c, err = load(t, nil, map[string]string{"BIND": "0.0.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Loopback() {
		t.Fatal("0.0.0.0 counted as loopback")
	}
	c, err = load(t, nil, map[string]string{"BIND": "0.0.0.0", "NODE_IP": "192.0.2.7"})
	if err != nil || c.NodeIP != "192.0.2.7" {
		t.Fatalf("%v %+v", err, c)
	}
}

// The parser looks at nothing but the settings; what depends on the host
// (addresses, host name, the media directory) is filled in by Resolve.
func TestFromSettingsLeavesTheHostToResolve(t *testing.T) {
	c, err := FromSettings(map[string]string{"BIND": "0.0.0.0", "ADMIN_MEDIA_DIR": "/nonexistent/media"})
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeIP != "" || c.InstanceID != "" || c.InstanceURL != "" || c.AdminMediaDir != "/nonexistent/media" {
		t.Fatalf("the parser resolved: %+v", c.Network)
	}
	if err := c.Resolve(); err == nil || !strings.Contains(err.Error(), "ADMIN_MEDIA_DIR") {
		t.Fatalf("a missing media directory: %v", err)
	}
	if c.NodeIP == "" || c.InstanceURL == "" {
		t.Fatalf("Resolve left %+v %+v", c.Network, c.Cluster)
	}
	if _, err := FromSettings(map[string]string{"PORTT": "1"}); err == nil || !strings.Contains(err.Error(), "PORTT") {
		t.Fatalf("an unknown setting: %v", err)
	}
}

// Each group checks its own rules.
func TestGroupsValidate(t *testing.T) {
	if err := (Network{Bind: "nowhere", WSURL: "ftp://x"}).Validate(); err == nil || !strings.Contains(err.Error(), "BIND") || !strings.Contains(err.Error(), "LIVEKIT_WS_URL") {
		t.Errorf("network: %v", err)
	}
	if err := (Logging{LogLevel: "loud", LogFormat: "xml"}).Validate(); err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") || !strings.Contains(err.Error(), "LOG_FORMAT") {
		t.Errorf("logging: %v", err)
	}
	if err := (HTTP{NamePolicy: "strict", TrustedProxies: []string{"10.0.0.0/8"}, AllowedOrigins: []string{"*"}}).Validate(); err != nil {
		t.Errorf("good http: %v", err)
	}
}

func TestScriptedAgentSettings(t *testing.T) {
	c, err := load(t, nil, map[string]string{"AGENT_DEFAULT": "assistant"})
	if err != nil || c.AgentDefault != "assistant" || c.AgentsFile != "" {
		t.Fatalf("AGENT_DEFAULT=assistant: %+v, %v", c, err)
	}
	c, err = load(t, []string{"--agents-file", "agents.json", "--agent-default", "support"}, nil)
	if err != nil || c.AgentDefault != "support" || c.AgentsFile != "agents.json" {
		t.Fatalf("flags: %+v, %v", c, err)
	}
	for _, env := range []map[string]string{
		{"AGENT_DEFAULT": "support"},   // not built in, and no file to find it in
		{"AGENT_DEFAULT": "two words"}, // not a name
		{"AGENT_DEFAULT": "x\x00"},     // not a name
	} {
		_, err := load(t, nil, env)
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != "AGENT_DEFAULT" {
			t.Errorf("%q: %v", env, err)
		}
	}
	if _, err := load(t, nil, map[string]string{"AGENTS_FILE": "a\x00b"}); err == nil || !strings.Contains(err.Error(), "AGENTS_FILE") {
		t.Errorf("AGENTS_FILE with NUL: %v", err)
	}
}
