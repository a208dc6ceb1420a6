package httpapi

import (
	"time"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/auth"
)

// tokenRequest is the validated body of POST /api/livekit/token.
type tokenRequest struct {
	room, name, identity, metadata                    string
	canPublish, canSubscribe, canPublishData, canMeta bool
	ttl                                               time.Duration
}

// parseTokenRequest checks types first (a wrong type names its field), then
// the required names, then the naming policy and ranges.
func (a *api) parseTokenRequest(f fields) (*tokenRequest, error) {
	room, _, err := f.str("roomName")
	if err != nil {
		return nil, err
	}
	name, _, err := f.str("participantName")
	if err != nil {
		return nil, err
	}
	identity, _, err := f.str("participantIdentity")
	if err != nil {
		return nil, err
	}
	metadata, _, err := f.str("metadata")
	if err != nil {
		return nil, err
	}
	req := &tokenRequest{room: room, name: name, identity: identity, metadata: metadata}
	if req.canPublish, err = f.boolean("canPublish", true); err != nil {
		return nil, err
	}
	if req.canSubscribe, err = f.boolean("canSubscribe", true); err != nil {
		return nil, err
	}
	if req.canPublishData, err = f.boolean("canPublishData", true); err != nil {
		return nil, err
	}
	if req.canMeta, err = f.boolean("canUpdateOwnMetadata", false); err != nil {
		return nil, err
	}
	ttl, err := f.integer("ttl", 3600, 60, 86400, "seconds")
	if err != nil {
		return nil, err
	}
	req.ttl = time.Duration(ttl) * time.Second
	if room == "" || name == "" {
		return nil, newError(codeInvalidArgument, msgNameRequired)
	}
	if err := a.Names.Room("roomName", room); err != nil {
		return nil, newError(codeInvalidArgument, err.Error())
	}
	if err := a.Names.DisplayName("participantName", name); err != nil {
		return nil, newError(codeInvalidArgument, err.Error())
	}
	if f.has("participantIdentity") {
		if err := a.Names.Identity("participantIdentity", identity); err != nil {
			return nil, newError(codeInvalidArgument, err.Error())
		}
	}
	if err := a.Names.Metadata("metadata", metadata); err != nil {
		return nil, newError(codeInvalidArgument, err.Error())
	}
	if req.identity == "" {
		req.identity = "user_" + a.IDs.UUID()
	}
	return req, nil
}

// handleToken is POST /api/livekit/token, the old mock's minting endpoint.
func (a *api) handleToken(c *gin.Context) {
	req, err := a.parseTokenRequest(bodyFields(c))
	if err != nil {
		renderError(c, err)
		return
	}
	token, exp, err := a.Issuer.Mint(auth.Claims{
		Identity: req.identity,
		Name:     req.name,
		Metadata: req.metadata,
		Video: &auth.VideoGrant{
			RoomJoin:             true,
			Room:                 req.room,
			CanPublish:           auth.Bool(req.canPublish),
			CanSubscribe:         auth.Bool(req.canSubscribe),
			CanPublishData:       auth.Bool(req.canPublishData),
			CanUpdateOwnMetadata: auth.Bool(req.canMeta),
		},
	}, req.ttl)
	if err != nil {
		renderError(c, err)
		return
	}
	a.Logger.Info("token minted", "ip", c.ClientIP(), "room", req.room, "identity", req.identity)
	resp := tokenResponse{Token: token, ServerURL: a.Config.WSURL, ExpiresIn: int64(req.ttl / time.Second),
		Identity: req.identity, RoomName: req.room, ExpiresAt: timestamp(exp)}
	c.Set(mintedKey, minted{room: resp.RoomName, identity: resp.Identity, expiresAt: resp.ExpiresAt})
	c.JSON(200, &resp)
}

// tokenResponse is the old mock's answer; a struct encodes faster than a map.
type tokenResponse struct {
	ExpiresAt string `json:"expiresAt"`
	ExpiresIn int64  `json:"expiresIn"`
	Identity  string `json:"identity"`
	RoomName  string `json:"roomName"`
	ServerURL string `json:"serverUrl"`
	Token     string `json:"token"`
}
