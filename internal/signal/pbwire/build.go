package pbwire

//lint:file-ignore SA1019 deprecated fields are still read and sent: older clients depend on them.

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/livekit-mock/livekit-mock/internal/lkproto"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// wrap is the one place a SignalResponse is built from its oneof wrapper.
func wrap(sr *livekit.SignalResponse) Response { return Response{msg: sr} }

func serverInfoProto(s ServerInfo) *livekit.ServerInfo {
	if s.Version == "" {
		s.Version = DefaultServerVersion
	}
	if s.Protocol == 0 {
		s.Protocol = DefaultServerProtocol
	}
	return &livekit.ServerInfo{
		Edition:  livekit.ServerInfo_Standard,
		Version:  s.Version,
		Protocol: s.Protocol,
		NodeId:   s.NodeID,
		Region:   s.Region,
	}
}

func iceServersProto(servers []ICEServer) []*livekit.ICEServer {
	out := make([]*livekit.ICEServer, 0, len(servers))
	for _, s := range servers {
		out = append(out, &livekit.ICEServer{
			Urls:       append([]string(nil), s.URLs...),
			Username:   s.Username,
			Credential: s.Credential,
		})
	}
	return out
}

// JoinResponse is the first frame of a session. subscriber_primary is always
// false: the server answers the client's publisher PeerConnection, on v1 and
// v0 alike, so no subscriber PeerConnection has to connect.
func JoinResponse(j Join) Response {
	si := serverInfoProto(j.Server)
	jr := &livekit.JoinResponse{
		Room:              j.Room,
		Participant:       j.Participant,
		OtherParticipants: j.Others,
		ServerVersion:     si.Version,
		ServerInfo:        si,
		ServerRegion:      si.Region,
		IceServers:        iceServersProto(j.ICEServers),
		SubscriberPrimary: false,
		PingInterval:      j.PingInterval,
		PingTimeout:       j.PingTimeout,
	}
	if jr.PingInterval <= 0 {
		jr.PingInterval = DefaultPingInterval
	}
	if jr.PingTimeout <= 0 {
		jr.PingTimeout = DefaultPingTimeout
	}
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_Join{Join: jr}})
}

// ParticipantUpdate carries full snapshots of changed participants (see
// lkproto.Participant).
func ParticipantUpdate(ps ...*livekit.ParticipantInfo) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_Update{Update: &livekit.ParticipantUpdate{Participants: ps}}})
}

// TrackPublished answers add_track, echoing the client's cid.
func TrackPublished(cid string, t *livekit.TrackInfo) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackPublished{
		TrackPublished: &livekit.TrackPublishedResponse{Cid: cid, Track: t},
	}})
}

// TrackUnpublished tells a client the server unpublished one of its tracks.
func TrackUnpublished(trackSID string) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackUnpublished{
		TrackUnpublished: &livekit.TrackUnpublishedResponse{TrackSid: trackSID},
	}})
}

// Pong answers ping with the server's clock in milliseconds (JS overflows on
// nanoseconds).
func Pong(now time.Time) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_Pong{Pong: now.UnixMilli()}})
}

// PongResp answers ping_req, echoing the client's timestamp.
func PongResp(lastPingTimestamp int64, now time.Time) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_PongResp{PongResp: &livekit.Pong{
		LastPingTimestamp: lastPingTimestamp,
		Timestamp:         now.UnixMilli(),
	}}})
}

// Leave ends (or redirects) a session; reason is a registry reason string or
// a lower-case LiveKit reason name.
func Leave(reason string, action LeaveAction) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
		CanReconnect: action != LeaveDisconnect,
		Reason:       lkproto.DisconnectReason(rooms.Reason(reason)),
		Action:       action.proto(),
	}}})
}

// Answer answers a client offer; id must echo the offer's id exactly
// (livekit-client times out negotiations otherwise). midToTrackID may be nil.
func Answer(sdp string, id uint32, midToTrackID map[string]string) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_Answer{Answer: &livekit.SessionDescription{
		Type: "answer", Sdp: sdp, Id: id, MidToTrackId: maps.Clone(midToTrackID),
	}}})
}

// Offer is a server offer (for a subscriber PeerConnection; unused while
// subscriber_primary is false).
func Offer(sdp string, id uint32, midToTrackID map[string]string) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_Offer{Offer: &livekit.SessionDescription{
		Type: "offer", Sdp: sdp, Id: id, MidToTrackId: maps.Clone(midToTrackID),
	}}})
}

// ErrBadCandidate is a candidateInit the clients would choke on.
var ErrBadCandidate = errors.New("candidateInit must be JSON with candidate, sdpMid and sdpMLineIndex")

// Trickle sends one server ICE candidate. candidateInit must be a JSON object
// with a string candidate, a string sdpMid and an integer sdpMLineIndex: JS
// JSON.parses it and Rust unwraps each field, so anything else is refused
// here rather than crashing a client.
func Trickle(candidateInit string, target Target) (Response, error) {
	var c struct {
		Candidate     *string `json:"candidate"`
		SDPMid        *string `json:"sdpMid"`
		SDPMLineIndex *uint16 `json:"sdpMLineIndex"`
	}
	if err := json.Unmarshal([]byte(candidateInit), &c); err != nil ||
		c.Candidate == nil || c.SDPMid == nil || c.SDPMLineIndex == nil {
		return Response{}, ErrBadCandidate
	}
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_Trickle{Trickle: &livekit.TrickleRequest{
		CandidateInit: candidateInit,
		Target:        target.proto(),
	}}}), nil
}

// RefreshToken hands the client a fresh token for later reconnects.
func RefreshToken(token string) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_RefreshToken{RefreshToken: token}})
}

// RoomUpdate carries a changed room (metadata, counts).
func RoomUpdate(r *livekit.Room) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_RoomUpdate{RoomUpdate: &livekit.RoomUpdate{Room: r}}})
}

// Mute tells a client that the server muted or unmuted one of its tracks.
func Mute(trackSID string, muted bool) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_Mute{Mute: &livekit.MuteTrackRequest{Sid: trackSID, Muted: muted}}})
}

// Reconnect is the first frame of a resumed session.
func Reconnect(iceServers []ICEServer, server ServerInfo, lastMessageSeq uint32) Response {
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_Reconnect{Reconnect: &livekit.ReconnectResponse{
		IceServers:     iceServersProto(iceServers),
		ServerInfo:     serverInfoProto(server),
		LastMessageSeq: lastMessageSeq,
	}}})
}

// RequestResponse answers a request that carried a request_id. reason is a
// lower-case RequestResponse.Reason name: "ok", "not_found", "not_allowed",
// "limit_exceeded", "queued", "unsupported_type", "unclassified_error".
func RequestResponse(requestID uint32, reason, message string) Response {
	r := livekit.RequestResponse_UNCLASSIFIED_ERROR
	if v, ok := livekit.RequestResponse_Reason_value[strings.ToUpper(reason)]; ok {
		r = livekit.RequestResponse_Reason(v)
	}
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_RequestResponse{RequestResponse: &livekit.RequestResponse{
		RequestId: requestID, Reason: r, Message: message,
	}}})
}

// Speaker is one entry of speakers_changed.
type Speaker struct {
	SID    string // PA_…; Rust panics on anything else
	Level  float32
	Active bool
}

// SpeakersChanged reports active speakers (used by SimulateScenario).
func SpeakersChanged(speakers ...Speaker) Response {
	sc := &livekit.SpeakersChanged{}
	for _, s := range speakers {
		sc.Speakers = append(sc.Speakers, &livekit.SpeakerInfo{Sid: s.SID, Level: s.Level, Active: s.Active})
	}
	return wrap(&livekit.SignalResponse{Message: &livekit.SignalResponse_SpeakersChanged{SpeakersChanged: sc}})
}
