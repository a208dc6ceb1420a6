package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/lkproto"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/roomservice"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// The Twirp framing of LiveKit's RoomService (SPEC §3.1 twirp group,
// reference/livekit-protocol.md §5): protojson or protobuf bodies, Twirp
// JSON errors with the real server's codes and statuses, a LiveKit token per
// call. The semantics are internal/roomservice's.

const (
	twirpBodyCap     = 1 << 20
	twirpService     = "livekit.RoomService"
	twirpDispatch    = "livekit.AgentDispatchService"
	twirpContentJSON = "application/json"
	twirpContentPB   = "application/protobuf"
)

// Twirp error codes used here beside roomservice's.
const (
	twirpBadRoute      = "bad_route"
	twirpMalformed     = "malformed"
	twirpUnimplemented = "unimplemented"
)

// twirpError writes {"code","msg","meta"?} with exactly
// Content-Type: application/json (the Node SDK parses nothing else).
func twirpError(c *gin.Context, status int, code, msg string, meta map[string]string) {
	body, _ := json.Marshal(struct {
		Code string            `json:"code"`
		Msg  string            `json:"msg"`
		Meta map[string]string `json:"meta,omitempty"`
	}{code, msg, meta})
	c.Data(status, twirpContentJSON, body)
	c.Abort()
}

func twirpFail(c *gin.Context, code, msg string) { twirpError(c, statusOf(code), code, msg, nil) }

func writeBadRoute(c *gin.Context, msg string) {
	r := c.Request
	twirpError(c, http.StatusNotFound, twirpBadRoute, msg, map[string]string{"twirp_invalid_route": r.Method + " " + r.URL.Path})
}

// twirpMethod decodes one method's request and calls the service.
type twirpMethod struct {
	newReq func() proto.Message
	call   func(ctx context.Context, c *auth.Claims, req proto.Message) (proto.Message, error)
}

func method[Req proto.Message](newReq func() Req, call func(context.Context, *auth.Claims, Req) (proto.Message, error)) twirpMethod {
	return twirpMethod{
		newReq: func() proto.Message { return newReq() },
		call: func(ctx context.Context, c *auth.Claims, req proto.Message) (proto.Message, error) {
			return call(ctx, c, req.(Req))
		},
	}
}

func participantsProto(ps []rooms.ParticipantInfo) []*livekit.ParticipantInfo {
	out := make([]*livekit.ParticipantInfo, 0, len(ps))
	for _, p := range ps {
		out = append(out, lkproto.Participant(p, ""))
	}
	return out
}

// roomServiceMethods is the method table of the RoomService.
func roomServiceMethods(s *roomservice.Service) map[string]twirpMethod {
	return map[string]twirpMethod{
		"CreateRoom": method(func() *livekit.CreateRoomRequest { return &livekit.CreateRoomRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.CreateRoomRequest) (proto.Message, error) {
				info, err := s.CreateRoom(ctx, c, roomservice.CreateRoom{
					Name: r.Name, EmptyTimeout: r.EmptyTimeout, DepartureTimeout: r.DepartureTimeout,
					MaxParticipants: r.MaxParticipants, Metadata: r.Metadata, Agents: roomAgents(r.Agents),
				})
				if err != nil {
					return nil, err
				}
				return lkproto.Room(info), nil
			}),
		"ListRooms": method(func() *livekit.ListRoomsRequest { return &livekit.ListRoomsRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.ListRoomsRequest) (proto.Message, error) {
				list, err := s.ListRooms(ctx, c, r.Names)
				if err != nil {
					return nil, err
				}
				out := &livekit.ListRoomsResponse{Rooms: make([]*livekit.Room, 0, len(list))}
				for _, ri := range list {
					out.Rooms = append(out.Rooms, lkproto.Room(ri))
				}
				return out, nil
			}),
		"DeleteRoom": method(func() *livekit.DeleteRoomRequest { return &livekit.DeleteRoomRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.DeleteRoomRequest) (proto.Message, error) {
				return &livekit.DeleteRoomResponse{}, s.DeleteRoom(ctx, c, r.Room)
			}),
		"ListParticipants": method(func() *livekit.ListParticipantsRequest { return &livekit.ListParticipantsRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.ListParticipantsRequest) (proto.Message, error) {
				ps, err := s.ListParticipants(ctx, c, r.Room)
				if err != nil {
					return nil, err
				}
				return &livekit.ListParticipantsResponse{Participants: participantsProto(ps)}, nil
			}),
		"GetParticipant": method(func() *livekit.RoomParticipantIdentity { return &livekit.RoomParticipantIdentity{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.RoomParticipantIdentity) (proto.Message, error) {
				p, err := s.GetParticipant(ctx, c, r.Room, r.Identity)
				if err != nil {
					return nil, err
				}
				return lkproto.Participant(p, ""), nil
			}),
		"RemoveParticipant": method(func() *livekit.RoomParticipantIdentity { return &livekit.RoomParticipantIdentity{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.RoomParticipantIdentity) (proto.Message, error) {
				return &livekit.RemoveParticipantResponse{}, s.RemoveParticipant(ctx, c, r.Room, r.Identity)
			}),
		"MutePublishedTrack": method(func() *livekit.MuteRoomTrackRequest { return &livekit.MuteRoomTrackRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.MuteRoomTrackRequest) (proto.Message, error) {
				t, err := s.MutePublishedTrack(ctx, c, r.Room, r.Identity, r.TrackSid, r.Muted)
				if err != nil {
					return nil, err
				}
				return &livekit.MuteRoomTrackResponse{Track: lkproto.Track(t)}, nil
			}),
		"UpdateParticipant": method(func() *livekit.UpdateParticipantRequest { return &livekit.UpdateParticipantRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.UpdateParticipantRequest) (proto.Message, error) {
				req := roomservice.UpdateParticipant{
					Room: r.Room, Identity: r.Identity, Name: r.Name, Metadata: r.Metadata, Attributes: r.Attributes,
				}
				if r.Permission != nil {
					perm := lkproto.PermissionFrom(r.Permission)
					req.Permission = &perm
				}
				p, err := s.UpdateParticipant(ctx, c, req)
				if err != nil {
					return nil, err
				}
				return lkproto.Participant(p, ""), nil
			}),
		"UpdateSubscriptions": method(func() *livekit.UpdateSubscriptionsRequest { return &livekit.UpdateSubscriptionsRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.UpdateSubscriptionsRequest) (proto.Message, error) {
				sids := append([]string(nil), r.TrackSids...)
				for _, pt := range r.ParticipantTracks {
					sids = append(sids, pt.GetTrackSids()...)
				}
				return &livekit.UpdateSubscriptionsResponse{}, s.UpdateSubscriptions(ctx, c, r.Room, r.Identity, sids, r.Subscribe)
			}),
		"SendData": method(func() *livekit.SendDataRequest { return &livekit.SendDataRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.SendDataRequest) (proto.Message, error) {
				//lint:ignore SA1019 deprecated, yet the Node SDK still sends destinationSids
				sids := r.DestinationSids
				return &livekit.SendDataResponse{}, s.SendData(ctx, c, roomservice.SendData{
					Room: r.Room, Data: r.Data, Reliable: r.Kind == livekit.DataPacket_RELIABLE,
					DestinationSids: sids, DestinationIdentities: r.DestinationIdentities,
					Topic: r.GetTopic(), Nonce: r.Nonce,
				})
			}),
		"UpdateRoomMetadata": method(func() *livekit.UpdateRoomMetadataRequest { return &livekit.UpdateRoomMetadataRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.UpdateRoomMetadataRequest) (proto.Message, error) {
				info, err := s.UpdateRoomMetadata(ctx, c, r.Room, r.Metadata)
				if err != nil {
					return nil, err
				}
				return lkproto.Room(info), nil
			}),
	}
}

// roomAgents are CreateRoom's agents; nil when it lists none.
func roomAgents(list []*livekit.RoomAgentDispatch) []rooms.AgentDispatch {
	return lkproto.RoomAgents(list)
}

// agentDispatchMethods is the method table of the AgentDispatchService.
func agentDispatchMethods(s *roomservice.DispatchService) map[string]twirpMethod {
	return map[string]twirpMethod{
		"CreateDispatch": method(func() *livekit.CreateAgentDispatchRequest { return &livekit.CreateAgentDispatchRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.CreateAgentDispatchRequest) (proto.Message, error) {
				dp, err := s.CreateDispatch(ctx, c, r.Room, r.AgentName, r.Metadata)
				if err != nil {
					return nil, err
				}
				return pbwire.DispatchProto(dp), nil
			}),
		"ListDispatch": method(func() *livekit.ListAgentDispatchRequest { return &livekit.ListAgentDispatchRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.ListAgentDispatchRequest) (proto.Message, error) {
				list, err := s.ListDispatch(ctx, c, r.Room, r.DispatchId)
				if err != nil {
					return nil, err
				}
				out := &livekit.ListAgentDispatchResponse{AgentDispatches: make([]*livekit.AgentDispatch, 0, len(list))}
				for _, dp := range list {
					out.AgentDispatches = append(out.AgentDispatches, pbwire.DispatchProto(dp))
				}
				return out, nil
			}),
		"DeleteDispatch": method(func() *livekit.DeleteAgentDispatchRequest { return &livekit.DeleteAgentDispatchRequest{} },
			func(ctx context.Context, c *auth.Claims, r *livekit.DeleteAgentDispatchRequest) (proto.Message, error) {
				dp, err := s.DeleteDispatch(ctx, c, r.Room, r.DispatchId)
				if err != nil {
					return nil, err
				}
				return pbwire.DispatchProto(dp), nil
			}),
	}
}

// Methods the real RoomService has and this mock does not implement.
func twirpUnimplementedMethod(name string) bool {
	switch name {
	case "ForwardParticipant", "MoveParticipant", "PerformRpc":
		return true
	}
	return false
}

// twirpHandler serves POST /twirp/<service>/<Method> for the services given
// (by Twirp service name). Order, as the real server: token (its auth
// middleware runs first), then Twirp's routing (POST, path, content type),
// body, method grant and semantics.
func (a *api) twirpHandler(services map[string]map[string]twirpMethod, v *auth.Verifier) gin.HandlerFunc {
	jsonOut := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	jsonIn := protojson.UnmarshalOptions{DiscardUnknown: true}
	return func(c *gin.Context) {
		r := c.Request
		var claims *auth.Claims
		if h := r.Header.Get("Authorization"); h != "" {
			var err error
			if claims, err = twirpClaims(v, h); err != nil {
				// LiveKit's auth middleware answers before Twirp does: plain
				// text, which Twirp clients report as "unauthenticated" from
				// an intermediary.
				c.Header("Content-Type", "text/plain; charset=utf-8")
				c.String(http.StatusUnauthorized, err.Error())
				c.Abort()
				return
			}
		}
		if r.Method != http.MethodPost {
			writeBadRoute(c, fmt.Sprintf("unsupported method %q (only POST is allowed)", r.Method))
			return
		}
		name := c.Param("method")
		m, ok := services[c.Param("service")][name]
		if !ok {
			if c.Param("service") == twirpService && twirpUnimplementedMethod(name) {
				twirpFail(c, twirpUnimplemented, name+" is not implemented by livekit-mock")
				return
			}
			writeBadRoute(c, fmt.Sprintf("no handler for path %q", r.URL.Path))
			return
		}
		ct := r.Header.Get("Content-Type")
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if mt != twirpContentJSON && mt != twirpContentPB {
			writeBadRoute(c, fmt.Sprintf("unexpected Content-Type: %q", ct))
			return
		}
		if r.ContentLength > twirpBodyCap {
			c.Header("Connection", "close")
			twirpError(c, http.StatusRequestEntityTooLarge, twirpMalformed, "request body exceeds 1 MiB", nil)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Writer, r.Body, twirpBodyCap))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				c.Header("Connection", "close")
				twirpError(c, http.StatusRequestEntityTooLarge, twirpMalformed, "request body exceeds 1 MiB", nil)
				return
			}
			if bodyTimedOut(c, err) {
				twirpError(c, http.StatusRequestTimeout, "deadline_exceeded", "the request body was not received in time", nil)
				return
			}
			twirpFail(c, twirpMalformed, "the request body could not be read")
			return
		}
		req := m.newReq()
		if mt == twirpContentPB {
			err = proto.Unmarshal(body, req)
		} else {
			err = jsonIn.Unmarshal(body, req)
		}
		if err != nil {
			kind := "json"
			if mt == twirpContentPB {
				kind = "protobuf"
			}
			twirpFail(c, twirpMalformed, "the "+kind+" request could not be decoded")
			return
		}
		if home := a.twirpHome(c, req); home != "" && a.forwardToHome(c, home, body) {
			return
		}
		res, err := m.call(r.Context(), claims, req)
		if lr, ok := res.(*livekit.ListRoomsResponse); ok && err == nil {
			lr.Rooms = a.withRemoteRooms(c, lr.Rooms, req.(*livekit.ListRoomsRequest).GetNames())
		}
		if err != nil {
			var se *roomservice.Error
			if errors.As(err, &se) {
				twirpFail(c, string(se.Code), se.Msg)
				return
			}
			_ = c.Error(err)
			twirpFail(c, "internal", "internal error")
			return
		}
		var out []byte
		if mt == twirpContentPB {
			out, err = proto.Marshal(res)
		} else {
			out, err = jsonOut.Marshal(res)
		}
		if err != nil {
			_ = c.Error(err)
			twirpFail(c, "internal", "failed to marshal the response")
			return
		}
		c.Data(http.StatusOK, mt, out)
	}
}

// twirpClaims verifies the Bearer token. Refusals are LiveKit's texts,
// except that the token itself is never repeated (SPEC §3).
func twirpClaims(v *auth.Verifier, header string) (*auth.Claims, error) {
	tok, err := auth.CheckBearer(header)
	if err != nil {
		return nil, errors.New("invalid authorization header. Must start with Bearer ")
	}
	if v == nil {
		return nil, errors.New("invalid API key")
	}
	claims, err := v.Verify(tok)
	if err != nil {
		switch auth.CodeOf(err) {
		case auth.CodeUnknownKey:
			if key := unverifiedIssuer(tok); key != "" {
				return nil, errors.New("invalid API key: " + key)
			}
			return nil, errors.New("invalid API key")
		case auth.CodeMalformed:
			return nil, errors.New("invalid authorization token")
		}
		return nil, fmt.Errorf("invalid token, error: %w", err)
	}
	return claims, nil
}

// unverifiedIssuer reads the iss (the API key) of a token whose key is
// unknown, to name it as LiveKit does; "" unless it is short printable text.
func unverifiedIssuer(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(raw, &c) != nil || len(c.Iss) > 64 {
		return ""
	}
	for _, r := range c.Iss {
		if r < 0x21 || r > 0x7e {
			return ""
		}
	}
	return c.Iss
}

// twirpHome returns the URL of the instance a RoomService call must be
// forwarded to: the home of the room it names, when that is another
// instance and this one does not have the room. CreateRoom claims a room
// nobody holds for this instance, as a join would.
func (a *api) twirpHome(c *gin.Context, req proto.Message) string {
	if a.Cluster == nil || c.Request.Header.Get(relayHeader) != "" {
		return ""
	}
	var room string
	switch r := req.(type) {
	case *livekit.CreateRoomRequest:
		if _, ok := a.localRoom(r.GetName()); ok || r.GetName() == "" {
			return ""
		}
		return a.Cluster.Route(c.Request.Context(), r.GetName())
	case interface{ GetRoom() string }:
		room = r.GetRoom()
	default:
		return ""
	}
	_, local := a.localRoom(room)
	return a.remoteHome(c, room, local)
}

func (a *api) localRoom(name string) (rooms.RoomInfo, bool) {
	if a.Registry == nil || name == "" {
		return rooms.RoomInfo{}, false
	}
	return a.Registry.Get(name)
}

// withRemoteRooms adds to a ListRooms answer the rooms the other live
// instances host (from the directory), filtered by names as the local list
// was.
func (a *api) withRemoteRooms(c *gin.Context, local []*livekit.Room, names []string) []*livekit.Room {
	if a.Cluster == nil || c.Request.Header.Get(relayHeader) != "" {
		return local
	}
	remote, _ := a.Cluster.RemoteRooms(c.Request.Context())
	seen := make(map[string]bool, len(local))
	for _, r := range local {
		seen[r.GetName()] = true
	}
	for _, rm := range remote {
		if seen[rm.Name] || len(rm.LiveKit) == 0 || (len(names) > 0 && !slices.Contains(names, rm.Name)) {
			continue
		}
		var lr livekit.Room
		if protojson.Unmarshal(rm.LiveKit, &lr) != nil {
			continue
		}
		seen[rm.Name] = true
		local = append(local, &lr)
	}
	return local
}
