package rooms_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// adminSink records events; kept apart from rooms_test.go's helpers.
type adminSink struct {
	mu     sync.Mutex
	events []rooms.Event
}

func (s *adminSink) Send(ev rooms.Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	return true
}

func (s *adminSink) Close(rooms.Reason) {}

func (s *adminSink) last() rooms.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events[len(s.events)-1]
}

func (s *adminSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

type adminObserver struct {
	mu     sync.Mutex
	events []rooms.Event
}

func (o *adminObserver) Observe(ev rooms.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, ev)
}

func (o *adminObserver) first(k rooms.EventKind) (rooms.Event, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ev := range o.events {
		if ev.Kind == k {
			return ev, true
		}
	}
	return rooms.Event{}, false
}

func adminRegistry(t *testing.T) (*rooms.Registry, *adminObserver) {
	t.Helper()
	obs := &adminObserver{}
	reg := rooms.NewRegistry(rooms.Options{
		EmptyTimeout: 300 * time.Second, DepartureTimeout: 20 * time.Second,
		IDs: ids.New(nil), Observer: obs,
	})
	t.Cleanup(reg.Close)
	return reg, obs
}

func adminJoin(t *testing.T, reg *rooms.Registry, room, identity string, perm rooms.Permission) (*rooms.Member, *adminSink) {
	t.Helper()
	s := &adminSink{}
	m, err := reg.Join(context.Background(), rooms.JoinRequest{
		Room: room, Identity: identity, Permission: perm, Dialect: rooms.DialectJSON, State: rooms.StateActive,
	}, s)
	if err != nil {
		t.Fatalf("join %s: %v", identity, err)
	}
	return m, s
}

func TestCreateRoomAppliesSettings(t *testing.T) {
	ctx := context.Background()
	reg, obs := adminRegistry(t)
	info, created, err := reg.CreateRoom(ctx, "r", rooms.RoomSettings{
		EmptyTimeout: time.Minute, DepartureTimeout: 5 * time.Second, MaxParticipants: 1, Metadata: "m0",
	})
	if err != nil || !created {
		t.Fatalf("CreateRoom = %v, created %v", err, created)
	}
	if info.EmptyTimeout != time.Minute || info.DepartureTimeout != 5*time.Second || info.MaxParticipants != 1 || info.Metadata != "m0" {
		t.Errorf("room = %+v", info)
	}
	if ev, ok := obs.first(rooms.EventRoomStarted); !ok || ev.Room.Metadata != "m0" || ev.Room.MaxParticipants != 1 {
		t.Errorf("room_started carries %+v, want the settings", ev.Room)
	}
	_, s := adminJoin(t, reg, "r", "alice", rooms.AllPermissions())
	if _, err := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: "bob"}, &adminSink{}); !errors.Is(err, rooms.ErrRoomFull) {
		t.Errorf("second join: %v, want ErrRoomFull (maxParticipants 1)", err)
	}
	if err := reg.CheckJoin("r", "bob", ""); !errors.Is(err, rooms.ErrRoomFull) {
		t.Errorf("CheckJoin(bob) = %v, want ErrRoomFull", err)
	}
	if err := reg.CheckJoin("r", "alice", ""); err != nil {
		t.Errorf("CheckJoin(alice) = %v; her own identity replaces her", err)
	}
	if err := reg.CheckJoin("no-such-room", "bob", ""); err != nil {
		t.Errorf("CheckJoin on a missing room = %v", err)
	}
	// Agents and egress do not count toward max_participants, as on LiveKit:
	// they join a full room, and do not fill it.
	if err := reg.CheckJoin("r", "agent-1", "agent"); err != nil {
		t.Errorf("CheckJoin(agent) = %v", err)
	}
	if _, err := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: "agent-1", Kind: "agent"}, &adminSink{}); err != nil {
		t.Errorf("an agent joining a full room: %v", err)
	}
	if info, _ := reg.Get("r"); info.NumParticipants() != 1 || len(info.Participants) != 2 {
		t.Errorf("NumParticipants = %d of %d members, want 1 (the agent does not count)", info.NumParticipants(), len(info.Participants))
	}

	// Again: the existing room, zero values unchanged, metadata announced.
	info2, created, err := reg.CreateRoom(ctx, "r", rooms.RoomSettings{MaxParticipants: 2, Metadata: "m1"})
	if err != nil || created {
		t.Fatalf("second CreateRoom = %v, created %v", err, created)
	}
	if info2.Sid != info.Sid || info2.EmptyTimeout != time.Minute || info2.MaxParticipants != 2 || info2.Metadata != "m1" {
		t.Errorf("room = %+v", info2)
	}
	if ev := s.last(); ev.Kind != rooms.EventRoomUpdated || ev.Room.Metadata != "m1" {
		t.Errorf("alice's last event = %v %+v, want room_updated m1", ev.Kind, ev.Room)
	}
	if _, err := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: "bob"}, &adminSink{}); err != nil {
		t.Errorf("join after raising maxParticipants: %v", err)
	}
}

func TestCreateRoomTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, _ := adminRegistry(t)
		if _, _, err := reg.CreateRoom(context.Background(), "short", rooms.RoomSettings{EmptyTimeout: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Reserve("long"); err != nil {
			t.Fatal(err)
		}
		// Shortening a running timer takes effect from the change.
		if _, _, err := reg.CreateRoom(context.Background(), "long", rooms.RoomSettings{EmptyTimeout: 30 * time.Second}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if _, ok := reg.Get("short"); ok {
			t.Error("room with emptyTimeout 10s still open after 11s")
		}
		if _, ok := reg.Get("long"); !ok {
			t.Error("room with emptyTimeout 30s closed after 11s")
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if _, ok := reg.Get("long"); ok {
			t.Error("room with emptyTimeout 30s still open after 31s")
		}

		// departureTimeout counts from the last departure.
		if _, _, err := reg.CreateRoom(context.Background(), "dep", rooms.RoomSettings{DepartureTimeout: 3 * time.Second}); err != nil {
			t.Fatal(err)
		}
		m, _ := adminJoin(t, reg, "dep", "alice", rooms.AllPermissions())
		_ = m.Leave(context.Background(), rooms.ReasonLeft)
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if _, ok := reg.Get("dep"); ok {
			t.Error("room with departureTimeout 3s still open 4s after the last left")
		}
	})
}

func TestAdminParticipantOperations(t *testing.T) {
	ctx := context.Background()
	reg, obs := adminRegistry(t)
	readOnly := rooms.Permission{CanSubscribe: true}
	alice, as := adminJoin(t, reg, "r", "alice", readOnly)
	_, bs := adminJoin(t, reg, "r", "bob", rooms.AllPermissions())

	if _, err := reg.GetParticipant(ctx, "r", "nobody"); !errors.Is(err, rooms.ErrParticipantNotFound) {
		t.Errorf("GetParticipant(nobody) = %v", err)
	}
	if _, err := reg.GetParticipant(ctx, "nowhere", "alice"); !errors.Is(err, rooms.ErrRoomNotFound) {
		t.Errorf("GetParticipant(nowhere) = %v", err)
	}

	// UpdateParticipant ignores alice's own lack of canUpdateMetadata and
	// replaces her permission.
	name, meta := "Alice", "boss"
	perm := rooms.AllPermissions()
	p, err := reg.UpdateParticipant(ctx, "r", "alice", rooms.Update{Name: &name, Metadata: &meta, Attributes: map[string]string{"k": "v"}}, &perm)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Alice" || p.Metadata != "boss" || p.Attributes["k"] != "v" || !p.Permission.CanPublish {
		t.Errorf("updated = %+v", p)
	}
	for who, s := range map[string]*adminSink{"alice": as, "bob": bs} {
		if ev := s.last(); ev.Kind != rooms.EventParticipantUpdated || ev.Reason != rooms.ReasonAdmin || ev.Participant.Metadata != "boss" {
			t.Errorf("%s's last event = %v %q %+v", who, ev.Kind, ev.Reason, ev.Participant)
		}
	}

	// Now she may publish; the server mutes her track.
	tr, err := alice.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindAudio, Name: "mic"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := reg.MuteTrack(ctx, "r", "alice", tr.Sid, true)
	if err != nil || !got.Muted || got.Sid != tr.Sid {
		t.Fatalf("MuteTrack = %+v, %v", got, err)
	}
	if ev := as.last(); ev.Kind != rooms.EventTrackMuted || ev.Reason != rooms.ReasonAdmin || !ev.Track.Muted {
		t.Errorf("alice's last event = %v %q %+v", ev.Kind, ev.Reason, ev.Track)
	}
	if _, err := reg.MuteTrack(ctx, "r", "alice", "TR_nope", true); !errors.Is(err, rooms.ErrTrackNotFound) {
		t.Errorf("MuteTrack(unknown) = %v", err)
	}

	// UpdateSubscriptions tells bob only; unknown sids are ignored.
	before := as.count()
	if err := reg.UpdateSubscriptions(ctx, "r", "bob", []string{tr.Sid, "TR_nope"}, false); err != nil {
		t.Fatal(err)
	}
	if ev := bs.last(); ev.Kind != rooms.EventTrackUnsubscribed || ev.Track.Sid != tr.Sid || ev.Participant.Identity != "alice" {
		t.Errorf("bob's last event = %v %+v", ev.Kind, ev.Track)
	}
	if err := reg.UpdateSubscriptions(ctx, "r", "bob", []string{tr.Sid}, true); err != nil {
		t.Fatal(err)
	}
	if ev := bs.last(); ev.Kind != rooms.EventTrackSubscribed {
		t.Errorf("bob's last event = %v", ev.Kind)
	}
	if as.count() != before {
		t.Error("alice was told about bob's subscriptions")
	}
	if _, ok := obs.first(rooms.EventTrackUnsubscribed); !ok {
		t.Error("the observer did not see the subscription change")
	}
}

func TestServerSendData(t *testing.T) {
	ctx := context.Background()
	reg, _ := adminRegistry(t)
	_, as := adminJoin(t, reg, "r", "alice", rooms.AllPermissions())
	bob, bs := adminJoin(t, reg, "r", "bob", rooms.AllPermissions())
	_, cs := adminJoin(t, reg, "r", "carol", rooms.AllPermissions())

	tests := []struct {
		name       string
		identities []string
		sids       []string
		want       []string // who receives
	}{
		{"everyone", nil, nil, []string{"alice", "bob", "carol"}},
		{"by identity", []string{"alice"}, nil, []string{"alice"}},
		{"by sid", nil, []string{bob.Sid()}, []string{"bob"}},
		{"both", []string{"carol"}, []string{bob.Sid()}, []string{"bob", "carol"}},
		{"unknown only", []string{"nobody"}, []string{"PA_nope"}, nil},
		{"unknown sid only", nil, []string{"PA_nope"}, nil},
	}
	sinks := map[string]*adminSink{"alice": as, "bob": bs, "carol": cs}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[string]int{}
			for who, s := range sinks {
				before[who] = s.count()
			}
			pkt := rooms.DataPacket{Payload: []byte(tt.name), Topic: "t", Destinations: tt.identities, Reliable: true}
			if err := reg.SendData(ctx, "r", pkt, tt.sids); err != nil {
				t.Fatal(err)
			}
			var got []string
			for who, s := range sinks {
				if s.count() == before[who] {
					continue
				}
				got = append(got, who)
				ev := s.last()
				if ev.Kind != rooms.EventDataReceived || ev.Data.FromIdentity != "" || string(ev.Data.Payload) != tt.name {
					t.Errorf("%s got %v %+v", who, ev.Kind, ev.Data)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("delivered to %v, want %v", got, tt.want)
			}
		})
	}
	if err := reg.SendData(ctx, "nowhere", rooms.DataPacket{}, nil); !errors.Is(err, rooms.ErrRoomNotFound) {
		t.Errorf("SendData(nowhere) = %v", err)
	}
}

func TestRevokedPublishingUnpublishesTracks(t *testing.T) {
	ctx := context.Background()
	reg, _ := newRegistry(t, rooms.Options{})
	alice := &sink{}
	join(t, reg, "r", "alice", alice)
	bob := join(t, reg, "r", "bob", &sink{})
	mic, err := bob.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindAudio, Source: rooms.SourceMicrophone})
	if err != nil {
		t.Fatal(err)
	}
	cam, err := bob.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindVideo, Source: rooms.SourceCamera})
	if err != nil {
		t.Fatal(err)
	}
	n := len(alice.kinds())
	camOnly := rooms.AllPermissions()
	camOnly.CanPublishSources = []string{rooms.SourceCamera}
	p, err := reg.UpdateParticipant(ctx, "r", "bob", rooms.Update{}, &camOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tracks) != 1 || p.Tracks[0].Sid != cam.Sid {
		t.Fatalf("bob's tracks after allowing the camera only: %+v", p.Tracks)
	}
	got := alice.kinds()[n:]
	if strings.Join(got, ",") != "track_unpublished:admin,participant_updated:admin" {
		t.Fatalf("alice got %v", got)
	}
	if ev := alice.events[n]; ev.Track.Sid != mic.Sid || len(ev.Participant.Tracks) != 1 {
		t.Errorf("track_unpublished is about %s with %d tracks left, want %s and 1", ev.Track.Sid, len(ev.Participant.Tracks), mic.Sid)
	}
	none := rooms.AllPermissions()
	none.CanPublish = false
	if p, err = reg.UpdateParticipant(ctx, "r", "bob", rooms.Update{}, &none); err != nil || len(p.Tracks) != 0 {
		t.Fatalf("after revoking canPublish: %+v, %v", p.Tracks, err)
	}
	if _, err := bob.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindAudio}); !errors.Is(err, rooms.ErrPermissionDenied) {
		t.Errorf("publishing after the revocation: %v", err)
	}
}
