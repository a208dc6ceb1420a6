package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// LiveKitDeps is what the LiveKit dialect of /rtc needs.
type LiveKitDeps struct {
	Hub      *signal.Hub
	Verifier *auth.Verifier
	Config   *config.Config
	Logger   *slog.Logger
	Registry *rooms.Registry
	// Engine answers the clients' PeerConnections; nil: signalling only.
	Engine *rtc.Engine
	Now    func() time.Time // nil: time.Now
	// NodeID is the ND_ id reported in server_info; "" leaves it out.
	NodeID string
}

// Refusals of the LiveKit paths that are not join checks (plain text).
const (
	bodyInvalidAPIKey   = "invalid API key"
	bodyInvalidToken    = "invalid authorization token: "
	bodyOriginRefused   = "origin not allowed"
	bodyTooManyFromIP   = "too many connections from this IP"
	bodyTooManyConns    = "too many connections"
	bodyShuttingDown    = "server is shutting down"
	bodyValidateSuccess = "success"
	bodyRoomFull        = "room has exceeded its max participants"
	// refreshMinTTL is the shortest life of a refresh_token (the real
	// server's default token TTL).
	refreshMinTTL = 10 * time.Minute
)

// LiveKitHandler serves the LiveKit SDKs on /rtc (with a protocol query
// parameter), /rtc/v1 and both validate paths. Checks run in the real
// server's order, all before the upgrade: Authorization header, token
// (401), non-WebSocket GET (404, empty), grants and join request (401/400),
// then the connection caps (429/503). A validate request answers exactly
// as the upgrade would, with 200 "success" instead of the upgrade.
func LiveKitHandler(d LiveKitDeps) gin.HandlerFunc {
	cfg := d.Config
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	var ice []pbwire.ICEServer
	if len(cfg.ICEServers) > 0 {
		ice = []pbwire.ICEServer{{URLs: cfg.ICEServers}}
	}
	lk := signal.NewLiveKit(signal.LiveKitOptions{
		Registry:   d.Registry,
		Engine:     d.Engine,
		ICEServers: ice,
		Server:     pbwire.ServerInfo{NodeID: d.NodeID},
		Now:        now,
		Logger:     log,
	})
	origins := newRTCOrigins(cfg.RTCAllowedOrigins)

	return func(c *gin.Context) {
		r := c.Request
		path := r.URL.Path
		validate := strings.HasSuffix(path, "/validate")
		v1 := strings.HasPrefix(path, "/rtc/v1")
		if validate {
			// Browsers fetch validate cross-origin to read why a join failed.
			c.Header("Access-Control-Allow-Origin", "*")
		}
		refuse := func(status int, body string) {
			c.Header("Content-Type", "text/plain; charset=utf-8")
			c.AbortWithStatus(status)
			_, _ = c.Writer.WriteString(body)
		}
		if !origins.allowed(r.Header.Get("Origin")) {
			log.Warn("origin refused", "ip", c.ClientIP(), "route", path)
			refuse(http.StatusForbidden, bodyOriginRefused)
			return
		}
		q := r.URL.Query()
		tok, err := pbwire.ExtractToken(r.Header, q)
		if err != nil {
			refuseHTTP(c, err, refuse)
			return
		}
		var claims *auth.Claims
		if tok != "" {
			if claims, err = d.Verifier.Verify(tok); err != nil {
				log.Warn("bad token", "ip", c.ClientIP(), "route", path, "code", string(auth.CodeOf(err)))
				if auth.CodeOf(err) == auth.CodeUnknownKey {
					refuse(http.StatusUnauthorized, bodyInvalidAPIKey)
				} else {
					refuse(http.StatusUnauthorized, bodyInvalidToken+err.Error())
				}
				return
			}
		}
		if !validate && !signal.IsWebSocketUpgrade(r) {
			c.AbortWithStatus(http.StatusNotFound)
			return
		}
		pc := joinClaims(claims)
		if pc == nil || !pc.HasVideoGrant {
			refuse(http.StatusUnauthorized, pbwire.BodyNoPermissions)
			return
		}
		params, err := pbwire.ParseJoinQuery(q, v1, validate)
		if err != nil {
			refuseHTTP(c, err, refuse)
			return
		}
		if herr := pbwire.CheckJoin(pc, params); herr != nil {
			refuse(herr.Status, herr.Body)
			return
		}
		// A full room is refused here, as the real server does (500, its
		// error text): the SDKs ignore a leave while they join, so a
		// refusal after the upgrade would cost them their join timeout.
		if !params.Reconnect && d.Registry != nil && errors.Is(d.Registry.CheckJoin(pc.Room, pc.Identity, claims.Kind), rooms.ErrRoomFull) {
			log.Info("join refused", "ip", c.ClientIP(), "route", path, "reason", "room full")
			refuse(http.StatusInternalServerError, bodyRoomFull)
			return
		}
		if validate {
			c.Header("Content-Type", "text/plain; charset=utf-8")
			c.String(http.StatusOK, bodyValidateSuccess)
			return
		}
		adm, err := d.Hub.Admit(c.ClientIP())
		if err != nil {
			log.Warn("connection refused", "ip", c.ClientIP(), "reason", err.Error())
			refuseAdmissionPlain(err, refuse)
			return
		}
		g := grantOf(claims)
		join := signal.LiveKitJoin{Grant: *g, Kind: claims.Kind, Params: params, Refresh: refresher(cfg, claims, now)}
		err = d.Hub.Serve(c.Writer, r, signal.Request{Admission: adm, Dialect: lk.Dialect(join), Grant: g})
		switch {
		case err == nil, signal.IsHandshakeError(err):
			c.Abort()
		default:
			refuseAdmissionPlain(err, refuse)
		}
	}
}

func refuseHTTP(c *gin.Context, err error, refuse func(int, string)) {
	var he *pbwire.HTTPError
	if errors.As(err, &he) {
		refuse(he.Status, he.Body)
		return
	}
	refuse(http.StatusBadRequest, "bad request")
}

func refuseAdmissionPlain(err error, refuse func(int, string)) {
	switch {
	case errors.Is(err, signal.ErrTooManyFromIP):
		refuse(http.StatusTooManyRequests, bodyTooManyFromIP)
	case errors.Is(err, signal.ErrTooManyConnections):
		refuse(http.StatusServiceUnavailable, bodyTooManyConns)
	default:
		refuse(http.StatusServiceUnavailable, bodyShuttingDown)
	}
}

// joinClaims reduces verified claims to what pbwire.CheckJoin looks at; nil
// when the request had no token.
func joinClaims(c *auth.Claims) *pbwire.Claims {
	if c == nil {
		return nil
	}
	v := c.Video
	out := &pbwire.Claims{
		Identity:             c.Identity,
		Name:                 c.Name,
		HasVideoGrant:        v != nil,
		CanPublish:           v.GetCanPublish(),
		CanUpdateOwnMetadata: v.GetCanUpdateOwnMetadata(),
	}
	if v != nil {
		out.Room = v.Room
		out.RoomJoin = v.RoomJoin
	}
	return out
}

// refresher mints the refresh_token of a session: the same claims, signed
// with the key that signed the original, valid for the larger of 10 min and
// what the original had left (as the real server does).
func refresher(cfg *config.Config, c *auth.Claims, now func() time.Time) func() (string, error) {
	secret, ok := cfg.Keys[c.Issuer]
	if !ok || secret == "" {
		return nil
	}
	iss := auth.NewIssuer(c.Issuer, secret, now)
	claims := *c
	return func() (string, error) {
		ttl := refreshMinTTL
		if left := claims.ExpiresAt.Sub(now()); left > ttl {
			ttl = left
		}
		tok, _, err := iss.Mint(claims, ttl)
		return tok, err
	}
}
