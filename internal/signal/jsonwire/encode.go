package jsonwire

import (
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

var b64 = base64.StdEncoding

// ServerInfo is the welcome's serverInfo.
type ServerInfo struct {
	Version  string `json:"version"`
	Node     string `json:"node"`
	Region   string `json:"region"`
	Protocol int    `json:"protocol"`
}

// Participant is a participant as the JSON dialect shows it.
type Participant struct {
	Sid        string            `json:"sid"`
	Identity   string            `json:"identity"`
	Name       string            `json:"name"`
	Metadata   string            `json:"metadata"`
	Attributes map[string]string `json:"attributes"`
	State      string            `json:"state"`
	Dialect    string            `json:"dialect"`
	JoinedAt   string            `json:"joinedAt"`
	Tracks     []Track           `json:"tracks"`
}

// Track is a track as the JSON dialect shows it; id and sid are the same.
type Track struct {
	ID             string `json:"id"`
	Sid            string `json:"sid"`
	Kind           string `json:"kind"`
	Name           string `json:"name"`
	Source         string `json:"source"`
	Muted          bool   `json:"muted"`
	Participant    string `json:"participant"` // identity
	ParticipantSid string `json:"participantSid"`
}

// Room is room_joined's room.
type Room struct {
	Name         string   `json:"name"`
	Sid          string   `json:"sid"`
	Participants []string `json:"participants"` // identities, the joiner included
	CreatedAt    string   `json:"createdAt"`
	Metadata     string   `json:"metadata"`
}

// ParticipantOf converts a rooms participant.
func ParticipantOf(p rooms.ParticipantInfo) Participant {
	out := Participant{
		Sid: p.Sid, Identity: p.Identity, Name: p.Name, Metadata: p.Metadata,
		Attributes: p.Attributes, State: p.State.String(), Dialect: p.Dialect,
		JoinedAt: FormatTime(p.JoinedAt), Tracks: make([]Track, 0, len(p.Tracks)),
	}
	if out.Attributes == nil {
		out.Attributes = map[string]string{}
	}
	for _, t := range p.Tracks {
		out.Tracks = append(out.Tracks, TrackOf(t, p))
	}
	return out
}

// TrackOf converts a rooms track of owner p.
func TrackOf(t rooms.TrackInfo, p rooms.ParticipantInfo) Track {
	return Track{
		ID: t.Sid, Sid: t.Sid, Kind: t.Kind, Name: t.Name, Source: t.Source, Muted: t.Muted,
		Participant: p.Identity, ParticipantSid: p.Sid,
	}
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value here is made of strings, numbers and maps of strings.
		panic("jsonwire: " + err.Error())
	}
	return b
}

// Welcome is sent on connect.
func Welcome(clientID string, si ServerInfo) []byte {
	return marshal(struct {
		Type       string     `json:"type"`
		ClientID   string     `json:"clientId"`
		ServerInfo ServerInfo `json:"serverInfo"`
	}{"welcome", clientID, si})
}

// ErrorMessage is {"type":"error","error","code"}.
func ErrorMessage(e *Error) []byte {
	return marshal(struct {
		Type  string `json:"type"`
		Error string `json:"error"`
		Code  string `json:"code"`
	}{"error", e.Msg, e.Code})
}

// Disconnected is the notice sent before the server closes a session.
func Disconnected(reason string) []byte {
	return marshal(struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}{"disconnected", reason})
}

// Pong answers ping: the client's timestamp (or the server time when it
// sent none) and the server time, both in Unix milliseconds like Date.now().
func Pong(ts json.RawMessage, now time.Time) []byte {
	ms := now.UnixMilli()
	var v any = ms
	if len(ts) > 0 && !isNull(ts) {
		v = ts
	}
	return marshal(struct {
		Type       string `json:"type"`
		Timestamp  any    `json:"timestamp"`
		ServerTime int64  `json:"serverTime"`
	}{"pong", v, ms})
}

// RoomLeft answers leave_room.
func RoomLeft(room string) []byte {
	return marshal(struct {
		Type string `json:"type"`
		Room string `json:"room"`
	}{"room_left", room})
}

// TrackUnsubscribed answers unsubscribe_track; TrackSubscribedAgain answers
// subscribe_track.
func TrackUnsubscribed(trackID string) []byte {
	return marshal(struct {
		Type    string `json:"type"`
		TrackID string `json:"trackId"`
	}{"track_unsubscribed", trackID})
}

// TrackResubscribed answers subscribe_track (an addition to the old mock).
func TrackResubscribed(trackID string) []byte {
	return marshal(struct {
		Type    string `json:"type"`
		TrackID string `json:"trackId"`
	}{"track_resubscribed", trackID})
}

// Types of the answers to join_room and resume.
const (
	TypeRoomJoined = "room_joined"
	TypeResumed    = "resumed"
)

// Joined encodes the snapshot of a join (EventJoined) or a resume
// (EventParticipantResumed) for the participant itself, as typ:
// {type, room, participant, others} and, when resumeKey is not empty, the
// secret a later resume must present.
func Joined(ev rooms.Event, typ, resumeKey string) []byte {
	ri := ev.Room
	ids := make([]string, 0, len(ri.Participants)+1)
	others := make([]Participant, 0, len(ri.Participants))
	for _, p := range ri.Participants {
		ids = append(ids, p.Identity)
		others = append(others, ParticipantOf(p))
	}
	ids = append(ids, ev.Participant.Identity)
	return marshal(struct {
		typed
		Room        Room          `json:"room"`
		Participant Participant   `json:"participant"`
		Others      []Participant `json:"others"`
		ResumeKey   string        `json:"resumeKey,omitempty"`
	}{typed{typ}, Room{
		Name: ri.Name, Sid: ri.Sid, Participants: ids, CreatedAt: FormatTime(ri.CreatedAt), Metadata: ri.Metadata,
	}, ParticipantOf(ev.Participant), others, resumeKey})
}

type typed struct {
	Type string `json:"type"`
}

// Event encodes a room event for the member whose identity is self.
// ok is false for events the JSON dialect does not show.
func Event(ev rooms.Event, self string) ([]byte, bool) {
	mine := ev.Participant.Identity == self
	switch ev.Kind {
	case rooms.EventJoined:
		return Joined(ev, TypeRoomJoined, ""), true
	case rooms.EventParticipantJoined:
		return participantMsg("participant_connected", ev.Participant, ""), true
	case rooms.EventParticipantUpdated:
		return participantMsg("participant_updated", ev.Participant, ""), true
	case rooms.EventParticipantLeft:
		return participantMsg("participant_disconnected", ev.Participant, string(ev.Reason)), true
	case rooms.EventTrackPublished:
		t := "track_subscribed"
		if mine {
			t = "track_published"
		}
		return marshal(struct {
			typed
			Track Track `json:"track"`
		}{typed{t}, TrackOf(ev.Track, ev.Participant)}), true
	case rooms.EventTrackUnpublished:
		if mine {
			return marshal(struct {
				typed
				TrackID string `json:"trackId"`
			}{typed{"track_unpublished"}, ev.Track.Sid}), true
		}
		return marshal(struct {
			typed
			TrackID     string `json:"trackId"`
			Participant string `json:"participant"`
		}{typed{"track_unpublished"}, ev.Track.Sid, ev.Participant.Identity}), true
	case rooms.EventTrackMuted:
		return marshal(struct {
			typed
			TrackID     string `json:"trackId"`
			Muted       bool   `json:"muted"`
			Participant string `json:"participant"`
			Track       Track  `json:"track"`
		}{typed{"track_muted"}, ev.Track.Sid, ev.Track.Muted, ev.Participant.Identity, TrackOf(ev.Track, ev.Participant)}), true
	case rooms.EventDataReceived:
		return dataMsg(ev), true
	case rooms.EventTrackSubscribed:
		// The server (RoomService UpdateSubscriptions) turned a subscription
		// back on: the same answer as the client's own subscribe_track.
		return marshal(struct {
			typed
			TrackID string `json:"trackId"`
		}{typed{"track_resubscribed"}, ev.Track.Sid}), true
	case rooms.EventTrackUnsubscribed:
		return marshal(struct {
			typed
			TrackID string `json:"trackId"`
		}{typed{"track_unsubscribed"}, ev.Track.Sid}), true
	case rooms.EventRoomUpdated:
		return marshal(struct {
			typed
			Room struct {
				Name     string `json:"name"`
				Sid      string `json:"sid"`
				Metadata string `json:"metadata"`
			} `json:"room"`
		}{typed: typed{"room_updated"}, Room: struct {
			Name     string `json:"name"`
			Sid      string `json:"sid"`
			Metadata string `json:"metadata"`
		}{ev.RoomName, ev.RoomSid, ev.Room.Metadata}}), true
	}
	return nil, false
}

func participantMsg(t string, p rooms.ParticipantInfo, reason string) []byte {
	return marshal(struct {
		typed
		Participant Participant `json:"participant"`
		Reason      string      `json:"reason,omitempty"`
	}{typed{t}, ParticipantOf(p), reason})
}

// dataMsg: UTF-8 payloads as strings, anything else base64 with
// "encoding":"base64".
func dataMsg(ev rooms.Event) []byte {
	d := ev.Data
	payload, enc := string(d.Payload), ""
	if !utf8.Valid(d.Payload) {
		payload, enc = b64.EncodeToString(d.Payload), "base64"
	}
	return marshal(struct {
		typed
		From     string `json:"from"`
		FromSid  string `json:"fromSid"`
		Payload  string `json:"payload"`
		Topic    string `json:"topic"`
		Encoding string `json:"encoding,omitempty"`
	}{typed{"data_received"}, d.FromIdentity, d.FromSid, payload, d.Topic, enc})
}
