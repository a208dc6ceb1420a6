package pbwire

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Bodies of the real server's refusals (pkg/service and pkg/rtc errors).
const (
	BodyBadAuthHeader    = "invalid authorization header. Must start with Bearer "
	BodyNoPermissions    = "no permissions to access the room"
	BodyPermissionDenied = "permissions denied"
	BodyIdentityEmpty    = "identity cannot be empty"
	BodyNoRoomName       = "no room name"
	BodyRoomNotFound     = "requested room does not exist"
)

// MaxNameLength is LiveKit's default limit on identities and room names, in
// bytes.
const MaxNameLength = 256

// ExtractToken finds the access token of an /rtc or validate request. An
// Authorization header wins and must be "Bearer <jwt>" (what rtc-node sends);
// otherwise the access_token query parameter is used (what livekit-client
// sends). An empty token with a nil error means none was given; CheckJoin
// then refuses with 401.
func ExtractToken(h http.Header, q url.Values) (string, error) {
	if auth := h.Get("Authorization"); auth != "" {
		const prefix = "Bearer "
		if !strings.HasPrefix(auth, prefix) {
			return "", &HTTPError{Status: http.StatusUnauthorized, Body: BodyBadAuthHeader}
		}
		return strings.TrimSpace(auth[len(prefix):]), nil
	}
	return q.Get("access_token"), nil
}

// Claims is what a verified token says, reduced to what a join checks.
// Verification itself (signature, exp, key) is the auth package's job.
type Claims struct {
	Identity             string // sub
	Name                 string
	Room                 string // video.room
	HasVideoGrant        bool   // the token has a `video` claim at all
	RoomJoin             bool
	CanPublish           bool // after LiveKit's defaults (absent = true)
	CanUpdateOwnMetadata bool
}

// CheckJoin returns the real server's refusal for a join with these claims
// and join parameters, or nil when the join may proceed. c is nil when the
// request carried no token; a token that fails verification never gets here
// (the caller answers 401 "invalid authorization token: …" without echoing
// it). The checks run in the real server's order, so the same bad token gets
// the same answer. A missing room (404 BodyRoomNotFound) is the registry's
// call.
func CheckJoin(c *Claims, p JoinParams) *HTTPError {
	unauthorized := func(body string) *HTTPError {
		return &HTTPError{Status: http.StatusUnauthorized, Body: body}
	}
	switch {
	case c == nil || !c.HasVideoGrant:
		return unauthorized(BodyNoPermissions)
	case !c.RoomJoin:
		return unauthorized(BodyPermissionDenied)
	case c.Identity == "":
		return badRequest(BodyIdentityEmpty)
	case len(c.Identity) > MaxNameLength:
		return badRequest(fmt.Sprintf("participant identity length exceeds limits: max length %d", MaxNameLength))
	case c.Room == "":
		return badRequest(BodyNoRoomName)
	case len(c.Room) > MaxNameLength:
		return badRequest(fmt.Sprintf("room name length exceeds limits: max length %d", MaxNameLength))
	case p.Publish != "" && !c.CanPublish:
		return unauthorized(BodyNoPermissions)
	case (p.Metadata != "" || len(p.Attributes) != 0) && !c.CanUpdateOwnMetadata:
		return unauthorized(BodyNoPermissions)
	}
	return nil
}
