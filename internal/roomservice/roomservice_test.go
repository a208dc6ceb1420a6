package roomservice_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/roomservice"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type nopSink struct{}

func (nopSink) Send(rooms.Event) bool { return true }
func (nopSink) Close(rooms.Reason)    {}

func setup(t *testing.T, o roomservice.Options) (*roomservice.Service, *rooms.Registry) {
	t.Helper()
	reg := rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Hour, DepartureTimeout: time.Hour, IDs: ids.New(nil)})
	t.Cleanup(reg.Close)
	return roomservice.New(reg, o), reg
}

func claims(g auth.VideoGrant) *auth.Claims { return &auth.Claims{Video: &g} }

func code(err error) roomservice.Code {
	var e *roomservice.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestGrants(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t, roomservice.Options{})
	create, list := claims(auth.VideoGrant{RoomCreate: true}), claims(auth.VideoGrant{RoomList: true})
	admin := claims(auth.VideoGrant{RoomAdmin: true, Room: "r"})
	if _, err := s.CreateRoom(ctx, create, roomservice.CreateRoom{Name: "r"}); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(c *auth.Claims) error{
		"CreateRoom": func(c *auth.Claims) error {
			_, err := s.CreateRoom(ctx, c, roomservice.CreateRoom{Name: "r"})
			return err
		},
		"ListRooms": func(c *auth.Claims) error { _, err := s.ListRooms(ctx, c, nil); return err },
		"ListParticipants": func(c *auth.Claims) error {
			_, err := s.ListParticipants(ctx, c, "r")
			return err
		},
		"UpdateRoomMetadata": func(c *auth.Claims) error {
			_, err := s.UpdateRoomMetadata(ctx, c, "r", "m")
			return err
		},
	}
	tests := []struct {
		method string
		claims *auth.Claims
		ok     bool
	}{
		{"CreateRoom", create, true}, {"CreateRoom", list, false}, {"CreateRoom", nil, false},
		{"ListRooms", list, true}, {"ListRooms", create, false}, {"ListRooms", admin, false},
		{"ListParticipants", admin, true}, {"ListParticipants", claims(auth.VideoGrant{RoomAdmin: true}), false},
		{"ListParticipants", claims(auth.VideoGrant{Room: "r", RoomJoin: true}), false},
		{"UpdateRoomMetadata", admin, true}, {"UpdateRoomMetadata", &auth.Claims{}, false},
	}
	for _, tt := range tests {
		err := calls[tt.method](tt.claims)
		if tt.ok && err != nil {
			t.Errorf("%s with %+v: %v", tt.method, tt.claims, err)
		}
		if !tt.ok && (code(err) != roomservice.CodeUnauthenticated || err.(*roomservice.Error).Msg != "permissions denied") {
			t.Errorf("%s with %+v: %v, want unauthenticated permissions denied", tt.method, tt.claims, err)
		}
	}
}

func TestSemantics(t *testing.T) {
	ctx := context.Background()
	s, reg := setup(t, roomservice.Options{AllowRemoteUnmute: true})
	create := claims(auth.VideoGrant{RoomCreate: true, RoomList: true})
	admin := claims(auth.VideoGrant{RoomAdmin: true, Room: "b"})
	for _, n := range []string{"a", "b", "c"} {
		if _, err := s.CreateRoom(ctx, create, roomservice.CreateRoom{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.ListRooms(ctx, create, []string{"c", "a", "zz"})
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "c" {
		t.Errorf("ListRooms(c,a,zz) = %+v", got)
	}

	m, err := reg.Join(ctx, rooms.JoinRequest{Room: "b", Identity: "alice", Name: "Alice", Metadata: "keep",
		Attributes: map[string]string{"a": "1", "b": "2"}, Permission: rooms.AllPermissions(), State: rooms.StateActive}, nopSink{})
	if err != nil {
		t.Fatal(err)
	}
	// Empty name and metadata change nothing; an empty attribute deletes it.
	p, err := s.UpdateParticipant(ctx, admin, roomservice.UpdateParticipant{Room: "b", Identity: "alice", Attributes: map[string]string{"a": "", "c": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Alice" || p.Metadata != "keep" || p.Attributes["a"] != "" || p.Attributes["b"] != "2" || p.Attributes["c"] != "3" {
		t.Errorf("after update: %+v", p)
	}
	if _, ok := p.Attributes["a"]; ok {
		t.Error("attribute a set to empty was kept")
	}

	// With AllowRemoteUnmute, unmuting works.
	tr, _ := m.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindAudio, Muted: true})
	if got, err := s.MutePublishedTrack(ctx, admin, "b", "alice", tr.Sid, false); err != nil || got.Muted {
		t.Errorf("unmute = %+v, %v", got, err)
	}
	if _, err := s.MutePublishedTrack(ctx, admin, "b", "bob", tr.Sid, false); code(err) != roomservice.CodeNotFound {
		t.Errorf("unmute of an unknown participant = %v", err)
	}

	// A 16-byte nonce is fine; the registry is shut: unavailable.
	if err := s.SendData(ctx, admin, roomservice.SendData{Room: "b", Nonce: make([]byte, 16)}); err != nil {
		t.Errorf("SendData with a 16-byte nonce: %v", err)
	}
	reg.Close()
	if _, err := s.CreateRoom(ctx, create, roomservice.CreateRoom{Name: "d"}); code(err) != roomservice.CodeUnavailable {
		t.Errorf("CreateRoom after Close = %v, want unavailable", err)
	}
}
