package pbwire

import (
	"errors"
	"fmt"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/lkproto"
)

// RequestKind names what a client frame asks for.
type RequestKind int

// Request kinds. KindIgnored covers requests a mock may drop (subscription
// settings, layers, sync_state, data tracks...); Request.Name says which.
const (
	KindIgnored RequestKind = iota
	KindOffer
	KindAnswer
	KindTrickle
	KindAddTrack
	KindMute
	KindLeave
	KindPing
	KindPingReq
	KindUpdateMetadata
	KindSubscription
	KindSimulate
)

// Target names which of the client's PeerConnections a message is for.
type Target int

// Signal targets.
const (
	TargetPublisher Target = iota
	TargetSubscriber
)

// SessionDescription is an offer or an answer with LiveKit's negotiation id.
type SessionDescription struct {
	Type string // "offer" or "answer"
	SDP  string
	ID   uint32
}

// TrickleRequest is one ICE candidate from the client.
type TrickleRequest struct {
	CandidateInit string // JSON of an RTCIceCandidateInit
	Target        Target
	Final         bool
}

// AddTrackRequest is a client's request to publish a track.
type AddTrackRequest struct {
	CID    string
	Name   string
	Kind   string // "audio" or "video"
	Source string // lower-case source name
	Muted  bool
	Width  uint32
	Height uint32
	Stream string
}

// MuteRequest is a client muting or unmuting one of its tracks.
type MuteRequest struct {
	SID   string
	Muted bool
}

// LeaveRequest is a client leaving (or, rarely, asking to resume).
type LeaveRequest struct {
	Reason string // registry words: "left" for CLIENT_INITIATED
	Action LeaveAction
}

// PingRequest is the newer ping: the server echoes Timestamp in pong_resp.
type PingRequest struct {
	Timestamp int64
	RTT       int64
}

// UpdateMetadataRequest is a client changing its own name, metadata or attributes.
// Empty strings mean "unchanged", as on the real server.
type UpdateMetadataRequest struct {
	Metadata   string
	Name       string
	Attributes map[string]string
	RequestID  uint32
}

// SubscriptionRequest is a client (un)subscribing tracks.
type SubscriptionRequest struct {
	TrackSIDs []string
	Subscribe bool
}

// SimulateRequest is a SimulateScenario request: Scenario is the oneof field name
// ("speaker_update", "node_failure", "migration", "server_leave",
// "switch_candidate_protocol", "subscriber_bandwidth",
// "disconnect_signal_on_resume", "disconnect_signal_on_resume_no_messages",
// "leave_request_full_reconnect") and Value its number, if it has one.
type SimulateRequest struct {
	Scenario string
	Value    int64
}

// Request is one decoded client frame. Only the field matching Kind is set.
type Request struct {
	Kind RequestKind
	// Name is the SignalRequest oneof field name ("offer", "ping_req", ...),
	// for logs and for telling ignored requests apart.
	Name           string
	SDP            SessionDescription // KindOffer, KindAnswer
	Trickle        TrickleRequest
	AddTrack       AddTrackRequest
	Mute           MuteRequest
	Leave          LeaveRequest
	Ping           int64 // KindPing: the client's clock in ms
	PingReq        PingRequest
	UpdateMetadata UpdateMetadataRequest
	Subscription   SubscriptionRequest
	Simulate       SimulateRequest
}

// ErrEmptyRequest is a frame that decodes but carries no message.
var ErrEmptyRequest = errors.New("signal request has no message")

// DecodeRequest decodes one binary frame holding a livekit.SignalRequest.
func DecodeRequest(frame []byte) (Request, error) {
	var sr livekit.SignalRequest
	if err := proto.Unmarshal(frame, &sr); err != nil {
		return Request{}, fmt.Errorf("cannot unmarshal signal request: %w", err)
	}
	return requestFrom(&sr)
}

func requestFrom(sr *livekit.SignalRequest) (Request, error) {
	if sr.Message == nil {
		return Request{}, ErrEmptyRequest
	}
	var r Request
	switch m := sr.Message.(type) {
	case *livekit.SignalRequest_Offer:
		r.Kind = KindOffer
		r.SDP = sessionDescriptionFrom(m.Offer)
	case *livekit.SignalRequest_Answer:
		r.Kind = KindAnswer
		r.SDP = sessionDescriptionFrom(m.Answer)
	case *livekit.SignalRequest_Trickle:
		r.Kind = KindTrickle
		r.Trickle = TrickleRequest{
			CandidateInit: m.Trickle.GetCandidateInit(),
			Target:        targetFrom(m.Trickle.GetTarget()),
			Final:         m.Trickle.GetFinal(),
		}
	case *livekit.SignalRequest_AddTrack:
		r.Kind = KindAddTrack
		r.AddTrack = addTrackFrom(m.AddTrack)
	case *livekit.SignalRequest_Mute:
		r.Kind = KindMute
		r.Mute = MuteRequest{SID: m.Mute.GetSid(), Muted: m.Mute.GetMuted()}
	case *livekit.SignalRequest_Leave:
		r.Kind = KindLeave
		r.Leave = LeaveRequest{
			Reason: string(lkproto.ReasonFrom(m.Leave.GetReason())),
			Action: leaveActionFrom(m.Leave.GetAction()),
		}
	case *livekit.SignalRequest_Ping:
		r.Kind = KindPing
		r.Ping = m.Ping
	case *livekit.SignalRequest_PingReq:
		r.Kind = KindPingReq
		r.PingReq = PingRequest{Timestamp: m.PingReq.GetTimestamp(), RTT: m.PingReq.GetRtt()}
	case *livekit.SignalRequest_UpdateMetadata:
		r.Kind = KindUpdateMetadata
		r.UpdateMetadata = UpdateMetadataRequest{
			Metadata:   m.UpdateMetadata.GetMetadata(),
			Name:       m.UpdateMetadata.GetName(),
			Attributes: m.UpdateMetadata.GetAttributes(),
			RequestID:  m.UpdateMetadata.GetRequestId(),
		}
	case *livekit.SignalRequest_Subscription:
		r.Kind = KindSubscription
		sids := append([]string(nil), m.Subscription.GetTrackSids()...)
		for _, pt := range m.Subscription.GetParticipantTracks() {
			sids = append(sids, pt.GetTrackSids()...)
		}
		r.Subscription = SubscriptionRequest{TrackSIDs: sids, Subscribe: m.Subscription.GetSubscribe()}
	case *livekit.SignalRequest_Simulate:
		r.Kind = KindSimulate
		r.Simulate = simulateFrom(m.Simulate)
	default:
		r.Kind = KindIgnored
	}
	r.Name = oneofName(sr)
	return r, nil
}

func oneofName(sr *livekit.SignalRequest) string {
	m := sr.ProtoReflect()
	if f := m.WhichOneof(m.Descriptor().Oneofs().ByName("message")); f != nil {
		return string(f.Name())
	}
	return ""
}

func sessionDescriptionFrom(sd *livekit.SessionDescription) SessionDescription {
	return SessionDescription{Type: sd.GetType(), SDP: sd.GetSdp(), ID: sd.GetId()}
}

func targetFrom(t livekit.SignalTarget) Target {
	if t == livekit.SignalTarget_SUBSCRIBER {
		return TargetSubscriber
	}
	return TargetPublisher
}

func (t Target) proto() livekit.SignalTarget {
	if t == TargetSubscriber {
		return livekit.SignalTarget_SUBSCRIBER
	}
	return livekit.SignalTarget_PUBLISHER
}

func addTrackFrom(a *livekit.AddTrackRequest) AddTrackRequest {
	return AddTrackRequest{
		CID:    a.GetCid(),
		Name:   a.GetName(),
		Kind:   lkproto.KindName(a.GetType()),
		Source: lkproto.SourceName(a.GetSource()),
		Muted:  a.GetMuted(),
		Width:  a.GetWidth(),
		Height: a.GetHeight(),
		Stream: a.GetStream(),
	}
}

func simulateFrom(s *livekit.SimulateScenario) SimulateRequest {
	var out SimulateRequest
	m := s.ProtoReflect()
	f := m.WhichOneof(m.Descriptor().Oneofs().ByName("scenario"))
	if f == nil {
		return out
	}
	out.Scenario = string(f.Name())
	switch v := s.GetScenario().(type) {
	case *livekit.SimulateScenario_SpeakerUpdate:
		out.Value = int64(v.SpeakerUpdate)
	case *livekit.SimulateScenario_SubscriberBandwidth:
		out.Value = v.SubscriberBandwidth
	case *livekit.SimulateScenario_SwitchCandidateProtocol:
		out.Value = int64(v.SwitchCandidateProtocol)
	}
	return out
}

// ErrResponseTooLarge means an encoded response exceeds the caller's limit.
var ErrResponseTooLarge = errors.New("signal response too large")

// Response is one server frame, built by the functions of build.go.
type Response struct {
	msg *livekit.SignalResponse
}

// Name is the SignalResponse oneof field name ("join", "update", ...).
func (r Response) Name() string {
	if r.msg == nil {
		return ""
	}
	m := r.msg.ProtoReflect()
	if f := m.WhichOneof(m.Descriptor().Oneofs().ByName("message")); f != nil {
		return string(f.Name())
	}
	return ""
}

// Encode marshals the response. With maxBytes > 0 a larger result is refused
// with ErrResponseTooLarge rather than sent as a frame the peer may reject.
func (r Response) Encode(maxBytes int) ([]byte, error) {
	if r.msg == nil {
		return nil, errors.New("empty signal response")
	}
	if maxBytes > 0 {
		if n := proto.Size(r.msg); n > maxBytes {
			return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrResponseTooLarge, r.Name(), n, maxBytes)
		}
	}
	return proto.Marshal(r.msg)
}
