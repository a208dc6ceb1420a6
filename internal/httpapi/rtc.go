package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/signal/jsonwire"
)

// RTCDeps is what GET /rtc needs.
type RTCDeps struct {
	Hub      *signal.Hub
	Verifier *auth.Verifier
	Config   *config.Config
	Logger   *slog.Logger
	Registry *rooms.Registry
	IDs      *ids.Generator // welcome clientIds; nil: crypto/rand
	// LiveKit serves requests in the LiveKit dialect (a "protocol" query
	// parameter, or the /rtc/v1 path). Until that dialect exists (nil), they
	// get 404 "v1 RTC path not found" in plain text, which makes the SDKs
	// fall back to their v0 path, or fail cleanly.
	LiveKit gin.HandlerFunc
	// Homes relays a token-less JSON join_room to the room's home instance
	// (SPEC §12); nil without REDIS_URL.
	Homes signal.Homes
}

// msgV1NotFound is LiveKit's answer when a server has no /rtc/v1.
const msgV1NotFound = "v1 RTC path not found"

// isLiveKitRequest tells LiveKit SDK connections from JSON-dialect ones
// (SPEC §6): the /rtc/v1 path, a parameter only the SDKs send, or the token
// in an Authorization header (Rust sends it only there; a browser's JSON
// client cannot set one).
func isLiveKitRequest(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/rtc/v1") || strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return true
	}
	// Query parameters only the LiveKit SDKs send; the JSON dialect's clients
	// send at most access_token. The Go SDK in single-PeerConnection mode
	// dials /rtc with only access_token and join_request.
	q := r.URL.Query()
	for _, k := range []string{"protocol", "join_request", "sdk", "client_protocol", "auto_subscribe", "adaptive_stream"} {
		if q.Has(k) {
			return true
		}
	}
	return false
}

// rtcHandler serves GET /rtc. Order of checks: dialect, origin (403), upgrade
// headers (400), connection caps (429/503), access_token (401); then the
// hub runs the session and this handler blocks until the socket is done.
func rtcHandler(d RTCDeps) gin.HandlerFunc {
	cfg := d.Config
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	policy, _ := names.ParsePolicy(cfg.NamePolicy) // validated by config
	jsonOpts := signal.JSONOptions{
		Registry:     d.Registry,
		IDs:          d.IDs,
		Names:        policy,
		RequireToken: cfg.RTCRequireToken,
		Tokens:       tokenVerifier{d.Verifier},
		Server:       jsonwire.ServerInfo{Version: Version, Node: cfg.InstanceID, Region: "local", Protocol: 1},
		Limits: signal.Limits{
			ReadLimit: cfg.RTCMaxMessageBytes,
			Rate:      cfg.RTCMessageRate,
			Burst:     cfg.RTCMessageBurst,
		},
		Refuse: refuseUpgrade,
	}
	// An upgrade relayed here is served here, whatever the directory says.
	relayed := signal.NewJSONDialect(jsonOpts)
	jsonOpts.Homes = d.Homes
	dialect := signal.NewJSONDialect(jsonOpts)
	origins := newRTCOrigins(cfg.RTCAllowedOrigins)

	return func(c *gin.Context) {
		r := c.Request
		if isLiveKitRequest(r) {
			if d.LiveKit != nil {
				d.LiveKit(c)
				return
			}
			c.Header("Content-Type", "text/plain; charset=utf-8")
			c.AbortWithStatus(http.StatusNotFound)
			_, _ = c.Writer.WriteString(msgV1NotFound)
			return
		}
		if !origins.allowed(r.Header.Get("Origin")) {
			log.Warn("origin refused", "ip", c.ClientIP(), "route", "/rtc")
			abortError(c, codeOriginNotAllowed, msgOriginNotAllowed)
			return
		}
		if !signal.IsWebSocketUpgrade(r) {
			abortError(c, codeInvalidArgument, "Expected a WebSocket upgrade request")
			return
		}
		adm, err := d.Hub.Admit(c.ClientIP())
		if err != nil {
			log.Warn("connection refused", "ip", c.ClientIP(), "reason", err.Error())
			refuseAdmission(c, err)
			return
		}
		var grant *signal.Grant
		if tok := r.URL.Query().Get("access_token"); tok != "" {
			g, msg := verifyForJoin(d.Verifier, tok)
			if g == nil {
				adm.Release()
				log.Warn("bad token", "ip", c.ClientIP(), "route", "/rtc")
				abortError(c, codeUnauthenticated, msg)
				return
			}
			grant = g
		}
		dl := dialect
		if r.Header.Get(relayHeader) != "" {
			dl = relayed
		}
		err = d.Hub.Serve(c.Writer, r, signal.Request{Admission: adm, Dialect: dl, Grant: grant})
		switch {
		case err == nil, signal.IsHandshakeError(err):
			c.Abort() // the socket is done, or the refusal was written
		default:
			refuseAdmission(c, err)
		}
	}
}

func refuseAdmission(c *gin.Context, err error) {
	switch {
	case errors.Is(err, signal.ErrTooManyFromIP):
		abortError(c, codeTooManyConnection, "Too many connections from this IP")
	case errors.Is(err, signal.ErrTooManyConnections):
		abortError(c, codeUnavailable, "Too many connections")
	default:
		abortError(c, codeUnavailable, "Server is shutting down")
	}
}

// refuseUpgrade answers a handshake gorilla refused (bad version, key).
func refuseUpgrade(w http.ResponseWriter, status int, msg string) {
	code := codeInvalidArgument
	switch status {
	case http.StatusMethodNotAllowed:
		code = codeMethodNotAllowed
		w.Header().Set("Allow", http.MethodGet)
	case http.StatusForbidden:
		code = codeOriginNotAllowed
	case http.StatusBadRequest:
	default:
		code = codeInternal
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(statusOf(code))
	_ = json.NewEncoder(w).Encode(gin.H{"error": msg, "code": code})
}

// verifyForJoin verifies a token and checks what a join needs: a sub and
// roomJoin. It returns nil and the reason when refused.
func verifyForJoin(v *auth.Verifier, tok string) (*signal.Grant, string) {
	claims, err := v.Verify(tok)
	if err != nil {
		return nil, "Invalid token: " + err.Error()
	}
	g := grantOf(claims)
	switch {
	case g.Identity == "":
		return nil, "Token has no identity (sub)"
	case !g.RoomJoin:
		return nil, "Token does not grant roomJoin"
	}
	return g, ""
}

func grantOf(c *auth.Claims) *signal.Grant {
	v := c.Video
	g := &signal.Grant{
		Identity:   c.Identity,
		Name:       c.Name,
		Metadata:   c.Metadata,
		Attributes: c.Attributes,
		Permission: rooms.Permission{
			CanPublish:        v.GetCanPublish(),
			CanSubscribe:      v.GetCanSubscribe(),
			CanPublishData:    v.GetCanPublishData(),
			CanUpdateMetadata: v.GetCanUpdateOwnMetadata(),
		},
	}
	if v != nil {
		g.Room = v.Room
		g.RoomJoin = v.RoomJoin
		g.Permission.Hidden = v.Hidden
		for _, s := range v.CanPublishSources {
			g.Permission.CanPublishSources = append(g.Permission.CanPublishSources, strings.ToLower(s))
		}
	}
	return g
}

// tokenVerifier lets the JSON dialect verify join_room's token.
type tokenVerifier struct{ v *auth.Verifier }

func (t tokenVerifier) VerifyToken(tok string) (*signal.Grant, error) {
	claims, err := t.v.Verify(tok)
	if err != nil {
		return nil, err
	}
	return grantOf(claims), nil
}

// rtcOrigins is RTC_ALLOWED_ORIGINS: "*" allows any; a list allows requests
// without Origin (native SDKs, Node) and exact, case-insensitive matches.
type rtcOrigins struct {
	any  bool
	list map[string]bool
}

func newRTCOrigins(allowed []string) rtcOrigins {
	o := rtcOrigins{list: map[string]bool{}}
	for _, a := range allowed {
		a = strings.TrimSpace(a)
		if a == "*" {
			o.any = true
		}
		o.list[strings.ToLower(strings.TrimSuffix(a, "/"))] = true
	}
	return o
}

func (o rtcOrigins) allowed(origin string) bool {
	return o.any || origin == "" || o.list[strings.ToLower(origin)]
}
