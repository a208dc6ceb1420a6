// Package pbwire is the LiveKit protobuf dialect of the signalling socket: it
// decodes SignalRequest frames into plain Go values, builds SignalResponse
// frames from plain Go values, parses the /rtc and /rtc/v1 upgrade query, and
// answers refused joins with the statuses and bodies of a real LiveKit server.
// It does no networking. github.com/livekit/protocol is imported here (and in
// internal/rtc) only, so callers work with the value types of this file.
package pbwire

import "time"

// ParticipantState mirrors ParticipantInfo.State.
type ParticipantState int

// Participant states, in LiveKit's order.
const (
	StateJoining ParticipantState = iota
	StateJoined
	StateActive
	StateDisconnected
)

// Permission is what a participant may do (ParticipantPermission).
type Permission struct {
	CanSubscribe      bool
	CanPublish        bool
	CanPublishData    bool
	CanUpdateMetadata bool
	Hidden            bool
	Recorder          bool
	Agent             bool
	// CanPublishSources holds lower-case source names ("camera",
	// "microphone", "screen_share", "screen_share_audio"); empty means all.
	CanPublishSources []string
}

// Track is a published track (TrackInfo).
type Track struct {
	SID       string // TR_…
	Kind      string // "audio" or "video"
	Name      string
	Source    string // lower-case source name; "" or unknown means unknown
	Muted     bool
	Width     uint32
	Height    uint32
	Simulcast bool
	MimeType  string
	Mid       string
	Stream    string
}

// Participant is a snapshot of one participant (ParticipantInfo).
type Participant struct {
	SID        string // PA_…
	Identity   string
	Name       string
	Metadata   string
	Attributes map[string]string
	State      ParticipantState
	Version    uint32
	Permission Permission
	Tracks     []Track
	JoinedAt   time.Time
	// Kind is a lower-case ParticipantInfo.Kind name ("standard", "agent",
	// ...); "" means standard.
	Kind        string
	IsPublisher bool
	Region      string
	// DisconnectReason is one of the registry's reason strings (see
	// DisconnectReason); it is sent only with StateDisconnected.
	DisconnectReason string
}

// Room is a snapshot of a room (livekit.Room).
type Room struct {
	SID              string // RM_…
	Name             string
	Metadata         string
	EmptyTimeout     uint32 // seconds
	DepartureTimeout uint32 // seconds
	MaxParticipants  uint32
	CreatedAt        time.Time
	NumParticipants  uint32
	NumPublishers    uint32
	ActiveRecording  bool
}

// ICEServer is one STUN/TURN server handed to clients.
type ICEServer struct {
	URLs       []string
	Username   string
	Credential string
}

// ServerInfo describes this server to clients. Zero fields take the values a
// v1.13.5 LiveKit server sends (see DefaultServerVersion).
type ServerInfo struct {
	Version  string
	Protocol int32
	NodeID   string // ND_…
	Region   string
}

// What the mock claims to be: clients gate features on these (RPC needs a
// version >= 1.8.0; livekit-client fails without any version).
const (
	DefaultServerVersion  = "1.13.5"
	DefaultServerProtocol = 17
	DefaultPingInterval   = 5  // seconds; 0 panics rtc-node
	DefaultPingTimeout    = 15 // seconds
)

// Join is everything the first frame of a session carries.
type Join struct {
	Room        Room
	Participant Participant
	Others      []Participant
	Server      ServerInfo
	ICEServers  []ICEServer
	// PingInterval and PingTimeout in seconds; zero takes the defaults.
	PingInterval int32
	PingTimeout  int32
}
