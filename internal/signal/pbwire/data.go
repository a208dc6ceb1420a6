package pbwire

//lint:file-ignore SA1019 deprecated fields are still read and sent: older clients depend on them.

import (
	"fmt"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// DataPacket is what the relay needs to know about a data channel message.
type DataPacket struct {
	// Kind is the DataPacket value oneof name: "user", "rpc_request",
	// "rpc_ack", "rpc_response", "stream_header", "stream_chunk",
	// "stream_trailer", "chat_message", "transcription", "sip_dtmf",
	// "metrics", "encrypted_packet", "speaker"; "" when there is none.
	Kind string
	// Reliable is the deprecated kind field (clients still set it); the
	// channel a packet arrived on is the better guide.
	Reliable              bool
	ParticipantIdentity   string
	ParticipantSID        string
	DestinationIdentities []string
	Sequence              uint32
	// Payload, Topic and Nonce are set for Kind "user".
	Payload  []byte
	Topic    string
	HasTopic bool
	Nonce    []byte
}

// DecodeDataPacket reads a livekit.DataPacket from a data channel message.
func DecodeDataPacket(b []byte) (DataPacket, error) {
	var dp livekit.DataPacket
	if err := proto.Unmarshal(b, &dp); err != nil {
		return DataPacket{}, fmt.Errorf("cannot unmarshal data packet: %w", err)
	}
	return dataPacketInfo(&dp), nil
}

func dataPacketInfo(dp *livekit.DataPacket) DataPacket {
	out := DataPacket{
		Reliable:              dp.GetKind() == livekit.DataPacket_RELIABLE,
		ParticipantIdentity:   dp.GetParticipantIdentity(),
		ParticipantSID:        dp.GetParticipantSid(),
		DestinationIdentities: dp.GetDestinationIdentities(),
		Sequence:              dp.GetSequence(),
	}
	m := dp.ProtoReflect()
	if f := m.WhichOneof(m.Descriptor().Oneofs().ByName("value")); f != nil {
		out.Kind = string(f.Name())
	}
	if u := dp.GetUser(); u != nil {
		out.Payload = u.GetPayload()
		out.Topic = u.GetTopic()
		out.HasTopic = u.Topic != nil
		out.Nonce = u.GetNonce()
		if len(out.DestinationIdentities) == 0 {
			// Older clients put destinations only in the user packet.
			out.DestinationIdentities = u.GetDestinationIdentities()
		}
	}
	return out
}

// StampSender rewrites a packet from a client before it is relayed: the
// sender's identity and sid are set by the server (a client cannot speak for
// another participant); everything else, destinations included, is passed on
// as the real server does. It returns the re-encoded packet and what it says,
// so the relay knows where to send it.
func StampSender(b []byte, senderSID, senderIdentity string) ([]byte, DataPacket, error) {
	var dp livekit.DataPacket
	if err := proto.Unmarshal(b, &dp); err != nil {
		return nil, DataPacket{}, fmt.Errorf("cannot unmarshal data packet: %w", err)
	}
	info := dataPacketInfo(&dp)
	dp.ParticipantIdentity = senderIdentity
	dp.ParticipantSid = senderSID
	if u := dp.GetUser(); u != nil {
		u.ParticipantIdentity = senderIdentity
		u.ParticipantSid = senderSID
	}
	out, err := proto.Marshal(&dp)
	if err != nil {
		return nil, DataPacket{}, err
	}
	info.ParticipantIdentity, info.ParticipantSID = senderIdentity, senderSID
	return out, info, nil
}

// UserPacket is a user data message from a participant that is not a LiveKit
// client (a JSON-dialect or fake participant).
type UserPacket struct {
	SenderSID             string
	SenderIdentity        string
	Payload               []byte
	Topic                 string // "" sends no topic
	DestinationIdentities []string
	Reliable              bool
	Nonce                 []byte // 16 bytes or none
}

// EncodeUserPacket builds the DataPacket a LiveKit client receives for a user
// message.
func EncodeUserPacket(u UserPacket) ([]byte, error) {
	kind := livekit.DataPacket_LOSSY
	if u.Reliable {
		kind = livekit.DataPacket_RELIABLE
	}
	up := &livekit.UserPacket{
		ParticipantSid:        u.SenderSID,
		ParticipantIdentity:   u.SenderIdentity,
		Payload:               u.Payload,
		DestinationIdentities: u.DestinationIdentities,
		Nonce:                 u.Nonce,
	}
	if u.Topic != "" {
		topic := u.Topic
		up.Topic = &topic
	}
	return proto.Marshal(&livekit.DataPacket{
		Kind:                  kind,
		ParticipantIdentity:   u.SenderIdentity,
		ParticipantSid:        u.SenderSID,
		DestinationIdentities: u.DestinationIdentities,
		Value:                 &livekit.DataPacket_User{User: up},
	})
}
