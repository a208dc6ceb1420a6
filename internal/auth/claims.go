// Package auth mints and verifies LiveKit access tokens (HS256 JWTs shaped as
// livekit/protocol's ClaimGrants) and the callers' own bearer tokens of
// production mode. It is the only package that imports golang-jwt.
//
// Decisions worth knowing:
//   - Claims.Identity is the token's "sub" and nothing else. LiveKit's legacy
//     parser falls back to "jti" when "sub" is empty; we do not, because SPEC
//     §6 refuses tokens without "sub" and our own tokens always carry a random
//     "jti" (a fallback would turn that random value into an identity).
//   - Algorithms other than HS256 (none, None, RS256, ES256, HS384, …) are
//     reported as unsupported_algorithm, read from the header before any
//     signature work; they are never bad_signature.
//   - "exp", "nbf" and "iat" must be JSON numbers when present; a JSON null
//     counts as absent (Rust's serde writes null for unset optionals), so a
//     null "exp" is missing_exp.
package auth

import (
	"encoding/json"
	"strings"
	"time"
)

// VideoGrant is LiveKit's "video" claim, field for field, with the same
// camelCase JSON names as livekit/protocol's auth.VideoGrant.
type VideoGrant struct {
	RoomCreate bool   `json:"roomCreate,omitempty"`
	RoomList   bool   `json:"roomList,omitempty"`
	RoomRecord bool   `json:"roomRecord,omitempty"`
	RoomAdmin  bool   `json:"roomAdmin,omitempty"`
	RoomJoin   bool   `json:"roomJoin,omitempty"`
	Room       string `json:"room,omitempty"`

	// nil means LiveKit's default: publish and subscribe true, data follows
	// canPublish.
	CanPublish     *bool `json:"canPublish,omitempty"`
	CanSubscribe   *bool `json:"canSubscribe,omitempty"`
	CanPublishData *bool `json:"canPublishData,omitempty"`
	// Lower-case TrackSource names (camera, microphone, screen_share,
	// screen_share_audio); empty allows every source.
	CanPublishSources []string `json:"canPublishSources,omitempty"`
	// nil means false.
	CanUpdateOwnMetadata *bool `json:"canUpdateOwnMetadata,omitempty"`

	IngressAdmin bool `json:"ingressAdmin,omitempty"`
	Hidden       bool `json:"hidden,omitempty"`
	Recorder     bool `json:"recorder,omitempty"`
	Agent        bool `json:"agent,omitempty"`

	CanSubscribeMetrics   *bool `json:"canSubscribeMetrics,omitempty"`
	CanManageAgentSession *bool `json:"canManageAgentSession,omitempty"`

	DestinationRoom string `json:"destinationRoom,omitempty"`
}

// A nil *VideoGrant answers like an empty grant: the defaults of an absent
// field. Whether a token without a video claim may do anything at all is
// decided by RoomJoin and friends, which are false on a nil grant.

// GetCanPublish reports canPublish, true when unset.
func (g *VideoGrant) GetCanPublish() bool {
	if g == nil || g.CanPublish == nil {
		return true
	}
	return *g.CanPublish
}

// GetCanSubscribe reports canSubscribe, true when unset.
func (g *VideoGrant) GetCanSubscribe() bool {
	if g == nil || g.CanSubscribe == nil {
		return true
	}
	return *g.CanSubscribe
}

// GetCanPublishData reports canPublishData; when unset it follows canPublish,
// as LiveKit does.
func (g *VideoGrant) GetCanPublishData() bool {
	if g == nil || g.CanPublishData == nil {
		return g.GetCanPublish()
	}
	return *g.CanPublishData
}

// GetCanUpdateOwnMetadata reports canUpdateOwnMetadata, false when unset.
func (g *VideoGrant) GetCanUpdateOwnMetadata() bool {
	return g != nil && g.CanUpdateOwnMetadata != nil && *g.CanUpdateOwnMetadata
}

// GetCanSubscribeMetrics reports canSubscribeMetrics, false when unset.
func (g *VideoGrant) GetCanSubscribeMetrics() bool {
	return g != nil && g.CanSubscribeMetrics != nil && *g.CanSubscribeMetrics
}

// GetCanManageAgentSession reports canManageAgentSession, false when unset.
func (g *VideoGrant) GetCanManageAgentSession() bool {
	return g != nil && g.CanManageAgentSession != nil && *g.CanManageAgentSession
}

// CanPublishSource reports whether a track of the given source (a LiveKit
// TrackSource name such as "camera" or "SCREEN_SHARE", case-insensitive) may
// be published: canPublish must hold, and canPublishSources, when not empty,
// must list it.
func (g *VideoGrant) CanPublishSource(source string) bool {
	if !g.GetCanPublish() {
		return false
	}
	if g == nil || len(g.CanPublishSources) == 0 {
		return true
	}
	for _, s := range g.CanPublishSources {
		if strings.EqualFold(s, source) {
			return true
		}
	}
	return false
}

// Bool returns a pointer to b, for the optional grant fields.
func Bool(b bool) *bool { return &b }

// Claims is what a LiveKit token says, in the shape the rest of the server
// needs. The JSON tags make it printable (`livekit-mock token verify`); they
// are not the wire names of the JWT payload, which the Issuer and Verifier
// handle themselves.
type Claims struct {
	Identity   string            `json:"identity"` // sub
	Name       string            `json:"name,omitempty"`
	Metadata   string            `json:"metadata,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Kind       string            `json:"kind,omitempty"`
	Video      *VideoGrant       `json:"video,omitempty"`
	RoomConfig json.RawMessage   `json:"roomConfig,omitempty"` // kept as the token had it
	SHA256     string            `json:"sha256,omitempty"`     // webhooks

	Issuer    string    `json:"issuer,omitempty"` // iss, the API key
	ID        string    `json:"jti,omitempty"`
	IssuedAt  time.Time `json:"issuedAt,omitzero"`
	NotBefore time.Time `json:"notBefore,omitzero"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// wireGrants holds the LiveKit claims of a payload, beside the registered
// ones that Issuer and Verifier treat with stricter rules.
type wireGrants struct {
	Name       string            `json:"name,omitempty"`
	Kind       string            `json:"kind,omitempty"`
	Video      *VideoGrant       `json:"video,omitempty"`
	RoomConfig json.RawMessage   `json:"roomConfig,omitempty"`
	SHA256     string            `json:"sha256,omitempty"`
	Metadata   string            `json:"metadata,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}
