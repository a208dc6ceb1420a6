// Package config reads the settings of SPEC §2 from the environment and from
// flags of the same meaning, applies the defaults and validates them. Any bad
// value stops the start-up with a message naming the variable.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Environment modes.
const (
	Development = "development"
	Production  = "production"
)

// Config holds every setting. It is read once at start-up and never changed.
type Config struct {
	Port int
	Bind string

	APIKey    string
	APISecret string
	// Keys holds every accepted key pair: the main one and those of LIVEKIT_KEYS.
	Keys map[string]string

	WSURL          string
	JWTSecret      string
	JWTExpiryHours int

	AllowedOrigins  []string // empty: none; ["*"]: any
	RateLimitMax    int
	RateLimitWindow time.Duration
	BodyLimit       int64
	TrustedProxies  []string
	NamePolicy      string

	RTCRequireToken      bool
	RTCAllowedOrigins    []string // ["*"]: any
	RoomEmptyTimeout     time.Duration
	RoomDepartureTimeout time.Duration
	ResumeWindow         time.Duration
	MaxParticipants      int

	RTCMaxConnectionsPerIP int
	RTCMaxConnections      int
	RTCMessageRate         float64
	RTCMessageBurst        int
	RTCMaxMessageBytes     int64
	RTCOutbox              int
	RTCUDPPort             int
	NodeIP                 string
	ICEServers             []string

	WebhookURLs   []string
	WebhookAPIKey string

	AdminAPI        bool
	JournalSize     int
	JournalPayloads bool

	// AgentsFile names a JSON file of named scripted agents (read at
	// start-up by the builder); AgentDefault names the scripted agent that
	// joins every new room ("assistant": the built-in one), empty for none.
	AgentsFile   string
	AgentDefault string

	Environment string

	RedisURL    string
	InstanceID  string
	InstanceURL string

	LogLevel  string
	LogFormat string
}

// DefaultUDPPort is LiveKit's pairing of ports: the media port is the HTTP
// port plus two (7880 → 7882), and a free one when the HTTP port is (0) or
// when plus two would leave the range.
func DefaultUDPPort(httpPort int) int {
	if httpPort == 0 || httpPort+2 > 65535 {
		return 0
	}
	return httpPort + 2
}

// Loopback reports whether the server listens on a loopback address only
// (the default), and so is out of reach of other machines.
func (c *Config) Loopback() bool {
	if c.Bind == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(c.Bind, "[]"))
	return err == nil && a.IsLoopback()
}

// BuiltinAgent is the name of the built-in scripted assistant
// (scripted.BuiltinName).
const BuiltinAgent = "assistant"

var agentName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Production reports whether ENVIRONMENT=production.
func (c *Config) Production() bool { return c.Environment == Production }

// Error names the variable whose value is not acceptable.
type Error struct {
	Var    string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("invalid %s: %s", e.Var, e.Reason) }

// IsDevSecret reports whether s is a well-known development value, which
// production mode refuses.
func IsDevSecret(s string) bool {
	switch strings.ToLower(s) {
	case "secret", "devsecret", "dev-secret", "test-api-secret", "test-secret", "changeme", "password", "devkey",
		"your-secret-key", "your-api-secret", "my-secret", "supersecret":
		return true
	}
	return false
}

type setting struct {
	env, flag, def, usage string
}

// settings lists every variable in the order `--help` prints them.
var settings = []setting{
	{"PORT", "port", "7880", "HTTP and WebSocket port"},
	{"BIND", "bind", "127.0.0.1", "listen address (0.0.0.0: every interface)"},
	{"LIVEKIT_API_KEY", "api-key", "devkey", "API key tokens are minted with"},
	{"LIVEKIT_API_SECRET", "api-secret", "secret", "API secret tokens are minted with"},
	{"LIVEKIT_KEYS", "keys", "", "more accepted key pairs, 'key: secret' one per line or comma-separated"},
	{"LIVEKIT_WS_URL", "ws-url", "", "URL returned to clients as serverUrl / ws_url (default ws://localhost:$PORT)"},
	{"JWT_SECRET", "jwt-secret", "", "secret of callers' own bearer tokens (production mode)"},
	{"JWT_EXPIRY_HOURS", "jwt-expiry-hours", "24", "default TTL in hours of /token/room and /token/join tokens (1-24)"},
	{"ALLOWED_ORIGINS", "allowed-origins", "http://localhost:3000,http://localhost:3001", "CORS allow-list of the HTTP API ('*' any, empty none)"},
	{"RATE_LIMIT_MAX", "rate-limit-max", "10", "minting requests per client IP per window (0: no limit)"},
	{"RATE_LIMIT_WINDOW", "rate-limit-window", "60s", "rate-limit window"},
	{"BODY_LIMIT", "body-limit", "1024", "body cap in bytes of the minting endpoints"},
	{"TRUSTED_PROXIES", "trusted-proxies", "", "CIDRs whose X-Forwarded-For is believed"},
	{"NAME_POLICY", "name-policy", "strict", "strict or livekit"},
	{"RTC_REQUIRE_TOKEN", "rtc-require-token", "false", "the JSON dialect requires a token to join"},
	{"RTC_ALLOWED_ORIGINS", "rtc-allowed-origins", "*", "origins allowed to open /rtc"},
	{"ROOM_EMPTY_TIMEOUT", "room-empty-timeout", "300s", "close a room nobody joined after this"},
	{"ROOM_DEPARTURE_TIMEOUT", "room-departure-timeout", "20s", "close a room this long after the last participant left"},
	{"RESUME_WINDOW", "resume-window", "15s", "how long a dropped LiveKit participant stays resumable"},
	{"MAX_PARTICIPANTS", "max-participants", "0", "default per-room participant cap (0: none)"},
	{"RTC_MAX_CONNECTIONS_PER_IP", "rtc-max-connections-per-ip", "100", "concurrent /rtc connections per client IP (0: no cap)"},
	{"RTC_MAX_CONNECTIONS", "rtc-max-connections", "20000", "concurrent /rtc connections in all (0: no cap)"},
	{"RTC_MESSAGE_RATE", "rtc-message-rate", "20", "JSON dialect messages per second per connection"},
	{"RTC_MESSAGE_BURST", "rtc-message-burst", "40", "JSON dialect message burst per connection"},
	{"RTC_MAX_MESSAGE_BYTES", "rtc-max-message-bytes", "65536", "JSON dialect frame cap in bytes"},
	{"RTC_OUTBOX", "rtc-outbox", "256", "messages queued per connection before it is a slow consumer"},
	{"RTC_UDP_PORT", "rtc-udp-port", "", "WebRTC media port, one muxed UDP port (default PORT+2; a free one when PORT is 0)"},
	{"NODE_IP", "node-ip", "", "address advertised in ICE candidates (default 127.0.0.1 when BIND is loopback, else the first non-loopback address)"},
	{"ICE_SERVERS", "ice-servers", "", "STUN/TURN URLs handed to clients (comma-separated)"},
	{"WEBHOOK_URLS", "webhook-urls", "", "webhook receivers (comma-separated)"},
	{"WEBHOOK_API_KEY", "webhook-api-key", "", "key that signs webhooks (default LIVEKIT_API_KEY)"},
	{"ADMIN_API", "admin-api", "", "on or off (default on in development, off in production)"},
	{"JOURNAL_SIZE", "journal-size", "10000", "events kept by the journal"},
	{"JOURNAL_PAYLOADS", "journal-payloads", "false", "keep data payloads in the journal"},
	{"AGENTS_FILE", "agents-file", "", "JSON file of named scripted agents, dispatched like agent workers"},
	{"AGENT_DEFAULT", "agent-default", "", "scripted agent that joins every new room (assistant: the built-in one)"},
	{"ENVIRONMENT", "environment", Development, "development or production"},
	{"REDIS_URL", "redis-url", "", "optional shared state for several instances"},
	{"INSTANCE_ID", "instance-id", "", "this instance's id (default host name)"},
	{"INSTANCE_URL", "instance-url", "", "how other instances reach this one (default from NODE_IP and PORT)"},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"LOG_FORMAT", "log-format", "text", "text or json"},
	{"DEBUG", "debug", "", "any non-empty value other than false/0 means LOG_LEVEL=debug"},
}

// PrintSettings lists every setting with its flag, variable and default, as
// `livekit-mock serve --help` does.
func PrintSettings(w io.Writer) {
	for _, s := range settings {
		def := ""
		if s.def != "" {
			def = fmt.Sprintf(" (default %q)", s.def)
		}
		fmt.Fprintf(w, "  --%s, %s\n    \t%s%s\n", s.flag, s.env, s.usage, def)
	}
}

// ErrHelp is returned when --help was asked for; the usage has been printed.
var ErrHelp = flag.ErrHelp

// Load reads the configuration from getenv and args (flags win over the
// environment). Usage and flag errors go to out.
func Load(args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	vals, err := Parse(args, getenv, out)
	if err != nil {
		return nil, err
	}
	return FromSettings(vals)
}

// Parse reads the raw settings, by variable name, from getenv and args
// (flags win over the environment); unset ones are absent. Usage and flag
// errors go to out.
func Parse(args []string, getenv func(string) string, out io.Writer) (map[string]string, error) {
	fs := flag.NewFlagSet("livekit-mock", flag.ContinueOnError)
	fs.SetOutput(out)
	vals := make(map[string]*string, len(settings))
	for _, s := range settings {
		v := getenv(s.env)
		if v == "" {
			v = s.def
		}
		vals[s.env] = fs.String(s.flag, v, fmt.Sprintf("%s (%s)", s.usage, s.env))
	}
	set := func() map[string]string {
		m := make(map[string]string, len(vals))
		for k, v := range vals {
			if *v != "" {
				m[k] = *v
			}
		}
		return m
	}
	fs.Usage = func() {
		fmt.Fprintln(out, "Usage: livekit-mock [serve] [flags]\n\nEvery flag has an environment variable of the same meaning, shown in brackets.\nOther commands: livekit-mock help.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return set(), nil
}

// FromSettings validates settings given by variable name (as Parse returns
// them, or as a program embedding the server writes them); absent ones take
// their defaults. A name that is not a setting is refused.
func FromSettings(m map[string]string) (*Config, error) {
	defaults := make(map[string]string, len(settings))
	for _, s := range settings {
		defaults[s.env] = s.def
	}
	var errs []error
	for k := range m {
		if _, ok := defaults[k]; !ok {
			errs = append(errs, &Error{Var: k, Reason: "is not a setting of livekit-mock"})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	get := func(k string) string {
		if v, ok := m[k]; ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return defaults[k]
	}
	return build(get)
}

func build(get func(string) string) (*Config, error) {
	c := &Config{}
	var errs []error
	bad := func(v, reason string) { errs = append(errs, &Error{Var: v, Reason: reason}) }

	intIn := func(v string, lo, hi int) int {
		n, err := strconv.Atoi(get(v))
		if err != nil || n < lo || n > hi {
			bad(v, fmt.Sprintf("must be an integer from %d to %d, got %q", lo, hi, get(v)))
		}
		return n
	}
	dur := func(v string, lo, hi time.Duration) time.Duration {
		raw := get(v)
		d, err := time.ParseDuration(raw)
		if err != nil {
			// Plain numbers are seconds, as LiveKit's config counts them.
			if n, nerr := strconv.ParseFloat(raw, 64); nerr == nil && n >= 0 && n <= hi.Seconds() {
				d, err = time.Duration(n*float64(time.Second)), nil
			}
		}
		if err != nil || d < lo || d > hi {
			bad(v, fmt.Sprintf("must be a duration from %s to %s (like 60s), got %q", lo, hi, raw))
		}
		return d
	}
	boolean := func(v string) bool {
		switch strings.ToLower(get(v)) {
		case "1", "true", "yes", "on":
			return true
		case "", "0", "false", "no", "off":
			return false
		}
		bad(v, fmt.Sprintf("must be true or false, got %q", get(v)))
		return false
	}

	c.Port = intIn("PORT", 0, 65535)
	c.Bind = get("BIND")
	if c.Bind != "" {
		if _, err := netip.ParseAddr(strings.Trim(c.Bind, "[]")); err != nil && c.Bind != "localhost" {
			bad("BIND", "must be an IP address")
		}
	}
	c.APIKey = get("LIVEKIT_API_KEY")
	c.APISecret = get("LIVEKIT_API_SECRET")
	if c.APIKey == "" {
		bad("LIVEKIT_API_KEY", "must not be empty")
	}
	if c.APISecret == "" {
		bad("LIVEKIT_API_SECRET", "must not be empty")
	}
	c.Keys = map[string]string{c.APIKey: c.APISecret}
	extra, err := ParseKeys(get("LIVEKIT_KEYS"))
	if err != nil {
		bad("LIVEKIT_KEYS", err.Error())
	}
	for k, s := range extra {
		if old, dup := c.Keys[k]; dup && old != s {
			bad("LIVEKIT_KEYS", fmt.Sprintf("key %q is given two different secrets", k))
		}
		c.Keys[k] = s
	}

	c.WSURL = get("LIVEKIT_WS_URL")
	if c.WSURL == "" {
		c.WSURL = fmt.Sprintf("ws://localhost:%d", c.Port)
	} else if u, err := url.Parse(c.WSURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("LIVEKIT_WS_URL", "must be a ws://, wss://, http:// or https:// URL")
	}
	c.JWTSecret = get("JWT_SECRET")
	c.JWTExpiryHours = intIn("JWT_EXPIRY_HOURS", 1, 24)

	c.AllowedOrigins = splitList(get("ALLOWED_ORIGINS"))
	for _, o := range c.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			bad("ALLOWED_ORIGINS", err.Error())
		}
	}
	c.RateLimitMax = intIn("RATE_LIMIT_MAX", 0, 1_000_000_000)
	c.RateLimitWindow = dur("RATE_LIMIT_WINDOW", time.Second, 24*time.Hour)
	c.BodyLimit = int64(intIn("BODY_LIMIT", 64, 1<<20))
	c.TrustedProxies = splitList(get("TRUSTED_PROXIES"))
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				bad("TRUSTED_PROXIES", fmt.Sprintf("%q is not a CIDR or an IP address", p))
			}
		}
	}
	switch strings.ToLower(get("NAME_POLICY")) {
	case "strict", "livekit":
		c.NamePolicy = strings.ToLower(get("NAME_POLICY"))
	default:
		bad("NAME_POLICY", `must be "strict" or "livekit"`)
	}

	c.RTCRequireToken = boolean("RTC_REQUIRE_TOKEN")
	c.RTCAllowedOrigins = splitList(get("RTC_ALLOWED_ORIGINS"))
	for _, o := range c.RTCAllowedOrigins {
		if err := checkOrigin(o); err != nil {
			bad("RTC_ALLOWED_ORIGINS", err.Error())
		}
	}
	c.RoomEmptyTimeout = dur("ROOM_EMPTY_TIMEOUT", 0, 7*24*time.Hour)
	c.RoomDepartureTimeout = dur("ROOM_DEPARTURE_TIMEOUT", 0, 7*24*time.Hour)
	c.ResumeWindow = dur("RESUME_WINDOW", 0, time.Hour)
	c.MaxParticipants = intIn("MAX_PARTICIPANTS", 0, 1_000_000)
	c.RTCMaxConnectionsPerIP = intIn("RTC_MAX_CONNECTIONS_PER_IP", 0, 10_000_000)
	c.RTCMaxConnections = intIn("RTC_MAX_CONNECTIONS", 0, 10_000_000)
	rate, err := strconv.ParseFloat(get("RTC_MESSAGE_RATE"), 64)
	if err != nil || !(rate > 0 && rate <= 1e6) { // also refuses NaN
		bad("RTC_MESSAGE_RATE", fmt.Sprintf("must be a number above 0, got %q", get("RTC_MESSAGE_RATE")))
	}
	c.RTCMessageRate = rate
	c.RTCMessageBurst = intIn("RTC_MESSAGE_BURST", 1, 1_000_000)
	c.RTCMaxMessageBytes = int64(intIn("RTC_MAX_MESSAGE_BYTES", 512, 64<<20))
	c.RTCOutbox = intIn("RTC_OUTBOX", 1, 1_000_000)
	if get("RTC_UDP_PORT") == "" {
		c.RTCUDPPort = DefaultUDPPort(c.Port)
	} else {
		c.RTCUDPPort = intIn("RTC_UDP_PORT", 0, 65535)
	}
	c.NodeIP = get("NODE_IP")
	if c.NodeIP == "" {
		c.NodeIP = "127.0.0.1"
		if !c.Loopback() {
			c.NodeIP = firstNonLoopback()
		}
	} else if _, err := netip.ParseAddr(c.NodeIP); err != nil {
		bad("NODE_IP", "must be an IP address")
	}
	c.ICEServers = splitList(get("ICE_SERVERS"))
	for _, s := range c.ICEServers {
		if !strings.HasPrefix(s, "stun:") && !strings.HasPrefix(s, "turn:") && !strings.HasPrefix(s, "turns:") {
			bad("ICE_SERVERS", fmt.Sprintf("%q is not a stun:, turn: or turns: URL", s))
		}
	}

	c.WebhookURLs = splitList(get("WEBHOOK_URLS"))
	for _, w := range c.WebhookURLs {
		if u, err := url.Parse(w); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("WEBHOOK_URLS", fmt.Sprintf("%q is not an http(s) URL", w))
		}
	}
	c.WebhookAPIKey = get("WEBHOOK_API_KEY")
	if c.WebhookAPIKey == "" {
		c.WebhookAPIKey = c.APIKey
	} else if _, ok := c.Keys[c.WebhookAPIKey]; !ok {
		bad("WEBHOOK_API_KEY", "must be one of the configured keys")
	}

	c.Environment = strings.ToLower(get("ENVIRONMENT"))
	switch c.Environment {
	case Development, Production:
	case "dev":
		c.Environment = Development
	case "prod":
		c.Environment = Production
	default:
		bad("ENVIRONMENT", `must be "development" or "production"`)
	}
	switch strings.ToLower(get("ADMIN_API")) {
	case "":
		c.AdminAPI = c.Environment != Production
	case "on", "true", "1":
		c.AdminAPI = true
	case "off", "false", "0":
		c.AdminAPI = false
	default:
		bad("ADMIN_API", `must be "on" or "off"`)
	}
	c.JournalSize = intIn("JOURNAL_SIZE", 1, 10_000_000)
	c.JournalPayloads = boolean("JOURNAL_PAYLOADS")
	c.AgentsFile = get("AGENTS_FILE")
	if len(c.AgentsFile) > 4096 || strings.ContainsRune(c.AgentsFile, 0) {
		bad("AGENTS_FILE", "must be a path of at most 4096 bytes")
	}
	c.AgentDefault = get("AGENT_DEFAULT")
	switch {
	case c.AgentDefault == "":
	case !agentName.MatchString(c.AgentDefault):
		bad("AGENT_DEFAULT", "must be an agent name: 1-64 characters of A-Z a-z 0-9 _ . -")
	case c.AgentDefault != BuiltinAgent && c.AgentsFile == "":
		bad("AGENT_DEFAULT", fmt.Sprintf("must be %q (the built-in assistant) or an agent of AGENTS_FILE, which is not set", BuiltinAgent))
	}

	c.RedisURL = get("REDIS_URL")
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("REDIS_URL", "must be a redis:// or rediss:// URL")
		}
	}
	c.InstanceID = get("INSTANCE_ID")
	if c.InstanceID == "" {
		c.InstanceID, _ = os.Hostname()
	}
	c.InstanceURL = get("INSTANCE_URL")
	if c.InstanceURL == "" {
		c.InstanceURL = "http://" + net.JoinHostPort(c.NodeIP, strconv.Itoa(c.Port))
	}

	c.LogLevel = strings.ToLower(get("LOG_LEVEL"))
	if d := strings.ToLower(get("DEBUG")); d != "" && d != "false" && d != "0" {
		c.LogLevel = "debug"
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "must be debug, info, warn or error")
	}
	c.LogFormat = strings.ToLower(get("LOG_FORMAT"))
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("LOG_FORMAT", `must be "text" or "json"`)
	}

	if c.Production() {
		for k, s := range c.Keys {
			if IsDevSecret(s) {
				bad("LIVEKIT_API_SECRET", fmt.Sprintf("the secret of key %q is a well-known development value; production mode refuses it", k))
			} else if len(s) < 32 {
				bad("LIVEKIT_API_SECRET", fmt.Sprintf("the secret of key %q is shorter than 32 bytes; production mode refuses it", k))
			}
		}
		switch {
		case c.JWTSecret == "":
			bad("JWT_SECRET", "production mode requires it")
		case IsDevSecret(c.JWTSecret) || len(c.JWTSecret) < 32:
			bad("JWT_SECRET", "production mode requires at least 32 bytes that are not a development value")
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// ParseKeys reads LiveKit's key format: "key: secret" pairs, one per line or
// separated by commas.
func ParseKeys(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' }) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, errors.New(`each entry must be "key: secret"`)
		}
		if old, dup := out[k]; dup && old != v {
			return nil, fmt.Errorf("key %q is given two different secrets", k)
		}
		out[k] = v
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("%q is not an origin like http://localhost:3000", o)
	}
	return nil
}

func firstNonLoopback() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "127.0.0.1"
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}
