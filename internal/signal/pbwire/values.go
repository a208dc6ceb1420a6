// Package pbwire is the LiveKit protobuf dialect of the signalling socket: it
// decodes SignalRequest frames into plain Go values, builds SignalResponse
// frames from plain Go values, parses the /rtc and /rtc/v1 upgrade query, and
// answers refused joins with the statuses and bodies of a real LiveKit server.
// It does no networking. Rooms and participants are converted to protobuf by
// internal/lkproto, the one conversion shared with Twirp and webhooks.
package pbwire

import "github.com/livekit/protocol/livekit"

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

// Join is everything the first frame of a session carries; the room and the
// participants come from lkproto.
type Join struct {
	Room        *livekit.Room
	Participant *livekit.ParticipantInfo
	Others      []*livekit.ParticipantInfo
	Server      ServerInfo
	ICEServers  []ICEServer
	// PingInterval and PingTimeout in seconds; zero takes the defaults.
	PingInterval int32
	PingTimeout  int32
}
