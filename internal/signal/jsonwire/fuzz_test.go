package jsonwire

import (
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds arbitrary frames to the JSON dialect's decoder: it must
// never panic, every refusal carries one of the documented codes, and every
// accepted frame is an object with a known string type.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"join_room","roomName":"r","participant":{"identity":"alice","name":"Alice","metadata":"m","attributes":{"a":"b"}},"token":"t","resumable":true}`,
		`{"type":"publish_track","trackKind":"audio","trackName":"mic","source":"microphone","muted":false}`,
		`{"type":"unpublish_track","trackId":"TR_x"}`, `{"type":"mute_track","trackId":"TR_x","muted":true}`,
		`{"type":"update_metadata","metadata":"m","name":"n","attributes":{"k":"v"}}`,
		`{"type":"send_data","payload":"aGk=","encoding":"base64","topic":"t","destinationIdentities":["bob"]}`,
		`{"type":"leave_room"}`, `{"type":"ping","timestamp":1}`, `{"type":"nope"}`, `{"type":42}`, `{}`, `[]`, `"hello"`,
		`{"type":"join_room"`, "{\"type\":\"ping\"}\xff", `{"type":"send_data","payload":"x","encoding":"base64"}`,
		`{"type":"join_room","participant":[]}`, `{"type":"mute_track","trackId":"TR_x"}`, `null`,
	} {
		f.Add([]byte(s))
	}
	known := map[string]bool{
		TypeJoinRoom: true, TypePublishTrack: true, TypeUnpublishTrack: true, TypeUnsubscribeTrack: true,
		TypeSubscribeTrack: true, TypeMuteTrack: true, TypeUpdateMetadata: true, TypeSendData: true,
		TypeLeaveRoom: true, TypePing: true,
	}
	codes := map[string]bool{CodeInvalidMessage: true, CodeUnknownType: true, CodeInvalidArgument: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, msg, err := Decode(data)
		if err != nil {
			if !codes[err.Code] || err.Msg == "" || !utf8.ValidString(err.Msg) {
				t.Fatalf("Decode(%q): error %+v", data, err)
			}
			return
		}
		if !known[typ] || msg == nil {
			t.Fatalf("Decode(%q) accepted type %q with %v", data, typ, msg)
		}
	})
}
