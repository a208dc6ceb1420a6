package pbwire

import "github.com/livekit/protocol/livekit"

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
