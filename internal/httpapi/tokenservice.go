package httpapi

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/tokenservice"
)

// apiBodyCap is the body cap of the api group (SPEC §3.1), /token/validate
// among it.
const apiBodyCap = 16 << 10

// validationKey carries the outcome of /token/validate to the metrics
// middleware: "" for a valid token, else the refusal code.
const validationKey = "livekit-mock/validation"

// initTokenService fills the optional Deps of the token service and the
// figures from the required ones.
func hours(n int) time.Duration { return time.Duration(n) * time.Hour }

// parseServiceRequest reads the body of /token/room and /token/join. It
// checks JSON types only (a wrong type names its field); the rules on
// values are the token service's.
func parseServiceRequest(f fields) (tokenservice.Request, error) {
	var r tokenservice.Request
	var err error
	if r.RoomName, _, err = f.str("room_name"); err != nil {
		return r, err
	}
	if r.ParticipantName, _, err = f.str("participant_name"); err != nil {
		return r, err
	}
	identity, has, err := f.str("participant_identity")
	if err != nil {
		return r, err
	}
	if has {
		r.ParticipantIdentity = &identity
	}
	if r.Metadata, _, err = f.str("metadata"); err != nil {
		return r, err
	}
	perms, _, err := f.object("permissions")
	if err != nil {
		return r, err
	}
	for _, p := range []struct {
		key string
		dst **bool
	}{
		{"can_publish", &r.Permissions.CanPublish},
		{"can_subscribe", &r.Permissions.CanSubscribe},
		{"can_publish_data", &r.Permissions.CanPublishData},
		{"can_update_metadata", &r.Permissions.CanUpdateMetadata},
		{"can_create_room", &r.Permissions.CanCreateRoom},
		{"can_join_room", &r.Permissions.CanJoinRoom},
	} {
		if *p.dst, err = optBool(perms, p.key, "permissions."+p.key); err != nil {
			return r, err
		}
	}
	if raw, ok := f["ttl_hours"]; ok {
		var h float64
		if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) || json.Unmarshal(raw, &h) != nil {
			return r, newError(codeInvalidArgument, "ttl_hours must be a whole number of hours from 1 to 24")
		}
		r.TTLHours = &h
	}
	return r, nil
}

// optBool reads an optional boolean; label names it in the error.
func optBool(f fields, key, label string) (*bool, error) {
	raw, ok := f[key]
	if !ok {
		return nil, nil
	}
	switch string(raw) {
	case "true":
		b := true
		return &b, nil
	case "false":
		b := false
		return &b, nil
	}
	return nil, newError(codeInvalidArgument, label+" must be a boolean")
}

// serviceError maps the token service's errors to the table of errors.go.
func serviceError(err error) error {
	var fe *tokenservice.FieldError
	switch {
	case errors.As(err, &fe):
		return newError(codeInvalidArgument, fe.Msg)
	case errors.Is(err, tokenservice.ErrReserve):
		return newError(codeUnavailable, "The room registry is not accepting rooms")
	}
	return err
}

// handleTokenRoom is POST /token/room: mint and reserve the room.
func (a *api) handleTokenRoom(c *gin.Context) { a.mintService(c, a.TokenService.Room) }

// handleTokenJoin is POST /token/join: mint only.
func (a *api) handleTokenJoin(c *gin.Context) { a.mintService(c, a.TokenService.Join) }

func (a *api) mintService(c *gin.Context, mint func(tokenservice.Request) (*tokenservice.Response, error)) {
	req, err := parseServiceRequest(bodyFields(c))
	if err != nil {
		renderError(c, err)
		return
	}
	resp, err := mint(req)
	if err != nil {
		renderError(c, serviceError(err))
		return
	}
	a.Logger.Info("token minted", "ip", c.ClientIP(), "route", c.FullPath(), "room", resp.RoomName, "identity", resp.ParticipantIdentity)
	c.Set(mintedKey, minted{room: resp.RoomName, identity: resp.ParticipantIdentity, expiresAt: resp.ExpiresAt})
	c.JSON(200, resp)
}

// handleTokenValidate is POST /token/validate: 200 with valid true or
// false for any string token; 400 when "token" is missing or not a string.
func (a *api) handleTokenValidate(c *gin.Context) {
	tok, has, err := bodyFields(c).str("token")
	if err != nil {
		renderError(c, err)
		return
	}
	if !has {
		abortError(c, codeInvalidArgument, "token is required")
		return
	}
	v := a.TokenService.Validate(tok)
	c.Set(validationKey, string(v.Code))
	if !v.Valid {
		a.Logger.Info("token refused", "ip", c.ClientIP(), "route", c.FullPath(), "code", string(v.Code))
	}
	c.JSON(200, v.Body())
}
