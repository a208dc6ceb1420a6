package signal

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal/jsonwire"
)

// JSONOptions configure the JSON dialect of SPEC §6.1.
type JSONOptions struct {
	Registry     *rooms.Registry
	IDs          *ids.Generator // clientId of the welcome; default crypto/rand
	Names        names.Policy
	RequireToken bool          // RTC_REQUIRE_TOKEN
	Tokens       TokenVerifier // verifies join_room's token; nil refuses such tokens
	Server       jsonwire.ServerInfo
	Limits       Limits // RTC_MAX_MESSAGE_BYTES, RTC_MESSAGE_RATE, RTC_MESSAGE_BURST
	Now          func() time.Time
	// Refuse answers a failed upgrade; default: SPEC §3.2 JSON.
	Refuse func(w http.ResponseWriter, status int, msg string)
	// Homes relays a token-less join_room to the room's home instance
	// (json_relay.go); nil without REDIS_URL.
	Homes Homes
}

// NewJSONDialect returns the JSON dialect.
func NewJSONDialect(o JSONOptions) Dialect {
	if o.IDs == nil {
		o.IDs = ids.New(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Refuse == nil {
		o.Refuse = refuseJSON
	}
	return &jsonDialect{o: o}
}

type jsonDialect struct{ o JSONOptions }

func (d *jsonDialect) Name() string   { return rooms.DialectJSON }
func (d *jsonDialect) Limits() Limits { return d.o.Limits }
func (d *jsonDialect) RefuseHandshake(w http.ResponseWriter, status int, msg string) {
	d.o.Refuse(w, status, msg)
}

func (d *jsonDialect) NewHandler(s *Session) Handler { return &jsonHandler{d: d, o: &d.o, s: s} }

func refuseJSON(w http.ResponseWriter, status int, msg string) {
	code := "invalid_argument"
	switch status {
	case http.StatusMethodNotAllowed:
		code = "method_not_allowed"
		w.Header().Set("Allow", http.MethodGet)
	case http.StatusServiceUnavailable:
		code = "unavailable"
	case http.StatusForbidden:
		code = "origin_not_allowed"
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "code": code})
}

// jsonHandler is one JSON session; its fields are used on the reader
// goroutine only.
type jsonHandler struct {
	d      *jsonDialect
	o      *JSONOptions
	s      *Session
	member *rooms.Member
	// resumable: joined with "resumable": true; a dropped socket then
	// detaches the participant for the resume window (SPEC §8, §10).
	resumable bool
	// relay: joined through another instance; every frame goes there.
	relay *homeLink
}

func (h *jsonHandler) Open() {
	h.send(jsonwire.Welcome(h.o.IDs.UUID(), h.o.Server))
}

func (h *jsonHandler) Notice(reason string) (int, []byte, bool) {
	return TextMessage, jsonwire.Disconnected(reason), true
}

func (h *jsonHandler) Closed(reason rooms.Reason) {
	if h.relay != nil {
		h.relay.close()
		h.relay = nil
		return
	}
	if h.member != nil && h.resumable && (reason == rooms.ReasonClosed || reason == rooms.ReasonTimeout) {
		if h.member.Detach(context.Background(), h.s.hub.opts.ResumeWindow) == nil {
			h.member = nil
			return
		}
	}
	if h.member != nil {
		_ = h.member.Leave(context.Background(), reason)
		h.member = nil
	}
}

func (h *jsonHandler) send(b []byte) { h.s.Send(TextMessage, b) }

func (h *jsonHandler) fail(e *jsonwire.Error) { h.send(jsonwire.ErrorMessage(e)) }

func (h *jsonHandler) Message(mt int, data []byte) {
	if h.relay != nil {
		h.relay.forward(mt, data)
		return
	}
	// JSON in a binary frame is accepted like text (the old mock parsed
	// data.toString()); text frames were checked for UTF-8 already.
	t, msg, err := jsonwire.Decode(data)
	if err != nil && err.Code == jsonwire.CodeUnknownType && t == typeResume {
		h.resume(data)
		return
	}
	if err != nil {
		h.fail(err)
		return
	}
	switch m := msg.(type) {
	case jsonwire.Ping:
		if h.s.Silenced() {
			return // a silence fault: pings go unanswered
		}
		h.send(jsonwire.Pong(m.Timestamp, h.o.Now()))
	case jsonwire.JoinRoom:
		h.join(m, mt, data)
	default:
		if h.member == nil {
			h.fail(jsonwire.Errorf(jsonwire.CodeNotJoined, "Join a room first"))
			return
		}
		h.joined(msg)
	}
}

func (h *jsonHandler) join(m jsonwire.JoinRoom, mt int, frame []byte) {
	if h.member != nil {
		h.fail(jsonwire.Errorf(jsonwire.CodeAlreadyJoined, "Already joined a room; send leave_room first"))
		return
	}
	g := h.s.Grant()
	if m.Token != "" {
		if h.o.Tokens == nil {
			h.fail(jsonwire.Errorf(jsonwire.CodeUnauthenticated, "Tokens are not accepted here"))
			return
		}
		var err error
		if g, err = h.o.Tokens.VerifyToken(m.Token); err != nil {
			h.fail(jsonwire.Errorf(jsonwire.CodeUnauthenticated, "Invalid token: %s", err.Error()))
			return
		}
	}
	req := rooms.JoinRequest{
		Room:       m.RoomName,
		Identity:   m.Participant.Identity,
		Name:       m.Participant.Name,
		Metadata:   m.Participant.Metadata,
		Attributes: m.Participant.Attributes,
		Permission: rooms.AllPermissions(),
		Dialect:    rooms.DialectJSON,
		State:      rooms.StateActive,
	}
	if g == nil && h.o.RequireToken {
		h.fail(jsonwire.Errorf(jsonwire.CodeUnauthenticated, "A token is required to join"))
		return
	}
	if g != nil {
		if e := h.grantJoin(g, &req); e != nil {
			h.fail(e)
			return
		}
	}
	if e := h.checkJoin(req); e != nil {
		h.fail(e)
		return
	}
	// A room named only here may be homed elsewhere (SPEC §12). An
	// upgrade token naming a room was relayed before the upgrade already.
	if h.o.Homes != nil && h.s.Grant() == nil {
		if home, remote := h.o.Homes.Remote(h.s.Context(), req.Room); remote {
			r, e := h.relayTo(home, mt, frame)
			if e != nil {
				h.fail(e)
				return
			}
			h.relay = r
			h.s.setSubject(req.Room, req.Identity)
			return
		}
	}
	var sec *resumeSecret
	if m.Resumable {
		sec = &resumeSecret{key: rand.Text(), room: req.Room, identity: req.Identity, tokenJoined: g != nil}
		req.Secret = sec
	}
	mem, err := h.o.Registry.Join(h.s.Context(), req, h.s.Sink(jsonEncoder(req.Identity, sec)))
	if err != nil {
		h.fail(roomError(err))
		return
	}
	h.member = mem
	h.resumable = m.Resumable
}

// jsonEncoder encodes room events for the member identity; a resume's
// first event becomes {"type":"resumed",room,participant,others}. sec, when
// the participant joined with "resumable": true, puts its resume key in
// room_joined and resumed, which only the participant itself receives.
func jsonEncoder(identity string, sec *resumeSecret) Encoder {
	key := ""
	if sec != nil {
		key = sec.key
	}
	return func(ev rooms.Event) (int, []byte, bool) {
		switch ev.Kind {
		case rooms.EventJoined:
			return TextMessage, jsonwire.Joined(ev, jsonwire.TypeRoomJoined, key), true
		case rooms.EventParticipantResumed:
			return TextMessage, jsonwire.Joined(ev, jsonwire.TypeResumed, key), true
		}
		b, ok := jsonwire.Event(ev, identity)
		return TextMessage, b, ok
	}
}

// typeResume is the JSON dialect's resume message: {"type":"resume",
// "participantSid","resumeKey"} re-attaches a participant that joined with
// "resumable": true and whose socket dropped less than RESUME_WINDOW ago.
// The resume key of its room_joined proves it is the same client; so does
// a token for the same identity and room (in "token" or on the upgrade)
// when the join carried one. Without proof the answer is the unknown sid's.
const typeResume = "resume"

// resumeSecret is what a resumable JSON participant keeps in the room
// (rooms.JoinRequest.Secret): never listed, logged or journaled.
type resumeSecret struct {
	key         string // crypto/rand.Text: 130 bits
	room        string
	identity    string
	tokenJoined bool // the join carried a token: a token for the same identity and room proves it too
}

// proves reports whether a resume presenting key and the verified tokens
// (nil when absent) may take the participant over. A token naming someone
// else refuses even with the right key.
func (sec *resumeSecret) proves(key string, tokens ...*Grant) bool {
	tokenProof := false
	for _, g := range tokens {
		if g == nil {
			continue
		}
		if g.Identity != sec.identity || g.Room != sec.room || !g.RoomJoin {
			return false
		}
		tokenProof = sec.tokenJoined
	}
	keyProof := key != "" && subtle.ConstantTimeCompare([]byte(key), []byte(sec.key)) == 1
	return keyProof || tokenProof
}

func (h *jsonHandler) resume(data []byte) {
	if h.member != nil {
		h.fail(jsonwire.Errorf(jsonwire.CodeAlreadyJoined, "Already joined a room; send leave_room first"))
		return
	}
	var m struct {
		ParticipantSid *string `json:"participantSid"`
		ResumeKey      any     `json:"resumeKey"`
		Token          any     `json:"token"`
	}
	if json.Unmarshal(data, &m) != nil || m.ParticipantSid == nil || *m.ParticipantSid == "" || len(*m.ParticipantSid) > 64 {
		h.fail(jsonwire.Errorf(jsonwire.CodeInvalidArgument, "participantSid must be a participant sid"))
		return
	}
	// A key or token of the wrong type, or a token that does not verify
	// (expired, say), proves nothing, like a wrong one: the answer must not
	// tell a known sid from an unknown one.
	key, _ := m.ResumeKey.(string)
	var msgGrant *Grant
	if tok, _ := m.Token.(string); tok != "" && h.o.Tokens != nil {
		if g, err := h.o.Tokens.VerifyToken(tok); err == nil {
			msgGrant = g
		}
	}
	upgrade := h.s.Grant()
	mem, err := h.o.Registry.Resume(h.s.Context(), *m.ParticipantSid, func(p rooms.ParticipantInfo, secret any) rooms.Sink {
		sec, ok := secret.(*resumeSecret)
		if !ok || sec.identity != p.Identity || !sec.proves(key, upgrade, msgGrant) {
			return nil
		}
		return h.s.Sink(jsonEncoder(p.Identity, sec))
	})
	switch {
	case errors.Is(err, rooms.ErrNotResumable), errors.Is(err, rooms.ErrPermissionDenied):
		h.fail(jsonwire.Errorf(jsonwire.CodeNotFound, "No resumable participant with this sid; join again"))
		return
	case err != nil:
		h.fail(roomError(err))
		return
	}
	h.member = mem
	h.resumable = true
}

// Fields of a token's names in refusals: the values are never repeated.
const (
	fieldTokenIdentity = "token identity (sub)"
	fieldTokenRoom     = "token room (video.room)"
)

// CheckGrantNames applies the name policy to a join token's identity (sub)
// and room (video.room): both are required and follow the policy's rules.
// The error names the claim, never its value.
func CheckGrantNames(p names.Policy, g *Grant) error {
	if err := p.Identity(fieldTokenIdentity, g.Identity); err != nil {
		return err
	}
	return p.Room(fieldTokenRoom, g.Room)
}

// grantJoin applies a verified token: it must grant roomJoin, its sub and
// room must pass the name policy, its sub is the identity, its room must be
// the one asked for (or is used when none was), its grants apply.
func (h *jsonHandler) grantJoin(g *Grant, req *rooms.JoinRequest) *jsonwire.Error {
	if !g.RoomJoin {
		return jsonwire.Errorf(jsonwire.CodeUnauthenticated, "Token does not grant roomJoin")
	}
	if err := CheckGrantNames(h.o.Names, g); err != nil {
		return invalid(err)
	}
	if req.Room == "" {
		req.Room = g.Room
	}
	if g.Room == "" || g.Room != req.Room {
		return jsonwire.Errorf(jsonwire.CodePermissionDenied, "Token does not grant this room")
	}
	req.Identity = g.Identity
	if g.Name != "" {
		req.Name = g.Name
	}
	if g.Metadata != "" {
		req.Metadata = g.Metadata
	}
	if len(g.Attributes) > 0 {
		req.Attributes = g.Attributes
	}
	req.Permission = g.Permission
	return nil
}

func (h *jsonHandler) checkJoin(req rooms.JoinRequest) *jsonwire.Error {
	p := h.o.Names
	for _, err := range []error{
		p.Room("roomName", req.Room),
		p.Identity("participant.identity", req.Identity),
		p.DisplayName("participant.name", req.Name),
		p.Metadata("participant.metadata", req.Metadata),
		p.Attributes("participant.attributes", req.Attributes),
	} {
		if err != nil {
			return &jsonwire.Error{Code: jsonwire.CodeInvalidArgument, Msg: err.Error()}
		}
	}
	return nil
}

func invalid(err error) *jsonwire.Error {
	return &jsonwire.Error{Code: jsonwire.CodeInvalidArgument, Msg: err.Error()}
}

// joined handles the messages that need a room.
func (h *jsonHandler) joined(msg any) {
	ctx := h.s.Context()
	p := h.o.Names
	var (
		err   error
		grant string // named when the room says permission denied
	)
	switch m := msg.(type) {
	case jsonwire.PublishTrack:
		grant = "canPublish"
		if m.Name != "" {
			if verr := p.DisplayName("trackName", m.Name); verr != nil {
				h.fail(invalid(verr))
				return
			}
		}
		_, err = h.member.PublishTrack(ctx, rooms.TrackRequest{Kind: m.Kind, Name: m.Name, Source: m.Source, Muted: m.Muted})
	case jsonwire.TrackRef:
		grant = "canSubscribe"
		err = h.trackRef(ctx, m)
	case jsonwire.MuteTrack:
		_, err = h.member.MuteTrack(ctx, m.TrackID, m.Muted)
	case jsonwire.UpdateMetadata:
		grant = "canUpdateOwnMetadata"
		if m.Name != nil {
			if verr := p.DisplayName("name", *m.Name); verr != nil {
				h.fail(invalid(verr))
				return
			}
		}
		if m.Metadata != nil {
			if verr := p.Metadata("metadata", *m.Metadata); verr != nil {
				h.fail(invalid(verr))
				return
			}
		}
		if verr := p.Attributes("attributes", m.Attributes); verr != nil {
			h.fail(invalid(verr))
			return
		}
		_, err = h.member.Update(ctx, rooms.Update{Name: m.Name, Metadata: m.Metadata, Attributes: m.Attributes})
	case jsonwire.SendData:
		grant = "canPublishData"
		if m.Topic != "" {
			if verr := p.DisplayName("topic", m.Topic); verr != nil {
				h.fail(invalid(verr))
				return
			}
		}
		for _, id := range m.Destinations {
			if verr := p.Identity("destinationIdentities", id); verr != nil {
				h.fail(invalid(verr))
				return
			}
		}
		err = h.member.SendData(ctx, rooms.DataPacket{
			Payload: m.Payload, Topic: m.Topic, Destinations: m.Destinations, Reliable: m.Reliable,
		})
	case jsonwire.LeaveRoom:
		room := h.member.Room()
		err = h.member.Leave(ctx, rooms.ReasonLeft)
		h.member = nil
		if err == nil {
			h.send(jsonwire.RoomLeft(room))
		}
	}
	if err != nil {
		if errors.Is(err, rooms.ErrNotJoined) {
			h.member = nil
		}
		if errors.Is(err, rooms.ErrPermissionDenied) && grant != "" {
			h.fail(jsonwire.Errorf(jsonwire.CodePermissionDenied, "The token does not grant %s", grant))
			return
		}
		h.fail(roomError(err))
	}
}

func (h *jsonHandler) trackRef(ctx context.Context, m jsonwire.TrackRef) error {
	switch m.Kind {
	case jsonwire.TypeUnpublishTrack:
		_, err := h.member.UnpublishTrack(ctx, m.TrackID)
		return err
	case jsonwire.TypeSubscribeTrack:
		if err := h.member.SetSubscribed(ctx, m.TrackID, true); err != nil {
			return err
		}
		h.send(jsonwire.TrackResubscribed(m.TrackID))
	default:
		if err := h.member.SetSubscribed(ctx, m.TrackID, false); err != nil {
			return err
		}
		h.send(jsonwire.TrackUnsubscribed(m.TrackID))
	}
	return nil
}

// roomError maps a rooms error to the dialect's error message.
func roomError(err error) *jsonwire.Error {
	switch {
	case errors.Is(err, rooms.ErrRoomFull):
		return jsonwire.Errorf(jsonwire.CodeRoomFull, "Room is full")
	case errors.Is(err, rooms.ErrTrackNotFound):
		return jsonwire.Errorf(jsonwire.CodeNotFound, "Track not found")
	case errors.Is(err, rooms.ErrPermissionDenied):
		return jsonwire.Errorf(jsonwire.CodePermissionDenied, "Permission denied by the token's grants")
	case errors.Is(err, rooms.ErrNotJoined):
		return jsonwire.Errorf(jsonwire.CodeNotJoined, "Not in a room")
	case errors.Is(err, rooms.ErrClosed), errors.Is(err, context.Canceled):
		return jsonwire.Errorf(jsonwire.CodeInternal, "Server is shutting down")
	}
	return jsonwire.Errorf(jsonwire.CodeInternal, "Internal server error")
}
