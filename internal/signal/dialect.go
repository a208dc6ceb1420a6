// Package signal runs the /rtc WebSocket sessions: admission (connection
// caps) before the upgrade, the upgrade itself, read limits, deadlines,
// ping/pong, the per-connection message rate, one bounded outbox and one
// writer goroutine per connection, and the Hub that shuts them all down.
//
// What the messages mean is a Dialect's business: the JSON dialect of SPEC
// §6.1 lives here (json.go, encoding in jsonwire); the LiveKit protobuf
// dialect plugs in the same way from its own package (pbwire), with its own
// Limits (200/s, burst 400, 2 MiB frames) and binary frames. Both reach
// rooms through rooms.Registry, with the session as the member's rooms.Sink.
//
// gorilla/websocket is used only in this package.
package signal

import (
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Frame types, as in RFC 6455 (and gorilla).
const (
	TextMessage   = websocket.TextMessage
	BinaryMessage = websocket.BinaryMessage
)

// Limits are a dialect's per-connection limits.
type Limits struct {
	ReadLimit int64   // largest frame accepted; bigger ones get close 1009
	Rate      float64 // messages per second; 0: no limit
	Burst     int
}

// Dialect is one wire protocol of /rtc.
type Dialect interface {
	// Name is the rooms dialect name ("json", "livekit").
	Name() string
	Limits() Limits
	// NewHandler returns the handler of one new session; it is called after
	// the upgrade, on the session's reader goroutine.
	NewHandler(s *Session) Handler
	// RefuseHandshake answers a failed upgrade (bad method, version, key)
	// in the dialect's style (JSON or plain text).
	RefuseHandshake(w http.ResponseWriter, status int, msg string)
}

// Handler is a dialect's logic for one session. Open, Message and Closed run
// on the reader goroutine, one at a time; a panic in any of them closes the
// session with 1011 and affects nothing else.
type Handler interface {
	// Open runs once after the upgrade (e.g. to queue the welcome).
	Open()
	// Message handles one client frame (its type and payload).
	Message(msgType int, data []byte)
	// Notice encodes the final message sent when the server ends the
	// session with reason (e.g. {"type":"disconnected"}). It runs on the
	// writer goroutine and must not touch the handler's mutable state.
	Notice(reason string) (msgType int, data []byte, ok bool)
	// Closed runs once when the socket is done: leave any room with reason.
	Closed(reason rooms.Reason)
}

// Encoder turns a room event into a frame for one member. ok=false skips the
// event. It runs on the writer goroutine, so it may only read values fixed
// when the sink was made.
type Encoder func(ev rooms.Event) (msgType int, data []byte, ok bool)

// Grant is a verified token, in the terms signal needs. The HTTP layer
// builds it from auth.Claims.
type Grant struct {
	Identity   string
	Name       string
	Metadata   string
	Attributes map[string]string
	Room       string
	RoomJoin   bool
	Permission rooms.Permission
}

// TokenVerifier verifies a token sent inside a message (JSON join_room).
type TokenVerifier interface {
	VerifyToken(token string) (*Grant, error)
}
