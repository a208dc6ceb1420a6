package pbwire

import (
	"fmt"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// Messages of media forwarding (issue 9): what a server sends while it adds
// subscribed tracks to a client's PeerConnections, and the publisher's
// subscription permissions.

// MediaSectionsRequirement asks a single-PeerConnection (/rtc/v1) client to
// add recvonly audio and video sections and to offer again. With zero counts
// it only asks for a new offer, which is how the real server renegotiates a
// connection it does not offer on.
func MediaSectionsRequirement(numAudios, numVideos uint32) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_MediaSectionsRequirement{
		MediaSectionsRequirement: &livekit.MediaSectionsRequirement{NumAudios: numAudios, NumVideos: numVideos},
	}})
}

// TrackSubscribed tells a publisher that someone now receives one of its
// tracks (livekit-client's LocalTrackSubscribed).
func TrackSubscribed(trackSID string) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackSubscribed{
		TrackSubscribed: &livekit.TrackSubscribed{TrackSid: trackSID},
	}})
}

// StreamState tells a subscriber whether media flows on a subscribed track.
func StreamState(participantSID, trackSID string, active bool) Response {
	state := livekit.StreamState_PAUSED
	if active {
		state = livekit.StreamState_ACTIVE
	}
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_StreamStateUpdate{
		StreamStateUpdate: &livekit.StreamStateUpdate{StreamStates: []*livekit.StreamStateInfo{{
			ParticipantSid: participantSID, TrackSid: trackSID, State: state,
		}}},
	}})
}

// SubscriptionPermissionUpdate tells a subscriber that a publisher allowed or
// refused it one track.
func SubscriptionPermissionUpdate(participantSID, trackSID string, allowed bool) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_SubscriptionPermissionUpdate{
		SubscriptionPermissionUpdate: &livekit.SubscriptionPermissionUpdate{
			ParticipantSid: participantSID, TrackSid: trackSID, Allowed: allowed,
		},
	}})
}

// TrackPermission lets one subscriber (by sid or identity) receive all of the
// publisher's tracks or only TrackSIDs.
type TrackPermission struct {
	ParticipantSID      string
	ParticipantIdentity string
	AllTracks           bool
	TrackSIDs           []string
}

// SubscriptionPermission is a publisher's rule for who may subscribe to its
// tracks: everyone (AllParticipants) or only the listed subscribers.
type SubscriptionPermission struct {
	AllParticipants  bool
	TrackPermissions []TrackPermission
}

// DecodeSubscriptionPermission reads the subscription_permission request of a
// frame whose DecodeRequest name was "subscription_permission".
func DecodeSubscriptionPermission(frame []byte) (SubscriptionPermission, error) {
	var sr livekit.SignalRequest
	if err := proto.Unmarshal(frame, &sr); err != nil {
		return SubscriptionPermission{}, fmt.Errorf("cannot unmarshal signal request: %w", err)
	}
	m, ok := sr.Message.(*livekit.SignalRequest_SubscriptionPermission)
	if !ok || m.SubscriptionPermission == nil {
		return SubscriptionPermission{}, fmt.Errorf("signal request is not a subscription_permission")
	}
	out := SubscriptionPermission{AllParticipants: m.SubscriptionPermission.GetAllParticipants()}
	for _, tp := range m.SubscriptionPermission.GetTrackPermissions() {
		out.TrackPermissions = append(out.TrackPermissions, TrackPermission{
			ParticipantSID:      tp.GetParticipantSid(),
			ParticipantIdentity: tp.GetParticipantIdentity(),
			AllTracks:           tp.GetAllTracks(),
			TrackSIDs:           append([]string(nil), tp.GetTrackSids()...),
		})
	}
	return out, nil
}
