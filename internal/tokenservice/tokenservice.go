// Package tokenservice holds the semantics of the AI-HR token server's
// endpoints (SPEC §5.3): POST /token/room, POST /token/join and
// POST /token/validate. It knows nothing of HTTP: the caller hands it a
// Request whose JSON types are already checked and renders what it returns.
//
// Decisions worth knowing:
//   - room_name and participant_name are required; participant_identity is
//     optional and defaults to user_<uuid>, as on /api/livekit/token.
//   - Every permission is written into the token explicitly (true or false),
//     so that what the caller asked for is what any LiveKit verifier reads,
//     whatever its own defaults.
//   - ttl_hours must be a whole number from 1 to 24.
package tokenservice

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/names"
)

// TTL bounds of ttl_hours and JWT_EXPIRY_HOURS.
const (
	MinTTLHours = 1
	MaxTTLHours = 24
)

// Minter signs access tokens (*auth.Issuer).
type Minter interface {
	Mint(c auth.Claims, ttl time.Duration) (token string, expiresAt time.Time, err error)
}

// TokenVerifier checks access tokens (*auth.Verifier).
type TokenVerifier interface {
	Verify(token string) (*auth.Claims, error)
}

// Reserver creates a room ahead of its first join (the room registry).
type Reserver interface {
	Reserve(room string) error
}

// Options configures New.
type Options struct {
	Minter     Minter
	Verifier   TokenVerifier
	Names      names.Policy
	WSURL      string        // returned as ws_url
	DefaultTTL time.Duration // JWT_EXPIRY_HOURS; zero: 24 h
	// NewIdentity makes the identity of a request without one; it must
	// return a fresh value each time.
	NewIdentity func() string
	// Rooms reserves the room of POST /token/room; nil: no reservation.
	Rooms Reserver
}

// Service answers the token-service endpoints. It is safe for concurrent
// use.
type Service struct {
	o Options
}

// New returns a Service.
func New(o Options) *Service {
	if o.DefaultTTL <= 0 {
		o.DefaultTTL = MaxTTLHours * time.Hour
	}
	return &Service{o: o}
}

// Permissions are the permission flags of a request; nil means absent, so
// the default applies.
type Permissions struct {
	CanPublish        *bool // can_publish → canPublish, default true
	CanSubscribe      *bool // can_subscribe → canSubscribe, default true
	CanPublishData    *bool // can_publish_data → canPublishData, default true
	CanUpdateMetadata *bool // can_update_metadata → canUpdateOwnMetadata, default false
	CanCreateRoom     *bool // can_create_room → roomCreate, default false
	CanJoinRoom       *bool // can_join_room → roomJoin, default true
}

// Request is the body of /token/room and /token/join with its JSON types
// already checked. Pointer fields are nil when the key was absent.
type Request struct {
	RoomName            string
	ParticipantName     string
	ParticipantIdentity *string
	Metadata            string
	Permissions         Permissions
	// TTLHours is ttl_hours as the JSON number it was.
	TTLHours *float64
}

// Response is the answer of /token/room and /token/join.
type Response struct {
	Token               string `json:"token"`
	RoomName            string `json:"room_name"`
	ParticipantIdentity string `json:"participant_identity"`
	ParticipantName     string `json:"participant_name"`
	WSURL               string `json:"ws_url"`
	ExpiresAt           string `json:"expires_at"` // RFC 3339, UTC, milliseconds
	ExpiresIn           int64  `json:"expires_in"` // seconds
}

// FieldError is a request the service refuses: Field names the offending
// field; the message never repeats its value.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Msg }

// ErrReserve wraps a failure of the room registry on /token/room.
var ErrReserve = errors.New("tokenservice: reserving the room failed")

// ErrTooLarge is returned when the token would exceed what verifiers accept
// (8 KiB); in practice only huge metadata gets there.
var ErrTooLarge = &FieldError{Field: "metadata", Msg: "the token would be longer than 8 KiB; shorten metadata"}

// Room mints a token and reserves its room (POST /token/room).
func (s *Service) Room(r Request) (*Response, error) { return s.mint(r, true) }

// Join mints a token without touching the registry (POST /token/join).
func (s *Service) Join(r Request) (*Response, error) { return s.mint(r, false) }

func (s *Service) mint(r Request, reserve bool) (*Response, error) {
	identity, ttl, err := s.check(r)
	if err != nil {
		return nil, err
	}
	p := r.Permissions
	token, exp, err := s.o.Minter.Mint(auth.Claims{
		Identity: identity,
		Name:     r.ParticipantName,
		Metadata: r.Metadata,
		Video: &auth.VideoGrant{
			Room:                 r.RoomName,
			RoomJoin:             or(p.CanJoinRoom, true),
			RoomCreate:           or(p.CanCreateRoom, false),
			CanPublish:           auth.Bool(or(p.CanPublish, true)),
			CanSubscribe:         auth.Bool(or(p.CanSubscribe, true)),
			CanPublishData:       auth.Bool(or(p.CanPublishData, true)),
			CanUpdateOwnMetadata: auth.Bool(or(p.CanUpdateMetadata, false)),
		},
	}, ttl)
	if errors.Is(err, auth.ErrTokenTooLarge) {
		return nil, ErrTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("tokenservice: minting: %w", err)
	}
	// Reserve only once the token exists, so a refused request leaves no room.
	if reserve && s.o.Rooms != nil {
		if err := s.o.Rooms.Reserve(r.RoomName); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrReserve, err)
		}
	}
	return &Response{
		Token:               token,
		RoomName:            r.RoomName,
		ParticipantIdentity: identity,
		ParticipantName:     r.ParticipantName,
		WSURL:               s.o.WSURL,
		ExpiresAt:           Timestamp(exp),
		ExpiresIn:           int64(ttl / time.Second),
	}, nil
}

// check validates r in this order: required fields, names, metadata,
// ttl_hours. It returns the identity and TTL to mint with.
func (s *Service) check(r Request) (string, time.Duration, error) {
	if r.RoomName == "" || r.ParticipantName == "" {
		field := "room_name"
		if r.RoomName != "" {
			field = "participant_name"
		}
		return "", 0, &FieldError{Field: field, Msg: "room_name and participant_name are required"}
	}
	pol := s.o.Names
	if err := pol.Room("room_name", r.RoomName); err != nil {
		return "", 0, nameError(err)
	}
	if err := pol.DisplayName("participant_name", r.ParticipantName); err != nil {
		return "", 0, nameError(err)
	}
	identity := ""
	if r.ParticipantIdentity != nil {
		identity = *r.ParticipantIdentity
		if err := pol.Identity("participant_identity", identity); err != nil {
			return "", 0, nameError(err)
		}
	}
	if err := pol.Metadata("metadata", r.Metadata); err != nil {
		return "", 0, nameError(err)
	}
	ttl := s.o.DefaultTTL
	if r.TTLHours != nil {
		h := *r.TTLHours
		if math.IsNaN(h) || h != math.Trunc(h) || h < MinTTLHours || h > MaxTTLHours {
			return "", 0, &FieldError{Field: "ttl_hours",
				Msg: fmt.Sprintf("ttl_hours must be a whole number of hours from %d to %d", MinTTLHours, MaxTTLHours)}
		}
		ttl = time.Duration(h) * time.Hour
	}
	if identity == "" {
		identity = "user_" + s.o.NewIdentity()
	}
	return identity, ttl, nil
}

func nameError(err error) error {
	var ne *names.Error
	if errors.As(err, &ne) {
		return &FieldError{Field: ne.Field, Msg: ne.Error()}
	}
	return &FieldError{Msg: err.Error()}
}

func or(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// Timestamp formats t as RFC 3339 in UTC with milliseconds, the one time
// format of this API.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// Validation is the answer of POST /token/validate. Its JSON is
// {"valid":true,"identity","name","room","grants","issuer","expires_at",
// "not_before",…} or {"valid":false,"error","code"}.
type Validation struct {
	Valid  bool
	Claims *auth.Claims // when Valid
	Code   auth.Code    // when not Valid
	Reason string       // when not Valid: why, never echoing the token
}

// Validate checks token as every endpoint of the server would (SPEC §5.2).
// It answers every input, the empty string included.
func (s *Service) Validate(token string) Validation {
	c, err := s.o.Verifier.Verify(token)
	if err == nil {
		return Validation{Valid: true, Claims: c}
	}
	var ae *auth.Error
	if errors.As(err, &ae) {
		return Validation{Code: ae.Code, Reason: ae.Error()}
	}
	// Verify only returns *auth.Error; anything else is still a refusal.
	return Validation{Code: auth.CodeMalformed, Reason: "token could not be read"}
}

// Body is the JSON object of the answer.
func (v Validation) Body() map[string]any {
	if !v.Valid {
		return map[string]any{"valid": false, "error": v.Reason, "code": string(v.Code)}
	}
	c := v.Claims
	room := ""
	if c.Video != nil {
		room = c.Video.Room
	}
	body := map[string]any{
		"valid":      true,
		"identity":   c.Identity,
		"name":       c.Name,
		"room":       room,
		"grants":     grants(c.Video),
		"issuer":     c.Issuer,
		"expires_at": Timestamp(c.ExpiresAt),
		"not_before": optionalTime(c.NotBefore),
		"issued_at":  optionalTime(c.IssuedAt),
		"metadata":   c.Metadata,
		"attributes": c.Attributes,
	}
	if c.Attributes == nil {
		body["attributes"] = map[string]string{}
	}
	if c.Kind != "" {
		body["kind"] = c.Kind
	}
	return body
}

func optionalTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return Timestamp(t)
}

// grants is the token's video grant with LiveKit's camelCase names. The
// permissions this service mints are always present with their effective
// value (LiveKit's default where the token leaves one unset); other grants
// appear when the token sets them.
func grants(g *auth.VideoGrant) map[string]any {
	out := map[string]any{}
	if g != nil {
		if g.Room != "" {
			out["room"] = g.Room
		}
		for k, v := range map[string]bool{
			"roomList": g.RoomList, "roomRecord": g.RoomRecord, "roomAdmin": g.RoomAdmin,
			"ingressAdmin": g.IngressAdmin, "hidden": g.Hidden, "recorder": g.Recorder, "agent": g.Agent,
		} {
			if v {
				out[k] = true
			}
		}
		if len(g.CanPublishSources) > 0 {
			out["canPublishSources"] = g.CanPublishSources
		}
		if g.CanSubscribeMetrics != nil {
			out["canSubscribeMetrics"] = *g.CanSubscribeMetrics
		}
		if g.CanManageAgentSession != nil {
			out["canManageAgentSession"] = *g.CanManageAgentSession
		}
		if g.DestinationRoom != "" {
			out["destinationRoom"] = g.DestinationRoom
		}
	}
	maps.Copy(out, map[string]any{
		"roomJoin":             g != nil && g.RoomJoin,
		"roomCreate":           g != nil && g.RoomCreate,
		"canPublish":           g.GetCanPublish(),
		"canSubscribe":         g.GetCanSubscribe(),
		"canPublishData":       g.GetCanPublishData(),
		"canUpdateOwnMetadata": g.GetCanUpdateOwnMetadata(),
	})
	return out
}
