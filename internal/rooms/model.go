// Package rooms holds all room state of the mock, independent of any wire
// protocol: a Registry of rooms, one goroutine per room that alone mutates
// it, participants with their tracks, permissions and states, and the
// protocol-neutral Events a room delivers to its members through Sinks and to
// an optional Observer (metrics, journal, webhooks).
//
// Both signalling dialects (the JSON dialect of SPEC §6.1 and the LiveKit
// protobuf dialect) and server-side fake participants join the same rooms,
// so the model carries every LiveKit concept those dialects need.
package rooms

import (
	"errors"
	"maps"
	"slices"
	"time"
)

// State is a participant's state, numbered as LiveKit's ParticipantInfo.State.
type State int

// Participant states.
const (
	StateJoining      State = 0
	StateJoined       State = 1
	StateActive       State = 2
	StateDisconnected State = 3
)

func (s State) String() string {
	switch s {
	case StateJoining:
		return "JOINING"
	case StateJoined:
		return "JOINED"
	case StateActive:
		return "ACTIVE"
	case StateDisconnected:
		return "DISCONNECTED"
	}
	return "UNKNOWN"
}

// Dialects a participant can speak.
const (
	DialectJSON    = "json"
	DialectLiveKit = "livekit"
	DialectFake    = "fake"
)

// Track kinds and sources (LiveKit's TrackType and TrackSource, lower case).
const (
	KindAudio = "audio"
	KindVideo = "video"
	KindData  = "data"

	SourceUnknown          = "unknown"
	SourceCamera           = "camera"
	SourceMicrophone       = "microphone"
	SourceScreenShare      = "screen_share"
	SourceScreenShareAudio = "screen_share_audio"
)

// Sources lists the track sources LiveKit knows, for validating input.
func Sources() []string {
	return []string{SourceCamera, SourceMicrophone, SourceScreenShare, SourceScreenShareAudio, SourceUnknown}
}

// Reason says why a participant left or a session ended (SPEC §6.1).
type Reason string

// Leave reasons.
const (
	ReasonLeft              Reason = "left"
	ReasonClosed            Reason = "closed"
	ReasonDuplicateIdentity Reason = "duplicate_identity"
	ReasonRemoved           Reason = "removed"
	ReasonRoomDeleted       Reason = "room_deleted"
	ReasonServerShutdown    Reason = "server_shutdown"
	ReasonSlowConsumer      Reason = "slow_consumer"
	ReasonTimeout           Reason = "timeout"
)

// Errors of the registry and room commands. Dialects map them to their own
// error codes.
var (
	ErrRoomFull            = errors.New("room is full")
	ErrRoomNotFound        = errors.New("room not found")
	ErrParticipantNotFound = errors.New("participant not found")
	ErrTrackNotFound       = errors.New("track not found")
	ErrNotJoined           = errors.New("participant is no longer in the room")
	ErrPermissionDenied    = errors.New("permission denied")
	ErrSlowConsumer        = errors.New("participant cannot receive the join snapshot")
	ErrClosed              = errors.New("room registry is closed")
)

// Permission is what a participant may do; from its token's video grant, or
// every grant for a JSON session without a token.
type Permission struct {
	CanPublish        bool
	CanSubscribe      bool
	CanPublishData    bool
	CanUpdateMetadata bool
	Hidden            bool
	// CanPublishSources, when not empty, lists the sources (SourceCamera, …)
	// the participant may publish.
	CanPublishSources []string
}

// AllPermissions is the permission of a session without a token.
func AllPermissions() Permission {
	return Permission{CanPublish: true, CanSubscribe: true, CanPublishData: true, CanUpdateMetadata: true}
}

func (p Permission) canPublishSource(source string) bool {
	if !p.CanPublish {
		return false
	}
	return len(p.CanPublishSources) == 0 || slices.Contains(p.CanPublishSources, source)
}

// TrackInfo describes a published track.
type TrackInfo struct {
	Sid    string
	Kind   string // KindAudio, KindVideo
	Name   string
	Source string // SourceCamera, …
	Muted  bool
	// Extra details a LiveKit publisher announces; zero for JSON clients.
	MimeType string
	Width    uint32
	Height   uint32
	Stereo   bool
}

// ParticipantInfo is a copy of a participant's state; holders may keep it.
type ParticipantInfo struct {
	Sid        string
	Identity   string
	Name       string
	Metadata   string
	Attributes map[string]string
	State      State
	Dialect    string
	// Kind is the token's participant kind ("agent", "sip", ...); "" is a
	// standard participant.
	Kind     string
	JoinedAt time.Time
	// Version rises on every change of the participant or its tracks.
	Version    uint32
	Permission Permission
	Tracks     []TrackInfo
}

func (p ParticipantInfo) clone() ParticipantInfo {
	p.Attributes = maps.Clone(p.Attributes)
	p.Tracks = slices.Clone(p.Tracks)
	p.Permission.CanPublishSources = slices.Clone(p.Permission.CanPublishSources)
	return p
}

// RoomInfo is a copy of a room's state.
type RoomInfo struct {
	Name             string
	Sid              string
	Metadata         string
	CreatedAt        time.Time
	MaxParticipants  int
	EmptyTimeout     time.Duration
	DepartureTimeout time.Duration
	// Agents are the agent dispatches the room was created with (a token's
	// roomConfig.agents, CreateRoom's agents); empty: LiveKit's default
	// dispatch of the unnamed agent.
	Agents []AgentDispatch
	// Participants in join order. In a join snapshot: the others the joiner
	// may see (hidden participants left out).
	Participants []ParticipantInfo
}

// MaxAgents bounds the agents a room's configuration may list (CreateRoom,
// a token's roomConfig).
const MaxAgents = 64

// AgentDispatch asks for an agent in a room when the room is created.
type AgentDispatch struct {
	AgentName string
	Metadata  string
}

func cloneAgents(a []AgentDispatch) []AgentDispatch {
	if a == nil {
		return nil
	}
	return slices.Clone(a)
}

// NumParticipants counts the participants as LiveKit's num_participants
// does: agents and egress (dependent participants) left out.
func (r RoomInfo) NumParticipants() int {
	n := 0
	for _, p := range r.Participants {
		if !Dependent(p.Kind) {
			n++
		}
	}
	return n
}

// Dependent tells whether a participant of this kind is one LiveKit does not
// count: it neither fills max_participants nor counts in num_participants.
func Dependent(kind string) bool { return kind == "agent" || kind == "egress" }

// DataPacket is user data sent by one participant to others.
type DataPacket struct {
	// Filled in by the room: the sender.
	FromIdentity string
	FromSid      string
	Payload      []byte // never modified after sending
	Topic        string
	// Destinations limits delivery to these identities; empty: everyone else.
	Destinations []string
	Reliable     bool
	// Kind is the LiveKit DataPacket kind ("user", "rpc_request",
	// "stream_chunk", ...); "" means user data. Packets of other kinds reach
	// LiveKit-dialect members and fakes (a scripted agent reads streams and
	// RPC), not JSON ones: they cannot read them.
	Kind string
	// Nonce, 16 bytes (a UUID) or none, marks a user packet as one message:
	// a nonce the room saw among its last NonceMemory packets makes the
	// packet a duplicate, dropped without an error (LiveKit's retry-safe
	// SendData).
	Nonce []byte
	// Raw is the packet as a LiveKit client sent it (sender stamped), for
	// relaying to LiveKit clients unchanged; nil for data from JSON or fake
	// participants, which LiveKit clients get re-encoded from the fields above.
	Raw []byte
}

// IsUserData reports whether the packet carries user data (Payload, Topic)
// that every dialect can deliver.
func (d *DataPacket) IsUserData() bool { return d.Kind == "" || d.Kind == "user" }

// EventKind names what happened.
type EventKind int

// Event kinds.
const (
	// EventJoined goes to the joiner only, before anything else: Room is the
	// snapshot (others with their tracks), Participant the joiner. Observers
	// see EventParticipantJoined instead.
	EventJoined EventKind = iota + 1
	EventRoomStarted
	EventParticipantJoined
	EventParticipantUpdated // name, metadata, attributes, state or permission
	EventParticipantLeft    // Reason says why
	EventTrackPublished
	EventTrackUnpublished
	EventTrackMuted
	EventDataReceived
	EventRoomUpdated // room metadata
	EventRoomClosed  // observers only; members are closed through Sink.Close
)

func (k EventKind) String() string {
	switch k {
	case EventJoined:
		return "joined"
	case EventRoomStarted:
		return "room_started"
	case EventParticipantJoined:
		return "participant_joined"
	case EventParticipantUpdated:
		return "participant_updated"
	case EventParticipantLeft:
		return "participant_left"
	case EventTrackPublished:
		return "track_published"
	case EventTrackUnpublished:
		return "track_unpublished"
	case EventTrackMuted:
		return "track_muted"
	case EventDataReceived:
		return "data_received"
	case EventRoomUpdated:
		return "room_updated"
	case EventRoomClosed:
		return "room_closed"
	case EventTrackSubscribed:
		return "track_subscribed"
	case EventTrackUnsubscribed:
		return "track_unsubscribed"
	}
	return "unknown"
}

// Event is what a room tells its members and its observer. Members get
// events about themselves too (their own track published, muted, their own
// update) except EventParticipantJoined/Left and their own data. Every field
// is a fresh copy owned by nobody: readers must not modify it.
type Event struct {
	Kind        EventKind
	At          time.Time
	RoomName    string
	RoomSid     string
	Room        *RoomInfo       // EventJoined (snapshot), EventRoomUpdated, EventRoomStarted, EventRoomClosed
	Participant ParticipantInfo // the subject; for tracks, their owner
	Track       TrackInfo       // track events
	Data        *DataPacket     // EventDataReceived
	Reason      Reason          // EventParticipantLeft, EventRoomClosed
}

// Sink is how a room reaches one member's session. Both methods are called
// from the room goroutine and must not block.
type Sink interface {
	// Send queues ev. It reports false when the session's queue is full; the
	// room then removes the member with ReasonSlowConsumer.
	Send(ev Event) bool
	// Close tells the session that the room has removed its member
	// (duplicate_identity, slow_consumer, removed, room_deleted,
	// server_shutdown): no more events follow.
	Close(reason Reason)
}

// Observer sees every event of every room (metrics, journal, webhooks). It is
// called on room goroutines and must not block.
type Observer interface {
	Observe(ev Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Observe calls f(ev).
func (f ObserverFunc) Observe(ev Event) { f(ev) }

// JoinRequest is what a session asks of Registry.Join.
type JoinRequest struct {
	Room       string
	Identity   string
	Name       string
	Metadata   string
	Attributes map[string]string
	Permission Permission
	Dialect    string
	Kind       string // the token's participant kind; "" standard
	// State is the state after joining: StateActive for JSON and fake
	// participants (SPEC §8), StateJoined for LiveKit ones until their
	// PeerConnection is up. The zero value is StateJoining.
	State State
	// RoomAgents, when not nil, are the agent dispatches of the room if this
	// join creates it (the token's roomConfig.agents); ignored otherwise.
	RoomAgents []AgentDispatch
	// Hold delays the announcement of the join to the other members by up
	// to this long (0: at once). Updates of the participant's state made
	// meanwhile (JOINED → ACTIVE) wait with it and follow in order; anything
	// else it does (publish, data, metadata, leave) announces it at once
	// first. The participant itself, observers (journal, webhooks) and
	// /api/rooms see it at once. LiveKit sessions use it so that a busy
	// room's clients do not all handle the newcomer while it connects.
	Hold time.Duration
	// Secret stays with the member for Registry.Resume's newSink to check
	// (the JSON dialect's resume key). It is in no ParticipantInfo, event
	// or listing.
	Secret any
}

// TrackRequest asks to publish a track.
type TrackRequest struct {
	Kind     string
	Name     string
	Source   string // empty: SourceUnknown
	Muted    bool
	MimeType string
	Width    uint32
	Height   uint32
	Stereo   bool
}

// Update changes a participant; nil fields stay as they are. An attribute
// with an empty value is deleted, as in LiveKit.
type Update struct {
	Name       *string
	Metadata   *string
	Attributes map[string]string
}
