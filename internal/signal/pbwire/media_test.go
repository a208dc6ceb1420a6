package pbwire

import (
	"slices"
	"testing"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

func TestMediaResponses(t *testing.T) {
	if r := roundTrip(t, MediaSectionsRequirement(2, 1)).GetMediaSectionsRequirement(); r.GetNumAudios() != 2 || r.GetNumVideos() != 1 {
		t.Errorf("media_sections_requirement = %v", r)
	}
	if r := roundTrip(t, TrackSubscribed("TR_a")).GetTrackSubscribed(); r.GetTrackSid() != "TR_a" {
		t.Errorf("track_subscribed = %v", r)
	}
	for _, active := range []bool{true, false} {
		want := map[bool]livekit.StreamState{true: livekit.StreamState_ACTIVE, false: livekit.StreamState_PAUSED}[active]
		ss := roundTrip(t, StreamState("PA_p", "TR_a", active)).GetStreamStateUpdate().GetStreamStates()
		if len(ss) != 1 || ss[0].GetParticipantSid() != "PA_p" || ss[0].GetTrackSid() != "TR_a" || ss[0].GetState() != want {
			t.Errorf("stream_state_update(%v) = %v", active, ss)
		}
	}
	if r := roundTrip(t, SubscriptionPermissionUpdate("PA_p", "TR_a", false)).GetSubscriptionPermissionUpdate(); r.GetParticipantSid() != "PA_p" || r.GetTrackSid() != "TR_a" || r.GetAllowed() {
		t.Errorf("subscription_permission_update = %v", r)
	}
}

func TestDecodeSubscriptionPermission(t *testing.T) {
	frame := func(m *livekit.SignalRequest) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := frame(&livekit.SignalRequest{Message: &livekit.SignalRequest_SubscriptionPermission{SubscriptionPermission: &livekit.SubscriptionPermission{
		TrackPermissions: []*livekit.TrackPermission{
			{ParticipantIdentity: "bob", AllTracks: true},
			{ParticipantSid: "PA_c", TrackSids: []string{"TR_1", "TR_2"}},
		},
	}}})
	p, err := DecodeSubscriptionPermission(good)
	if err != nil {
		t.Fatal(err)
	}
	if p.AllParticipants || len(p.TrackPermissions) != 2 ||
		p.TrackPermissions[0].ParticipantIdentity != "bob" || !p.TrackPermissions[0].AllTracks ||
		p.TrackPermissions[1].ParticipantSID != "PA_c" || !slices.Equal(p.TrackPermissions[1].TrackSIDs, []string{"TR_1", "TR_2"}) {
		t.Errorf("decoded %+v", p)
	}
	if r, err := DecodeRequest(good); err != nil || r.Name != "subscription_permission" {
		t.Errorf("DecodeRequest name %q, err %v: the dialect dispatches on this name", r.Name, err)
	}
	for name, b := range map[string][]byte{
		"not protobuf":      {0xff, 0xff, 0xff},
		"another request":   frame(&livekit.SignalRequest{Message: &livekit.SignalRequest_Ping{Ping: 1}}),
		"no message at all": {},
	} {
		if _, err := DecodeSubscriptionPermission(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
