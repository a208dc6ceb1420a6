package pbwire

//lint:file-ignore SA1019 deprecated fields are still read and sent: older clients depend on them.

import (
	"bytes"
	"testing"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

func TestUserPacketRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   UserPacket
	}{
		{"reliable with topic and destinations", UserPacket{SenderSID: "PA_1", SenderIdentity: "json-user", Payload: []byte("hi"), Topic: "chat", DestinationIdentities: []string{"bob"}, Reliable: true}},
		{"lossy without topic", UserPacket{SenderSID: "PA_1", SenderIdentity: "json-user", Payload: []byte{0, 1, 2}}},
		{"with a nonce (RoomService SendData)", UserPacket{Payload: []byte("x"), Reliable: true, Nonce: []byte("0123456789abcdef")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeUserPacket(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeDataPacket(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != "user" || !bytes.Equal(got.Payload, tc.in.Payload) || got.Topic != tc.in.Topic || got.HasTopic != (tc.in.Topic != "") ||
				got.ParticipantIdentity != tc.in.SenderIdentity || got.ParticipantSID != tc.in.SenderSID || got.Reliable != tc.in.Reliable ||
				len(got.DestinationIdentities) != len(tc.in.DestinationIdentities) || !bytes.Equal(got.Nonce, tc.in.Nonce) {
				t.Errorf("got %+v from %+v", got, tc.in)
			}
			// What livekit-client reads: the user packet's own identity too.
			var dp livekit.DataPacket
			if err := proto.Unmarshal(b, &dp); err != nil {
				t.Fatal(err)
			}
			if dp.GetUser().GetParticipantIdentity() != tc.in.SenderIdentity {
				t.Errorf("user.participant_identity = %q", dp.GetUser().GetParticipantIdentity())
			}
		})
	}
}

func TestStampSender(t *testing.T) {
	topic := "t"
	spoofed, err := proto.Marshal(&livekit.DataPacket{
		Kind:                  livekit.DataPacket_RELIABLE,
		ParticipantIdentity:   "mallory-pretends-to-be-bob",
		DestinationIdentities: []string{"carol"},
		Value: &livekit.DataPacket_User{User: &livekit.UserPacket{
			ParticipantIdentity: "bob", Payload: []byte("x"), Topic: &topic,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rpc, err := proto.Marshal(&livekit.DataPacket{
		DestinationIdentities: []string{"agent"},
		Value:                 &livekit.DataPacket_RpcRequest{RpcRequest: &livekit.RpcRequest{Id: "1", Method: "m"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		in       []byte
		wantKind string
		wantDest string
	}{
		{"user packet", spoofed, "user", "carol"},
		{"rpc request passes through", rpc, "rpc_request", "agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, info, err := StampSender(tc.in, "PA_m", "mallory")
			if err != nil {
				t.Fatal(err)
			}
			if info.Kind != tc.wantKind || len(info.DestinationIdentities) != 1 || info.DestinationIdentities[0] != tc.wantDest {
				t.Errorf("info %+v", info)
			}
			got, err := DecodeDataPacket(out)
			if err != nil {
				t.Fatal(err)
			}
			if got.ParticipantIdentity != "mallory" || got.ParticipantSID != "PA_m" || got.Kind != tc.wantKind {
				t.Errorf("relayed %+v", got)
			}
			var dp livekit.DataPacket
			_ = proto.Unmarshal(out, &dp)
			if u := dp.GetUser(); u != nil && u.GetParticipantIdentity() != "mallory" {
				t.Errorf("user identity still %q", u.GetParticipantIdentity())
			}
		})
	}
	if _, _, err := StampSender([]byte{0xff, 0xff}, "PA_m", "m"); err == nil {
		t.Error("garbage accepted")
	}
	if _, err := DecodeDataPacket([]byte{0xff, 0xff}); err == nil {
		t.Error("garbage accepted")
	}
}
