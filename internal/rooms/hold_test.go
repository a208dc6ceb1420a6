package rooms_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

func joinHeld(t *testing.T, reg *rooms.Registry, room, identity string, hold time.Duration, s rooms.Sink) *rooms.Member {
	t.Helper()
	m, err := reg.Join(context.Background(), rooms.JoinRequest{
		Room: room, Identity: identity, Permission: rooms.AllPermissions(),
		Dialect: rooms.DialectLiveKit, State: rooms.StateJoined, Hold: hold,
	}, s)
	if err != nil {
		t.Fatalf("join %s: %v", identity, err)
	}
	return m
}

func kindsOf(s *sink) string { return strings.Join(s.kinds(), ",") }

func TestHeldJoinIsAnnouncedAfterTheHoldWithItsStateChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		reg, rec := newRegistry(t, rooms.Options{})
		alice, bob, carol := &sink{}, &sink{}, &sink{}
		join(t, reg, "r", "alice", alice)
		mb := joinHeld(t, reg, "r", "bob", 100*time.Millisecond, bob)
		if err := mb.SetState(ctx, rooms.StateActive); err != nil {
			t.Fatal(err)
		}
		join(t, reg, "r", "carol", carol) // joins while bob's join is held
		synctest.Wait()

		if got := kindsOf(alice); got != "joined,participant_joined:carol" {
			t.Errorf("alice during the hold: %s", got)
		}
		if got := kindsOf(bob); got != "joined,participant_updated,participant_joined:carol" {
			t.Errorf("bob sees his own update and carol at once: %s", got)
		}
		// A member who joins meanwhile finds the held participant in its
		// snapshot, as it is then (ACTIVE), and is not told of it again.
		if ps := carol.events[0].Room.Participants; len(ps) != 2 || ps[1].Identity != "bob" || ps[1].State != rooms.StateActive {
			t.Errorf("carol's snapshot lists %+v, want alice and bob (ACTIVE)", ps)
		}
		if n := rec.count(rooms.EventParticipantJoined); n != 3 {
			t.Errorf("observer saw %d joins, want all 3 at once", n)
		}
		if info, _ := reg.Get("r"); len(info.Participants) != 3 {
			t.Errorf("Get lists %d participants, want 3", len(info.Participants))
		}

		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if got := kindsOf(carol); got != "joined" {
			t.Errorf("carol got %s, want only her snapshot", got)
		}
		for name, s := range map[string]*sink{"alice": alice} {
			var seen []rooms.Event
			for _, ev := range s.events {
				if ev.Participant.Identity == "bob" {
					seen = append(seen, ev)
				}
			}
			if len(seen) != 2 || seen[0].Kind != rooms.EventParticipantJoined || seen[1].Kind != rooms.EventParticipantUpdated ||
				seen[0].Participant.State != rooms.StateJoined || seen[1].Participant.State != rooms.StateActive ||
				seen[1].Participant.Version <= seen[0].Participant.Version {
				t.Errorf("%s got about bob: %+v; want JOINED then ACTIVE with a rising version", name, seen)
			}
		}
		// Later updates are not held.
		if err := mb.SetState(ctx, rooms.StateDisconnected); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := alice.kinds(); got[len(got)-1] != "participant_updated" {
			t.Errorf("alice after the hold: %v", got)
		}
	})
}

func TestHeldJoinIsAnnouncedAtOnceWhenTheParticipantActs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		reg, _ := newRegistry(t, rooms.Options{})
		alice := &sink{}
		join(t, reg, "r", "alice", alice)

		bob := joinHeld(t, reg, "r", "bob", time.Hour, &sink{})
		if _, err := bob.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindAudio, Name: "mic"}); err != nil {
			t.Fatal(err)
		}
		carol := joinHeld(t, reg, "r", "carol", time.Hour, &sink{})
		if err := carol.SendData(ctx, rooms.DataPacket{Payload: []byte("hi")}); err != nil {
			t.Fatal(err)
		}
		dave := joinHeld(t, reg, "r", "dave", time.Hour, &sink{})
		if err := dave.Leave(ctx, rooms.ReasonLeft); err != nil {
			t.Fatal(err)
		}
		name := "erin"
		erin := joinHeld(t, reg, "r", "erin", time.Hour, &sink{})
		if _, err := erin.Update(ctx, rooms.Update{Name: &name}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		want := []string{
			"joined",
			"participant_joined:bob", "track_published",
			"participant_joined:carol", "data_received",
			"participant_joined:dave", "participant_left:dave:left",
			"participant_joined:erin", "participant_updated",
		}
		if got := alice.kinds(); !slices.Equal(got, want) {
			t.Errorf("alice got\n%v\nwant\n%v", got, want)
		}
		// A room that closes with a hold running leaves no timer behind
		// (synctest fails the test on a goroutine or timer left over).
		if err := reg.DeleteRoom(ctx, "r", rooms.ReasonRoomDeleted); err != nil {
			t.Fatal(err)
		}
	})
}

func TestResumingDuringAHoldIsNotToldTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		reg, _ := newRegistry(t, rooms.Options{})
		alice := join(t, reg, "r", "alice", &sink{})
		joinHeld(t, reg, "r", "bob", 100*time.Millisecond, &sink{})
		if err := alice.Detach(ctx, time.Minute); err != nil {
			t.Fatal(err)
		}
		again := &sink{}
		if _, err := reg.Resume(ctx, alice.Sid(), func(rooms.ParticipantInfo, any) rooms.Sink { return again }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if len(again.events) != 1 || again.events[0].Kind != rooms.EventParticipantResumed {
			t.Errorf("alice after resuming got %s; bob is in her snapshot already", kindsOf(again))
		}
		if ps := again.events[0].Room.Participants; len(ps) != 1 || ps[0].Identity != "bob" {
			t.Errorf("alice's snapshot: %+v", ps)
		}
	})
}
