package signal

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Refusal answers an /rtc request refused before the upgrade. The JSON
// dialect refuses with an error code of the API (Code; the HTTP layer's one
// table gives its status), the LiveKit dialect as the real server does, with
// a status and a plain-text body.
type Refusal struct {
	Code   string // JSON dialect: "unauthenticated", "invalid_argument", ...
	Status int    // LiveKit dialect: the real server's status
	Body   string // the sentence (JSON) or the plain text (LiveKit)
	// ContentType, when set, is the Content-Type of Body as another
	// instance answered it (a relayed upgrade's refusal, passed back as is).
	ContentType string
}

func (r *Refusal) Error() string { return r.Body }

// RelayHeader marks a request another instance relayed to this one, the
// room's home: it is served here whatever the directory says.
const RelayHeader = "X-Livekit-Mock-Relay"

// msgV1NotFound is LiveKit's answer when a server has no /rtc/v1.
const msgV1NotFound = "v1 RTC path not found"

// Endpoint is GET /rtc and /rtc/v1 with both dialects behind it.
type Endpoint struct {
	json *JSONEndpoint
	lk   *LiveKit // nil: LiveKit requests get 404 "v1 RTC path not found"
}

// NewEndpoint serves the JSON dialect and, when lk is not nil, LiveKit's.
func NewEndpoint(json *JSONEndpoint, lk *LiveKit) *Endpoint { return &Endpoint{json: json, lk: lk} }

// LiveKit is the LiveKit dialect, or nil.
func (e *Endpoint) LiveKit() *LiveKit { return e.lk }

// Serve tells the dialects apart (IsLiveKitRequest), runs the chosen one's
// checks and, when they pass, the session; it returns once the socket is done
// (or handed to the hub's goroutines). ip is the client address as the HTTP
// layer computed it (trusted proxies applied).
func (e *Endpoint) Serve(w http.ResponseWriter, r *http.Request, ip string) *Refusal {
	if IsLiveKitRequest(r) {
		if e.lk == nil {
			return &Refusal{Status: http.StatusNotFound, Body: msgV1NotFound}
		}
		return e.lk.Serve(w, r, ip)
	}
	return e.json.Serve(w, r, ip)
}

// IsLiveKitRequest tells LiveKit SDK connections from JSON-dialect ones: the
// /rtc/v1 path, a query parameter only the SDKs send, or the token in an
// Authorization header (Rust sends it only there; a browser's JSON client
// cannot set one). The JSON dialect's clients send at most access_token; the
// Go SDK in single-PeerConnection mode dials /rtc with only access_token and
// join_request.
func IsLiveKitRequest(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/rtc/v1") || strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return true
	}
	for k := range r.URL.Query() {
		switch k {
		case "protocol", "join_request", "sdk", "client_protocol", "auto_subscribe", "adaptive_stream":
			return true
		}
	}
	return false
}

// JSONEndpointOptions configure the JSON dialect's side of /rtc.
type JSONEndpointOptions struct {
	JSONOptions // the dialect; Tokens is set from Verifier
	Hub         *Hub
	Verifier    *auth.Verifier
	Origins     []string // RTC_ALLOWED_ORIGINS
	Logger      *slog.Logger
}

// JSONEndpoint owns the JSON dialect's checks before the upgrade: origin,
// upgrade headers, connection caps, the access_token (verified, granting
// roomJoin, names within the policy), then the session.
type JSONEndpoint struct {
	o       JSONEndpointOptions
	origins origins
	dialect Dialect // relays a token-less join_room to the room's home
	relayed Dialect // serves here: the request was relayed to this home
}

// NewJSONEndpoint builds the JSON dialect's endpoint.
func NewJSONEndpoint(o JSONEndpointOptions) *JSONEndpoint {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Tokens = tokenVerifier{o.Verifier}
	home := o.JSONOptions
	home.Homes = nil
	return &JSONEndpoint{o: o, origins: newOrigins(o.Origins), dialect: NewJSONDialect(o.JSONOptions), relayed: NewJSONDialect(home)}
}

// Serve checks an upgrade in the JSON dialect and runs its session.
func (e *JSONEndpoint) Serve(w http.ResponseWriter, r *http.Request, ip string) *Refusal {
	log := e.o.Logger
	if !e.origins.allowed(r.Header.Get("Origin")) {
		log.Warn("origin refused", "ip", ip, "route", "/rtc")
		return &Refusal{Code: "origin_not_allowed", Body: "Origin not allowed"}
	}
	if !IsWebSocketUpgrade(r) {
		return &Refusal{Code: "invalid_argument", Body: "Expected a WebSocket upgrade request"}
	}
	adm, err := e.o.Hub.Admit(ip)
	if err != nil {
		log.Warn("connection refused", "ip", ip, "reason", err.Error())
		return admissionRefusal(err, false)
	}
	var grant *Grant
	if tok := r.URL.Query().Get("access_token"); tok != "" {
		g, ref := verifyForJoin(e.o.Verifier, e.o.Names, tok)
		if ref != nil {
			adm.Release()
			log.Warn("bad token", "ip", ip, "route", "/rtc", "code", ref.Code)
			return ref
		}
		grant = g
	}
	dl := e.dialect
	if r.Header.Get(RelayHeader) != "" {
		dl = e.relayed
	} else if grant != nil && e.o.Homes != nil {
		// The token names a room another instance holds: served there.
		if home, remote := e.o.Homes.Remote(r.Context(), grant.Room); remote {
			return relayUpgrade(e.o.Hub, e.o.Homes, w, r, ip, home, adm, rooms.DialectJSON, e.o.Limits,
				&Refusal{Code: "unavailable", Body: "The room's home instance is unreachable"})
		}
	}
	if err := e.o.Hub.Serve(w, r, Request{Admission: adm, Dialect: dl, Grant: grant}); err != nil && !IsHandshakeError(err) {
		return admissionRefusal(err, false)
	}
	return nil
}

// admissionRefusal answers a connection the hub did not admit: in the JSON
// dialect's codes, or in LiveKit's plain text.
func admissionRefusal(err error, plain bool) *Refusal {
	switch {
	case errors.Is(err, ErrTooManyFromIP) && plain:
		return &Refusal{Status: http.StatusTooManyRequests, Body: "too many connections from this IP"}
	case errors.Is(err, ErrTooManyFromIP):
		return &Refusal{Code: "too_many_connections", Body: "Too many connections from this IP"}
	case errors.Is(err, ErrTooManyConnections) && plain:
		return &Refusal{Status: http.StatusServiceUnavailable, Body: "too many connections"}
	case errors.Is(err, ErrTooManyConnections):
		return &Refusal{Code: "unavailable", Body: "Too many connections"}
	case plain:
		return &Refusal{Status: http.StatusServiceUnavailable, Body: "server is shutting down"}
	}
	return &Refusal{Code: "unavailable", Body: "Server is shutting down"}
}

// verifyForJoin verifies a token and checks what a join needs, as the
// LiveKit dialect does before upgrading: a valid token granting roomJoin
// (else unauthenticated, 401), then a sub and a room that pass the name
// policy (else invalid_argument, 400).
func verifyForJoin(v *auth.Verifier, policy names.Policy, tok string) (*Grant, *Refusal) {
	claims, err := v.Verify(tok)
	if err != nil {
		return nil, &Refusal{Code: "unauthenticated", Body: "Invalid token: " + err.Error()}
	}
	g := GrantOf(claims)
	if !g.RoomJoin {
		return nil, &Refusal{Code: "unauthenticated", Body: "Token does not grant roomJoin"}
	}
	if err := CheckGrantNames(policy, g); err != nil {
		return nil, &Refusal{Code: "invalid_argument", Body: err.Error()}
	}
	return g, nil
}

// GrantOf reduces verified claims to what a session needs.
func GrantOf(c *auth.Claims) *Grant {
	v := c.Video
	g := &Grant{
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

func (t tokenVerifier) VerifyToken(tok string) (*Grant, error) {
	if t.v == nil {
		return nil, errors.New("tokens are not accepted")
	}
	claims, err := t.v.Verify(tok)
	if err != nil {
		return nil, err
	}
	return GrantOf(claims), nil
}

// origins is RTC_ALLOWED_ORIGINS: "*" allows any; a list allows requests
// without Origin (native SDKs, Node) and exact, case-insensitive matches.
type origins struct {
	any  bool
	list map[string]bool
}

func newOrigins(allowed []string) origins {
	o := origins{list: map[string]bool{}}
	for _, a := range allowed {
		a = strings.TrimSpace(a)
		if a == "*" {
			o.any = true
		}
		o.list[strings.ToLower(strings.TrimSuffix(a, "/"))] = true
	}
	return o
}

func (o origins) allowed(origin string) bool {
	return o.any || origin == "" || o.list[strings.ToLower(origin)]
}
