package pbwire

import (
	"strings"

	"github.com/livekit/protocol/livekit"
)

// Reason strings used by the room registry (SPEC 6.1) and the LiveKit reason
// each one is reported as.
var registryReasons = map[string]livekit.DisconnectReason{
	"left":               livekit.DisconnectReason_CLIENT_INITIATED,
	"closed":             livekit.DisconnectReason_SIGNAL_CLOSE,
	"duplicate_identity": livekit.DisconnectReason_DUPLICATE_IDENTITY,
	"removed":            livekit.DisconnectReason_PARTICIPANT_REMOVED,
	"room_deleted":       livekit.DisconnectReason_ROOM_DELETED,
	"room_closed":        livekit.DisconnectReason_ROOM_CLOSED,
	"server_shutdown":    livekit.DisconnectReason_SERVER_SHUTDOWN,
	// LiveKit has no "slow consumer": from the client's side the server
	// dropped its signalling, which is what SIGNAL_CLOSE says.
	"slow_consumer": livekit.DisconnectReason_SIGNAL_CLOSE,
	"timeout":       livekit.DisconnectReason_CONNECTION_TIMEOUT,
}

// disconnectReason maps a registry reason string, or a lower-case LiveKit
// DisconnectReason name ("state_mismatch", "join_failure", "migration", ...),
// to the protobuf value. Anything else is UNKNOWN_REASON.
func disconnectReason(reason string) livekit.DisconnectReason {
	if r, ok := registryReasons[reason]; ok {
		return r
	}
	if v, ok := livekit.DisconnectReason_value[strings.ToUpper(reason)]; ok {
		return livekit.DisconnectReason(v)
	}
	return livekit.DisconnectReason_UNKNOWN_REASON
}

// DisconnectReasonName is the LiveKit name ("CLIENT_INITIATED", ...) that a
// registry reason string is reported as; useful for logs and tests.
func DisconnectReasonName(reason string) string {
	return disconnectReason(reason).String()
}

// registryReason maps a reason a client sent back to the registry's words.
func registryReason(r livekit.DisconnectReason) string {
	switch r {
	case livekit.DisconnectReason_CLIENT_INITIATED, livekit.DisconnectReason_UNKNOWN_REASON:
		return "left"
	case livekit.DisconnectReason_SIGNAL_CLOSE:
		return "closed"
	case livekit.DisconnectReason_CONNECTION_TIMEOUT:
		return "timeout"
	}
	for k, v := range registryReasons {
		if v == r && k != "slow_consumer" {
			return k
		}
	}
	return strings.ToLower(r.String())
}

// LeaveAction tells a client what to do after a leave.
type LeaveAction int

// Leave actions (LeaveRequest.Action).
const (
	LeaveDisconnect LeaveAction = iota // give up; the room is over for it
	LeaveResume                        // resume the session (reconnect=1)
	LeaveReconnect                     // rejoin from scratch
)

func (a LeaveAction) proto() livekit.LeaveRequest_Action {
	switch a {
	case LeaveResume:
		return livekit.LeaveRequest_RESUME
	case LeaveReconnect:
		return livekit.LeaveRequest_RECONNECT
	default:
		return livekit.LeaveRequest_DISCONNECT
	}
}

func leaveActionFrom(a livekit.LeaveRequest_Action) LeaveAction {
	switch a {
	case livekit.LeaveRequest_RESUME:
		return LeaveResume
	case livekit.LeaveRequest_RECONNECT:
		return LeaveReconnect
	default:
		return LeaveDisconnect
	}
}
