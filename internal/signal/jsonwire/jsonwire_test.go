package jsonwire

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

func TestDecode(t *testing.T) {
	cases := []struct {
		in, typ, code, msg string
	}{
		{`{"type":"ping"}`, "ping", "", ""},
		{`{"type":"join_room","roomName":"r","participant":{"identity":"a","attributes":{"k":"v"}}}`, "join_room", "", ""},
		{`{"type":"join_room","RoomName":"r"}`, "join_room", "", ""}, // unknown key ignored, not matched
		{`{"type":"join_room","participant":{"identity":1}}`, "join_room", CodeInvalidArgument, "participant.identity must be a string"},
		{`{"type":"join_room","participant":"a"}`, "join_room", CodeInvalidArgument, "participant must be an object"},
		{`{"type":"publish_track"}`, "publish_track", CodeInvalidArgument, "trackKind is required"},
		{`{"type":"mute_track","trackId":"TR_x"}`, "mute_track", CodeInvalidArgument, "muted is required"},
		{`{"type":"update_metadata"}`, "update_metadata", CodeInvalidArgument, "metadata, name or attributes is required"},
		{`{"type":"send_data","payload":{"a":1}}`, "send_data", CodeInvalidArgument, "payload must be a string"},
		{`{"type":"send_data","payload":"%%","encoding":"base64"}`, "send_data", CodeInvalidArgument, "payload must be valid base64"},
		{`{"type":"send_data","payload":"x","destinationIdentities":"b"}`, "send_data", CodeInvalidArgument, "destinationIdentities must be an array of strings"},
		{`{"type":"what"}`, "what", CodeUnknownType, "Unknown message type"},
		{`{"type":null}`, "", CodeInvalidMessage, MsgInvalidFormat},
		{`{"type":"ping"} x`, "", CodeInvalidMessage, MsgInvalidFormat},
		{`null`, "", CodeInvalidMessage, MsgInvalidFormat},
		{``, "", CodeInvalidMessage, MsgInvalidFormat},
	}
	for _, tc := range cases {
		typ, _, err := Decode([]byte(tc.in))
		code, msg := "", ""
		if err != nil {
			code, msg = err.Code, err.Msg
		}
		if typ != tc.typ || code != tc.code || msg != tc.msg {
			t.Errorf("Decode(%s) = %q, %q %q; want %q, %q %q", tc.in, typ, code, msg, tc.typ, tc.code, tc.msg)
		}
	}
}

func TestDataPayloadEncoding(t *testing.T) {
	ev := rooms.Event{Kind: rooms.EventDataReceived, Data: &rooms.DataPacket{FromIdentity: "sdk", Payload: []byte{0xff, 0x00}}}
	b, ok := Event(ev, "me")
	var m map[string]any
	if !ok || json.Unmarshal(b, &m) != nil || m["payload"] != "/wA=" || m["encoding"] != "base64" {
		t.Errorf("binary payload: %s", b)
	}
	ev.Data.Payload = []byte("héllo <b>")
	b, _ = Event(ev, "me")
	if string(b) != `{"type":"data_received","from":"sdk","fromSid":"","payload":"héllo \u003cb\u003e","topic":""}` {
		t.Errorf("text payload: %s", b)
	}
}

func TestFormatTime(t *testing.T) {
	if got := FormatTime(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600))); got != "2026-01-02T02:04:05.006Z" {
		t.Errorf("FormatTime = %s", got)
	}
}

func TestServerSubscriptionEvents(t *testing.T) {
	for kind, want := range map[rooms.EventKind]string{
		rooms.EventTrackSubscribed:   `{"type":"track_resubscribed","trackId":"TR_a"}`,
		rooms.EventTrackUnsubscribed: `{"type":"track_unsubscribed","trackId":"TR_a"}`,
	} {
		got, ok := Event(rooms.Event{Kind: kind, Track: rooms.TrackInfo{Sid: "TR_a"}}, "bob")
		if !ok || string(got) != want {
			t.Errorf("%v: %s %v, want %s", kind, got, ok, want)
		}
	}
}
