package signal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/lkproto"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// Refusals of the LiveKit paths that are not join checks (plain text).
const (
	bodyInvalidAPIKey   = "invalid API key"
	bodyInvalidToken    = "invalid authorization token: "
	bodyOriginRefused   = "origin not allowed"
	bodyValidateSuccess = "success"
	bodyRoomFull        = "room has exceeded its max participants"
	// refreshMinTTL is the shortest life of a refresh_token (the real
	// server's default token TTL).
	refreshMinTTL = 10 * time.Minute
)

// Serve answers the LiveKit SDKs on /rtc (with their query parameters),
// /rtc/v1 and both validate paths. Checks run in the real server's order,
// all before the upgrade: Authorization header, token (401), non-WebSocket
// GET (404, empty), grants and join request (401/400), then the room's cap
// and the connection caps (500/429/503). A validate request is answered
// exactly as the upgrade would be, with 200 "success" instead of the upgrade.
func (l *LiveKit) Serve(w http.ResponseWriter, r *http.Request, ip string) *Refusal {
	o, log := &l.o, l.o.Logger
	path := r.URL.Path
	validate := strings.HasSuffix(path, "/validate")
	v1 := strings.HasPrefix(path, "/rtc/v1")
	if validate {
		// Browsers fetch validate cross-origin to read why a join failed.
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	if !l.origins.allowed(r.Header.Get("Origin")) {
		log.Warn("origin refused", "ip", ip, "route", path)
		return &Refusal{Status: http.StatusForbidden, Body: bodyOriginRefused}
	}
	q := r.URL.Query()
	tok, err := extractToken(r)
	if err != nil {
		return plainRefusal(err)
	}
	var claims *auth.Claims
	if tok != "" {
		if claims, err = o.Verifier.Verify(tok); err != nil {
			log.Warn("bad token", "ip", ip, "route", path, "code", string(auth.CodeOf(err)))
			if auth.CodeOf(err) == auth.CodeUnknownKey {
				return &Refusal{Status: http.StatusUnauthorized, Body: bodyInvalidAPIKey}
			}
			return &Refusal{Status: http.StatusUnauthorized, Body: bodyInvalidToken + err.Error()}
		}
	}
	if !validate && !IsWebSocketUpgrade(r) {
		return &Refusal{Status: http.StatusNotFound}
	}
	pc := joinClaims(claims)
	if pc == nil || !pc.HasVideoGrant {
		return &Refusal{Status: http.StatusUnauthorized, Body: bodyNoPermissions}
	}
	params, err := pbwire.ParseJoinQuery(q, v1, validate)
	if err != nil {
		return plainRefusal(err)
	}
	if herr := pbwire.CheckJoin(pc, params); herr != nil {
		return &Refusal{Status: herr.Status, Body: herr.Body}
	}
	// A room another instance holds is served there: the validate call is
	// asked of it, the session relayed to it (relay.go).
	if o.Homes != nil && r.Header.Get(RelayHeader) == "" {
		if home, remote := o.Homes.Remote(r.Context(), pc.Room); remote {
			if validate {
				return l.validateAt(w, r, ip, home)
			}
			adm, err := o.Hub.Admit(ip)
			if err != nil {
				log.Warn("connection refused", "ip", ip, "reason", err.Error())
				return admissionRefusal(err, true)
			}
			return relayUpgrade(o.Hub, o.Homes, w, r, ip, home, adm, rooms.DialectLiveKit, o.Limits,
				&Refusal{Status: http.StatusServiceUnavailable, Body: "the room's home instance is unreachable"})
		}
	}
	// A full room is refused here, as the real server does (500, its error
	// text): the SDKs ignore a leave while they join, so a refusal after the
	// upgrade would cost them their join timeout.
	if !params.Reconnect && o.Registry != nil && errors.Is(o.Registry.CheckJoin(pc.Room, pc.Identity, claims.Kind), rooms.ErrRoomFull) {
		log.Info("join refused", "ip", ip, "route", path, "reason", "room full")
		return &Refusal{Status: http.StatusInternalServerError, Body: bodyRoomFull}
	}
	if validate {
		writePlain(w, http.StatusOK, bodyValidateSuccess)
		return nil
	}
	adm, err := o.Hub.Admit(ip)
	if err != nil {
		log.Warn("connection refused", "ip", ip, "reason", err.Error())
		return admissionRefusal(err, true)
	}
	g := GrantOf(claims)
	join := LiveKitJoin{Grant: *g, Kind: claims.Kind, Params: params, Refresh: l.refresher(claims),
		RoomAgents: l.tokenRoomAgents(claims)}
	if err := o.Hub.Serve(w, r, Request{Admission: adm, Dialect: l.Dialect(join), Grant: g}); err != nil && !IsHandshakeError(err) {
		return admissionRefusal(err, true)
	}
	return nil
}

// bodyNoPermissions is the real server's answer to a token without the
// grant the path needs.
const bodyNoPermissions = pbwire.BodyNoPermissions

// extractToken reads the token from the Authorization header or access_token.
func extractToken(r *http.Request) (string, error) {
	return pbwire.ExtractToken(r.Header, r.URL.Query())
}

// plainRefusal is the real server's answer to a request it cannot parse.
func plainRefusal(err error) *Refusal {
	var he *pbwire.HTTPError
	if errors.As(err, &he) {
		return &Refusal{Status: he.Status, Body: he.Body}
	}
	return &Refusal{Status: http.StatusBadRequest, Body: "bad request"}
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
func (l *LiveKit) refresher(c *auth.Claims) func() (string, error) {
	secret, ok := l.o.Keys[c.Issuer]
	if !ok || secret == "" {
		return nil
	}
	now := l.o.Now
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

// tokenRoomAgents are the agents of the token's roomConfig (LiveKit's
// RoomConfiguration JSON), for a room the join creates; nil when it lists
// none. A roomConfig that does not parse is ignored, with a warning.
func (l *LiveKit) tokenRoomAgents(c *auth.Claims) []rooms.AgentDispatch {
	if len(c.RoomConfig) == 0 {
		return nil
	}
	list, cut, err := lkproto.RoomConfigAgents(c.RoomConfig, rooms.MaxAgents)
	if err != nil {
		l.o.Logger.Warn("token roomConfig ignored: it is not a LiveKit RoomConfiguration", "identity", c.Identity, "err", err)
		return nil
	}
	if cut > 0 {
		l.o.Logger.Warn("token roomConfig agents cut", "identity", c.Identity, "agents", len(list)+cut, "kept", len(list))
	}
	return list
}

// validateAt asks the room's home instance the validate question: its
// answer is the answer, as the upgrade would be relayed there.
func (l *LiveKit) validateAt(w http.ResponseWriter, r *http.Request, ip, home string) *Refusal {
	unreachable := &Refusal{Status: http.StatusServiceUnavailable, Body: "the room's home instance is unreachable"}
	u, err := url.Parse(home)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return unreachable
	}
	u.Path, u.RawQuery = strings.TrimSuffix(u.Path, "/")+r.URL.Path, r.URL.RawQuery
	ctx, cancel := context.WithTimeout(r.Context(), relayDialWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return unreachable
	}
	req.Header = l.o.Homes.RelayHeader(ip)
	if a := r.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		l.o.Logger.Warn("relay: home unreachable", "ip", ip, "home", home, "err", err)
		return unreachable
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, relayRefusalCap))
	if resp.StatusCode == http.StatusOK {
		writePlain(w, http.StatusOK, string(body))
		return nil
	}
	return &Refusal{Status: resp.StatusCode, Body: string(body), ContentType: resp.Header.Get("Content-Type")}
}
