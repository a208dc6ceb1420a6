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
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Environment modes.
const (
	Development = "development"
	Production  = "production"
)

// Config holds every setting, in groups that each check their own rules
// (Validate). It is read once at start-up and never changed. The groups are
// embedded, so a setting is read as cfg.Port whatever its group.
type Config struct {
	Network
	Auth
	HTTP
	RTC
	Rooms
	Webhooks
	Admin
	Agents
	Cluster
	Logging

	Environment string

	// Warnings are accepted but risky settings, for the start-up log.
	Warnings []string
}

// Network is where the server listens and what it tells clients to reach.
type Network struct {
	Port       int
	Bind       string
	WSURL      string
	RTCUDPPort int
	NodeIP     string // "": the first non-loopback address, found by Resolve
	ICEServers []string
}

// Auth holds the key pairs LiveKit tokens are signed with and the secret of
// callers' own bearers.
type Auth struct {
	APIKey    string
	APISecret string
	// Keys holds every accepted key pair: the main one and those of LIVEKIT_KEYS.
	Keys           map[string]string
	JWTSecret      string
	JWTExpiryHours int
}

// HTTP holds the rules of the HTTP API.
type HTTP struct {
	AllowedOrigins  []string // empty: none; ["*"]: any
	RateLimitMax    int
	RateLimitWindow time.Duration
	BodyLimit       int64
	TrustedProxies  []string
	NamePolicy      string
}

// RTC holds the limits of the /rtc sockets.
type RTC struct {
	RTCRequireToken        bool
	RTCAllowedOrigins      []string // ["*"]: any
	RTCMaxConnectionsPerIP int
	RTCMaxConnections      int
	RTCMessageRate         float64
	RTCMessageBurst        int
	RTCMaxMessageBytes     int64
	RTCOutbox              int
}

// Rooms holds room lifetimes and caps.
type Rooms struct {
	RoomEmptyTimeout     time.Duration
	RoomDepartureTimeout time.Duration
	ResumeWindow         time.Duration
	MaxParticipants      int
}

// Webhooks holds the receivers of webhooks and the key that signs them.
type Webhooks struct {
	WebhookURLs   []string
	WebhookAPIKey string
}

// Admin holds the test-control settings.
type Admin struct {
	AdminAPI        bool
	AdminMediaDir   string // absolute once resolved; "": fake participants take no files
	JournalSize     int
	JournalPayloads bool
}

// Agents holds the scripted agents configured at start-up.
type Agents struct {
	// AgentsFile names a JSON file of named scripted agents (read at
	// start-up by the builder); AgentDefault names the scripted agent that
	// joins every new room ("assistant": the built-in one), empty for none.
	AgentsFile   string
	AgentDefault string
}

// BuiltinAgent is the name of the built-in scripted assistant
// (scripted.BuiltinName).
const BuiltinAgent = "assistant"

// Validate checks the agents file's path and the default agent's name.
func (a Agents) Validate() error {
	var errs []error
	if len(a.AgentsFile) > 4096 || strings.ContainsRune(a.AgentsFile, 0) {
		errs = append(errs, &Error{Var: "AGENTS_FILE", Reason: "must be a path of at most 4096 bytes"})
	}
	switch {
	case a.AgentDefault == "":
	case !isAgentName(a.AgentDefault):
		errs = append(errs, &Error{Var: "AGENT_DEFAULT", Reason: "must be an agent name: 1-64 characters of A-Z a-z 0-9 _ . -"})
	case a.AgentDefault != BuiltinAgent && a.AgentsFile == "":
		errs = append(errs, &Error{Var: "AGENT_DEFAULT", Reason: fmt.Sprintf("must be %q (the built-in assistant) or an agent of AGENTS_FILE, which is not set", BuiltinAgent)})
	}
	return errors.Join(errs...)
}

// isAgentName reports whether s is 1-64 characters of A-Z a-z 0-9 _ . -.
func isAgentName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// Cluster holds the optional shared state of several instances.
type Cluster struct {
	RedisURL    string
	InstanceID  string // "": the host name, found by Resolve
	InstanceURL string // "": from NODE_IP and PORT, made by Resolve
}

// Logging holds the log settings.
type Logging struct {
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
func (n Network) Loopback() bool {
	if n.Bind == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(n.Bind, "[]"))
	return err == nil && a.IsLoopback()
}

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
	{"ADMIN_MEDIA_DIR", "admin-media-dir", "", "directory fake participants' media files are read from (default none: no files)"},
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
	c, err := FromSettings(vals)
	if err != nil {
		return nil, err
	}
	return c, c.Resolve()
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
// their defaults. A name that is not a setting is refused. It looks at
// nothing but the settings: Resolve completes the result from the host.
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
		if v, ok := m[k]; ok { // present, even blank: ALLOWED_ORIGINS=" " allows none
			return strings.TrimSpace(v)
		}
		return defaults[k]
	}
	return build(get)
}

// build parses every setting (types and ranges), then checks the rules of
// each group and those between groups. It does no I/O: Resolve looks at the
// host.
func build(get func(string) string) (*Config, error) {
	p := &parser{get: get}
	c := &Config{Environment: p.environment()}
	c.Network = p.network()
	c.Auth = p.auth()
	c.HTTP = p.http()
	c.RTC = p.rtc()
	c.Rooms = p.rooms()
	c.Webhooks = Webhooks{WebhookURLs: splitList(get("WEBHOOK_URLS")), WebhookAPIKey: get("WEBHOOK_API_KEY")}
	c.Admin = p.admin(c.Environment)
	c.Agents = Agents{AgentsFile: get("AGENTS_FILE"), AgentDefault: get("AGENT_DEFAULT")}
	c.Cluster = Cluster{RedisURL: get("REDIS_URL"), InstanceID: get("INSTANCE_ID"), InstanceURL: get("INSTANCE_URL")}
	c.Logging = p.logging()
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	if c.WebhookAPIKey == "" {
		c.WebhookAPIKey = c.APIKey
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Warnings = c.warnings()
	return c, nil
}

// parser reads typed values, collecting an *Error for each bad one.
type parser struct {
	get  func(string) string
	errs []error
}

func (p *parser) bad(v, reason string) { p.errs = append(p.errs, &Error{Var: v, Reason: reason}) }

func (p *parser) intIn(v string, lo, hi int) int {
	n, err := strconv.Atoi(p.get(v))
	if err != nil || n < lo || n > hi {
		p.bad(v, fmt.Sprintf("must be an integer from %d to %d, got %q", lo, hi, p.get(v)))
	}
	return n
}

func (p *parser) dur(v string, lo, hi time.Duration) time.Duration {
	raw := p.get(v)
	d, err := time.ParseDuration(raw)
	if err != nil {
		// Plain numbers are seconds, as LiveKit's config counts them.
		if n, nerr := strconv.ParseFloat(raw, 64); nerr == nil && n >= 0 && n <= hi.Seconds() {
			d, err = time.Duration(n*float64(time.Second)), nil
		}
	}
	if err != nil || d < lo || d > hi {
		p.bad(v, fmt.Sprintf("must be a duration from %s to %s (like 60s), got %q", lo, hi, raw))
	}
	return d
}

func (p *parser) boolean(v string) bool {
	switch strings.ToLower(p.get(v)) {
	case "1", "true", "yes", "on":
		return true
	case "", "0", "false", "no", "off":
		return false
	}
	p.bad(v, fmt.Sprintf("must be true or false, got %q", p.get(v)))
	return false
}

func (p *parser) environment() string {
	switch env := strings.ToLower(p.get("ENVIRONMENT")); env {
	case Development, Production:
		return env
	case "dev":
		return Development
	case "prod":
		return Production
	}
	p.bad("ENVIRONMENT", `must be "development" or "production"`)
	return Development
}

func (p *parser) network() Network {
	n := Network{Port: p.intIn("PORT", 0, 65535), Bind: p.get("BIND"), WSURL: p.get("LIVEKIT_WS_URL"),
		NodeIP: p.get("NODE_IP"), ICEServers: splitList(p.get("ICE_SERVERS"))}
	if n.WSURL == "" {
		n.WSURL = fmt.Sprintf("ws://localhost:%d", n.Port)
	}
	if p.get("RTC_UDP_PORT") == "" {
		n.RTCUDPPort = DefaultUDPPort(n.Port)
	} else {
		n.RTCUDPPort = p.intIn("RTC_UDP_PORT", 0, 65535)
	}
	if n.NodeIP == "" && n.Loopback() {
		n.NodeIP = "127.0.0.1" // a loopback server advertises loopback
	}
	return n
}

func (p *parser) auth() Auth {
	a := Auth{APIKey: p.get("LIVEKIT_API_KEY"), APISecret: p.get("LIVEKIT_API_SECRET"),
		JWTSecret: p.get("JWT_SECRET"), JWTExpiryHours: p.intIn("JWT_EXPIRY_HOURS", 1, 24)}
	a.Keys = map[string]string{a.APIKey: a.APISecret}
	extra, err := ParseKeys(p.get("LIVEKIT_KEYS"))
	if err != nil {
		p.bad("LIVEKIT_KEYS", err.Error())
	}
	for k, s := range extra {
		if old, dup := a.Keys[k]; dup && old != s {
			p.bad("LIVEKIT_KEYS", fmt.Sprintf("key %q is given two different secrets", k))
		}
		a.Keys[k] = s
	}
	return a
}

func (p *parser) http() HTTP {
	return HTTP{
		AllowedOrigins:  splitList(p.get("ALLOWED_ORIGINS")),
		RateLimitMax:    p.intIn("RATE_LIMIT_MAX", 0, 1_000_000_000),
		RateLimitWindow: p.dur("RATE_LIMIT_WINDOW", time.Second, 24*time.Hour),
		BodyLimit:       int64(p.intIn("BODY_LIMIT", 64, 1<<20)),
		TrustedProxies:  splitList(p.get("TRUSTED_PROXIES")),
		NamePolicy:      strings.ToLower(p.get("NAME_POLICY")),
	}
}

func (p *parser) rtc() RTC {
	r := RTC{
		RTCRequireToken:        p.boolean("RTC_REQUIRE_TOKEN"),
		RTCAllowedOrigins:      splitList(p.get("RTC_ALLOWED_ORIGINS")),
		RTCMaxConnectionsPerIP: p.intIn("RTC_MAX_CONNECTIONS_PER_IP", 0, 10_000_000),
		RTCMaxConnections:      p.intIn("RTC_MAX_CONNECTIONS", 0, 10_000_000),
		RTCMessageBurst:        p.intIn("RTC_MESSAGE_BURST", 1, 1_000_000),
		RTCMaxMessageBytes:     int64(p.intIn("RTC_MAX_MESSAGE_BYTES", 512, 64<<20)),
		RTCOutbox:              p.intIn("RTC_OUTBOX", 1, 1_000_000),
	}
	rate, err := strconv.ParseFloat(p.get("RTC_MESSAGE_RATE"), 64)
	if err != nil || !(rate > 0 && rate <= 1e6) { // also refuses NaN
		p.bad("RTC_MESSAGE_RATE", fmt.Sprintf("must be a number above 0, got %q", p.get("RTC_MESSAGE_RATE")))
	}
	r.RTCMessageRate = rate
	return r
}

func (p *parser) rooms() Rooms {
	return Rooms{
		RoomEmptyTimeout:     p.dur("ROOM_EMPTY_TIMEOUT", 0, 7*24*time.Hour),
		RoomDepartureTimeout: p.dur("ROOM_DEPARTURE_TIMEOUT", 0, 7*24*time.Hour),
		ResumeWindow:         p.dur("RESUME_WINDOW", 0, time.Hour),
		MaxParticipants:      p.intIn("MAX_PARTICIPANTS", 0, 1_000_000),
	}
}

func (p *parser) admin(env string) Admin {
	a := Admin{AdminMediaDir: p.get("ADMIN_MEDIA_DIR"), JournalSize: p.intIn("JOURNAL_SIZE", 1, 10_000_000),
		JournalPayloads: p.boolean("JOURNAL_PAYLOADS")}
	switch strings.ToLower(p.get("ADMIN_API")) {
	case "":
		a.AdminAPI = env != Production
	case "on", "true", "1":
		a.AdminAPI = true
	case "off", "false", "0":
		a.AdminAPI = false
	default:
		p.bad("ADMIN_API", `must be "on" or "off"`)
	}
	return a
}

func (p *parser) logging() Logging {
	l := Logging{LogLevel: strings.ToLower(p.get("LOG_LEVEL")), LogFormat: strings.ToLower(p.get("LOG_FORMAT"))}
	if d := strings.ToLower(p.get("DEBUG")); d != "" && d != "false" && d != "0" {
		l.LogLevel = "debug"
	}
	return l
}

// Validate checks every group's rules, then those between groups (the
// production mode's secrets, the webhook key among the keys).
func (c *Config) Validate() error {
	errs := []error{c.Network.Validate(), c.Auth.Validate(), c.HTTP.Validate(), c.RTC.Validate(), c.Rooms.Validate(),
		c.Webhooks.Validate(), c.Admin.Validate(), c.Agents.Validate(), c.Cluster.Validate(), c.Logging.Validate()}
	bad := func(v, reason string) { errs = append(errs, &Error{Var: v, Reason: reason}) }
	if _, ok := c.Keys[c.WebhookAPIKey]; c.WebhookAPIKey != "" && !ok {
		bad("WEBHOOK_API_KEY", "must be one of the configured keys")
	}
	if c.Production() {
		for k, s := range c.Keys {
			// A secret of LIVEKIT_KEYS is reported under that variable.
			v := "LIVEKIT_API_SECRET"
			if k != c.APIKey {
				v = "LIVEKIT_KEYS"
			}
			if IsDevSecret(s) {
				bad(v, fmt.Sprintf("the secret of key %q is a well-known development value; production mode refuses it", k))
			} else if len(s) < 32 {
				bad(v, fmt.Sprintf("the secret of key %q is shorter than 32 bytes; production mode refuses it", k))
			}
		}
		switch {
		case c.JWTSecret == "":
			bad("JWT_SECRET", "production mode requires it")
		case IsDevSecret(c.JWTSecret) || len(c.JWTSecret) < 32:
			bad("JWT_SECRET", "production mode requires at least 32 bytes that are not a development value")
		}
		if k, same := c.jwtSecretIsAPISecret(); same {
			bad("JWT_SECRET", jwtSecretMessage(k)+"; production mode refuses it")
		}
	}
	return errors.Join(errs...)
}

// warnings are the risky settings development accepts.
func (c *Config) warnings() []string {
	if k, same := c.jwtSecretIsAPISecret(); same && !c.Production() {
		// Production refuses it (Validate); development endpoints are open
		// to any caller anyway.
		return []string{"JWT_SECRET " + jwtSecretMessage(k)}
	}
	return nil
}

// jwtSecretIsAPISecret reports the key whose API secret JWT_SECRET equals:
// then every participant token would be a caller bearer.
func (c *Config) jwtSecretIsAPISecret() (string, bool) {
	if c.JWTSecret == "" {
		return "", false
	}
	for k, s := range c.Keys {
		if s == c.JWTSecret {
			return k, true
		}
	}
	return "", false
}

func jwtSecretMessage(key string) string {
	return fmt.Sprintf("must differ from the API secret of key %q, or every participant token is a caller bearer", key)
}

// Validate checks the listen and advertised addresses.
func (n Network) Validate() error {
	var errs []error
	if n.Bind != "" && n.Bind != "localhost" {
		if _, err := netip.ParseAddr(strings.Trim(n.Bind, "[]")); err != nil {
			errs = append(errs, &Error{Var: "BIND", Reason: "must be an IP address"})
		}
	}
	if u, err := url.Parse(n.WSURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, &Error{Var: "LIVEKIT_WS_URL", Reason: "must be a ws://, wss://, http:// or https:// URL"})
	}
	if n.NodeIP != "" {
		if _, err := netip.ParseAddr(n.NodeIP); err != nil {
			errs = append(errs, &Error{Var: "NODE_IP", Reason: "must be an IP address"})
		}
	}
	for _, s := range n.ICEServers {
		if !strings.HasPrefix(s, "stun:") && !strings.HasPrefix(s, "turn:") && !strings.HasPrefix(s, "turns:") {
			errs = append(errs, &Error{Var: "ICE_SERVERS", Reason: fmt.Sprintf("%q is not a stun:, turn: or turns: URL", s)})
		}
	}
	return errors.Join(errs...)
}

// Validate checks that the main key pair is complete.
func (a Auth) Validate() error {
	var errs []error
	if a.APIKey == "" {
		errs = append(errs, &Error{Var: "LIVEKIT_API_KEY", Reason: "must not be empty"})
	}
	if a.APISecret == "" {
		errs = append(errs, &Error{Var: "LIVEKIT_API_SECRET", Reason: "must not be empty"})
	}
	return errors.Join(errs...)
}

// Validate checks the origins, proxies and name policy.
func (h HTTP) Validate() error {
	var errs []error
	for _, o := range h.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			errs = append(errs, &Error{Var: "ALLOWED_ORIGINS", Reason: err.Error()})
		}
	}
	for _, p := range h.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				errs = append(errs, &Error{Var: "TRUSTED_PROXIES", Reason: fmt.Sprintf("%q is not a CIDR or an IP address", p)})
			}
		}
	}
	if h.NamePolicy != "strict" && h.NamePolicy != "livekit" {
		errs = append(errs, &Error{Var: "NAME_POLICY", Reason: `must be "strict" or "livekit"`})
	}
	return errors.Join(errs...)
}

// Validate checks the origins allowed to open /rtc.
func (r RTC) Validate() error {
	var errs []error
	for _, o := range r.RTCAllowedOrigins {
		if err := checkOrigin(o); err != nil {
			errs = append(errs, &Error{Var: "RTC_ALLOWED_ORIGINS", Reason: err.Error()})
		}
	}
	return errors.Join(errs...)
}

// Validate has nothing to check beyond the ranges the parser enforces.
func (Rooms) Validate() error { return nil }

// Validate checks the receivers' URLs.
func (w Webhooks) Validate() error {
	var errs []error
	for _, u := range w.WebhookURLs {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			errs = append(errs, &Error{Var: "WEBHOOK_URLS", Reason: fmt.Sprintf("%q is not an http(s) URL", u)})
		}
	}
	return errors.Join(errs...)
}

// Validate has nothing to check beyond the parser's ranges; the media
// directory is looked at by Resolve.
func (Admin) Validate() error { return nil }

// Validate checks the Redis URL.
func (c Cluster) Validate() error {
	if c.RedisURL == "" {
		return nil
	}
	if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return &Error{Var: "REDIS_URL", Reason: "must be a redis:// or rediss:// URL"}
	}
	return nil
}

// Validate checks the level and format names.
func (l Logging) Validate() error {
	var errs []error
	switch l.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, &Error{Var: "LOG_LEVEL", Reason: "must be debug, info, warn or error"})
	}
	if l.LogFormat != "text" && l.LogFormat != "json" {
		errs = append(errs, &Error{Var: "LOG_FORMAT", Reason: `must be "text" or "json"`})
	}
	return errors.Join(errs...)
}

// Resolve fills in what depends on the host, which the parser does not look
// at: the advertised address (the first non-loopback one when NODE_IP is
// unset and the server listens beyond loopback), the instance id (the host
// name) and URL, and the media directory (made absolute; it must exist).
func (c *Config) Resolve() error {
	if c.NodeIP == "" {
		c.NodeIP = firstNonLoopback()
	}
	if c.InstanceID == "" {
		c.InstanceID, _ = os.Hostname()
	}
	if c.InstanceURL == "" {
		c.InstanceURL = "http://" + net.JoinHostPort(c.NodeIP, strconv.Itoa(c.Port))
	}
	if c.AdminMediaDir != "" {
		abs, err := filepath.Abs(c.AdminMediaDir)
		if st, serr := os.Stat(abs); err != nil || serr != nil || !st.IsDir() {
			return &Error{Var: "ADMIN_MEDIA_DIR", Reason: "must be an existing directory"}
		}
		c.AdminMediaDir = abs
	}
	return nil
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
