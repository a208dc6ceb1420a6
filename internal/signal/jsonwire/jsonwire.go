// Package jsonwire is the JSON dialect of /rtc (SPEC §6.1): decoding of the
// client's messages and encoding of the server's, including room events. It
// knows nothing of sockets or sessions.
//
// Keys match exactly (encoding/json alone would match "RoomName" to
// roomName), a field of the wrong type is an invalid_argument naming it, and
// unknown fields are ignored.
package jsonwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Message types the client sends.
const (
	TypeJoinRoom         = "join_room"
	TypePublishTrack     = "publish_track"
	TypeUnpublishTrack   = "unpublish_track"
	TypeMuteTrack        = "mute_track"
	TypeUnsubscribeTrack = "unsubscribe_track"
	TypeSubscribeTrack   = "subscribe_track"
	TypeUpdateMetadata   = "update_metadata"
	TypeSendData         = "send_data"
	TypeLeaveRoom        = "leave_room"
	TypePing             = "ping"
)

// Error codes of the error message.
const (
	CodeInvalidMessage   = "invalid_message"
	CodeUnknownType      = "unknown_type"
	CodeInvalidArgument  = "invalid_argument"
	CodeUnauthenticated  = "unauthenticated"
	CodeNotJoined        = "not_joined"
	CodeAlreadyJoined    = "already_joined"
	CodePermissionDenied = "permission_denied"
	CodeRoomFull         = "room_full"
	CodeNotFound         = "not_found"
	CodeInternal         = "internal"
)

// MsgInvalidFormat is the old mock's exact text for invalid_message.
const MsgInvalidFormat = "Invalid message format"

// Error is a protocol error to answer with an error message.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf makes an *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func invalidArg(field, rule string) *Error {
	return &Error{Code: CodeInvalidArgument, Msg: field + " " + rule}
}

// ParticipantIn is join_room's participant.
type ParticipantIn struct {
	Identity   string
	Name       string
	Metadata   string
	Attributes map[string]string
}

// JoinRoom is join_room.
type JoinRoom struct {
	RoomName    string
	Participant ParticipantIn
	Token       string
	Resumable   bool
}

// PublishTrack is publish_track.
type PublishTrack struct {
	Kind   string
	Name   string
	Source string
	Muted  bool
}

// TrackRef is unpublish_track, unsubscribe_track and subscribe_track; Kind
// is the message type.
type TrackRef struct {
	Kind    string
	TrackID string
}

// MuteTrack is mute_track.
type MuteTrack struct {
	TrackID string
	Muted   bool
}

// UpdateMetadata is update_metadata; nil fields are unchanged.
type UpdateMetadata struct {
	Metadata   *string
	Name       *string
	Attributes map[string]string
}

// SendData is send_data. Payload holds the bytes: the string's UTF-8, or
// the decoded bytes when encoding is "base64".
type SendData struct {
	Payload      []byte
	Topic        string
	Destinations []string
	Reliable     bool
}

// Ping is ping. Timestamp is the client's value, echoed as is.
type Ping struct {
	Timestamp json.RawMessage
}

// LeaveRoom is leave_room.
type LeaveRoom struct{}

// Decode reads one client frame. The result is one of the message types
// above (by value); the error is always an *Error.
func Decode(data []byte) (msgType string, msg any, err *Error) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil || obj == nil {
		return "", nil, &Error{Code: CodeInvalidMessage, Msg: MsgInvalidFormat}
	}
	f := fields(obj)
	t, ok := f.rawString("type")
	if !ok {
		return "", nil, &Error{Code: CodeInvalidMessage, Msg: MsgInvalidFormat}
	}
	switch t {
	case TypeJoinRoom:
		msg, err = decodeJoin(f)
	case TypePublishTrack:
		msg, err = decodePublish(f)
	case TypeUnpublishTrack, TypeUnsubscribeTrack, TypeSubscribeTrack:
		m := TrackRef{Kind: t}
		m.TrackID, err = f.requiredString("trackId")
		msg = m
	case TypeMuteTrack:
		var m MuteTrack
		if m.TrackID, err = f.requiredString("trackId"); err == nil {
			var set bool
			m.Muted, set, err = f.boolean("muted")
			if err == nil && !set {
				err = invalidArg("muted", "is required")
			}
		}
		msg = m
	case TypeUpdateMetadata:
		msg, err = decodeUpdate(f)
	case TypeSendData:
		msg, err = decodeData(f)
	case TypeLeaveRoom:
		msg = LeaveRoom{}
	case TypePing:
		msg = Ping{Timestamp: obj["timestamp"]}
	default:
		return t, nil, &Error{Code: CodeUnknownType, Msg: "Unknown message type"}
	}
	if err != nil {
		return t, nil, err
	}
	return t, msg, nil
}

func decodeJoin(f fields) (JoinRoom, *Error) {
	var m JoinRoom
	var err *Error
	if m.RoomName, _, err = f.str("roomName"); err != nil {
		return m, err
	}
	if m.Token, _, err = f.str("token"); err != nil {
		return m, err
	}
	if m.Resumable, _, err = f.boolean("resumable"); err != nil {
		return m, err
	}
	p, present, err := f.object("participant")
	if err != nil || !present {
		return m, err
	}
	if m.Participant.Identity, _, err = p.str("identity"); err != nil {
		return m, prefixed("participant.", err)
	}
	if m.Participant.Name, _, err = p.str("name"); err != nil {
		return m, prefixed("participant.", err)
	}
	if m.Participant.Metadata, _, err = p.str("metadata"); err != nil {
		return m, prefixed("participant.", err)
	}
	if m.Participant.Attributes, err = p.stringMap("attributes"); err != nil {
		return m, prefixed("participant.", err)
	}
	return m, nil
}

func prefixed(p string, e *Error) *Error {
	if e.Code == CodeInvalidArgument {
		return &Error{Code: e.Code, Msg: p + e.Msg}
	}
	return e
}

func decodePublish(f fields) (PublishTrack, *Error) {
	var m PublishTrack
	var err *Error
	if m.Kind, err = f.requiredString("trackKind"); err != nil {
		return m, err
	}
	if m.Kind != "audio" && m.Kind != "video" {
		return m, invalidArg("trackKind", `must be "audio" or "video"`)
	}
	if m.Name, _, err = f.str("trackName"); err != nil {
		return m, err
	}
	if m.Source, _, err = f.str("source"); err != nil {
		return m, err
	}
	if m.Source != "" && !slices.Contains(rooms.Sources(), m.Source) {
		return m, invalidArg("source", "must be one of "+strings.Join(rooms.Sources(), ", "))
	}
	if m.Muted, _, err = f.boolean("muted"); err != nil {
		return m, err
	}
	return m, nil
}

func decodeUpdate(f fields) (UpdateMetadata, *Error) {
	var m UpdateMetadata
	for _, k := range []string{"metadata", "name"} {
		s, present, err := f.str(k)
		if err != nil {
			return m, err
		}
		if present {
			if k == "metadata" {
				m.Metadata = &s
			} else {
				m.Name = &s
			}
		}
	}
	var err *Error
	if m.Attributes, err = f.stringMap("attributes"); err != nil {
		return m, err
	}
	if m.Metadata == nil && m.Name == nil && m.Attributes == nil {
		return m, invalidArg("metadata, name or attributes", "is required")
	}
	return m, nil
}

func decodeData(f fields) (SendData, *Error) {
	var m SendData
	payload, present, err := f.str("payload")
	if err != nil {
		return m, err
	}
	if !present {
		return m, invalidArg("payload", "is required")
	}
	enc, _, err := f.str("encoding")
	if err != nil {
		return m, err
	}
	switch enc {
	case "", "utf8", "utf-8":
		m.Payload = []byte(payload)
	case "base64":
		b, derr := b64.DecodeString(payload)
		if derr != nil {
			return m, invalidArg("payload", "must be valid base64")
		}
		m.Payload = b
	default:
		return m, invalidArg("encoding", `must be "base64" or absent`)
	}
	if m.Topic, _, err = f.str("topic"); err != nil {
		return m, err
	}
	if m.Destinations, err = f.stringList("destinationIdentities"); err != nil {
		return m, err
	}
	rel, set, err := f.boolean("reliable")
	if err != nil {
		return m, err
	}
	m.Reliable = rel || !set
	return m, nil
}

// fields reads typed values by exact key.
type fields map[string]json.RawMessage

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// rawString returns a string field; false when absent or not a string.
func (f fields) rawString(k string) (string, bool) {
	raw, ok := f[k]
	if !ok || isNull(raw) {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// str returns an optional string field; null counts as absent.
func (f fields) str(k string) (string, bool, *Error) {
	raw, ok := f[k]
	if !ok || isNull(raw) {
		return "", false, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false, invalidArg(k, "must be a string")
	}
	return s, true, nil
}

func (f fields) requiredString(k string) (string, *Error) {
	s, present, err := f.str(k)
	if err != nil {
		return "", err
	}
	if !present || s == "" {
		return "", invalidArg(k, "is required")
	}
	return s, nil
}

func (f fields) boolean(k string) (bool, bool, *Error) {
	raw, ok := f[k]
	if !ok || isNull(raw) {
		return false, false, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return false, false, invalidArg(k, "must be a boolean")
	}
	return b, true, nil
}

func (f fields) object(k string) (fields, bool, *Error) {
	raw, ok := f[k]
	if !ok || isNull(raw) {
		return nil, false, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false, invalidArg(k, "must be an object")
	}
	return fields(m), true, nil
}

func (f fields) stringMap(k string) (map[string]string, *Error) {
	raw, ok := f[k]
	if !ok || isNull(raw) {
		return nil, nil
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, invalidArg(k, "must be an object of strings")
	}
	return m, nil
}

func (f fields) stringList(k string) ([]string, *Error) {
	raw, ok := f[k]
	if !ok || isNull(raw) {
		return nil, nil
	}
	var l []string
	if json.Unmarshal(raw, &l) != nil {
		return nil, invalidArg(k, "must be an array of strings")
	}
	return l, nil
}

// TimeFormat is how every timestamp of the JSON dialect is written: RFC 3339
// in UTC with milliseconds, as JavaScript's toISOString.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// FormatTime writes t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }
