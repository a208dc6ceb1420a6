package rooms_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

func TestFakeParticipantIsSeenAndRemovable(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{})
	alice := &sink{}
	join(t, reg, "r", "alice", alice)
	m, fs, info, err := reg.JoinFake(context.Background(), rooms.FakeRequest{
		Room: "r", Identity: "bot", Name: "Bot",
		Tracks: []rooms.TrackRequest{{Kind: rooms.KindAudio, Source: rooms.SourceMicrophone}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if info.Dialect != rooms.DialectFake || info.State != rooms.StateActive || len(info.Tracks) != 1 {
		t.Fatalf("fake info %+v", info)
	}
	if err := m.SendData(context.Background(), rooms.DataPacket{Payload: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	want := []string{"joined", "participant_joined:bot", "track_published", "data_received"}
	if got := alice.kinds(); !slices.Equal(got, want) {
		t.Fatalf("alice saw %v, want %v", got, want)
	}
	if err := reg.RemoveParticipant(context.Background(), "r", "bot", rooms.ReasonRemoved); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fs.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the fake's sink was not closed")
	}
	if fs.Reason() != rooms.ReasonRemoved {
		t.Fatalf("reason %q", fs.Reason())
	}
}

func TestDeleteAllRooms(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{})
	a, b := &sink{}, &sink{}
	join(t, reg, "one", "a", a)
	join(t, reg, "two", "b", b)
	if n := reg.DeleteAllRooms(context.Background(), rooms.ReasonRoomDeleted); n != 2 {
		t.Fatalf("deleted %d rooms", n)
	}
	if a.reason() != rooms.ReasonRoomDeleted || b.reason() != rooms.ReasonRoomDeleted {
		t.Fatalf("sinks closed with %q, %q", a.reason(), b.reason())
	}
	if n, p := reg.Counts(); n != 0 || p != 0 {
		t.Fatalf("counts %d %d", n, p)
	}
}

func TestDetachAndResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, rec := newRegistry(t, rooms.Options{})
		bob := &sink{}
		join(t, reg, "r", "bob", bob)
		first := &sink{}
		m := join(t, reg, "r", "alice", first)
		if _, err := m.PublishTrack(context.Background(), rooms.TrackRequest{Kind: rooms.KindAudio}); err != nil {
			t.Fatal(err)
		}
		if err := m.Detach(context.Background(), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		p, _ := reg.GetParticipant(context.Background(), "r", "alice")
		if p.State != rooms.StateDisconnected {
			t.Fatalf("detached state %v", p.State)
		}
		time.Sleep(9 * time.Second)
		synctest.Wait()

		second := &sink{}
		m2, err := reg.Resume(context.Background(), m.Sid(), func(p rooms.ParticipantInfo, _ any) rooms.Sink {
			if p.Identity != "alice" {
				return nil
			}
			return second
		})
		if err != nil || m2.Sid() != m.Sid() {
			t.Fatalf("resume: %v", err)
		}
		if k := second.kinds(); len(k) != 1 || second.events[0].Kind != rooms.EventParticipantResumed ||
			len(second.events[0].Participant.Tracks) != 1 || second.events[0].Participant.State != rooms.StateActive {
			t.Fatalf("resumed sink got %v", second.events)
		}
		time.Sleep(time.Hour) // the old window no longer runs
		synctest.Wait()
		if slices.ContainsFunc(bob.kinds(), func(k string) bool { return k == "participant_left:alice" }) {
			t.Fatal("bob saw alice leave")
		}
		if rec.count(rooms.EventParticipantResumed) != 1 || rec.count(rooms.EventParticipantDetached) != 1 {
			t.Fatal("observer missed detach or resume")
		}

		// Detached again, the window runs out: alice leaves with timeout.
		if err := m2.Detach(context.Background(), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if !slices.Contains(bob.kinds(), "participant_left:alice:timeout") {
			t.Fatalf("bob saw %v", bob.kinds())
		}
		if _, err := reg.Resume(context.Background(), m.Sid(), func(rooms.ParticipantInfo, any) rooms.Sink { return &sink{} }); !errors.Is(err, rooms.ErrNotResumable) {
			t.Fatalf("resume after the window: %v", err)
		}
	})
}

func TestResumeRefusedBySinkFactory(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{})
	m := join(t, reg, "r", "alice", &sink{})
	if err := m.Detach(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := reg.Resume(context.Background(), m.Sid(), func(rooms.ParticipantInfo, any) rooms.Sink { return nil })
	if !errors.Is(err, rooms.ErrPermissionDenied) {
		t.Fatalf("err = %v", err)
	}
	if _, err := reg.Resume(context.Background(), "PA_unknown", func(rooms.ParticipantInfo, any) rooms.Sink { return &sink{} }); !errors.Is(err, rooms.ErrNotResumable) {
		t.Fatalf("unknown sid: %v", err)
	}
}

func TestResumeGetsTheJoinSecret(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{})
	m, err := reg.Join(context.Background(), rooms.JoinRequest{
		Room: "r", Identity: "alice", Permission: rooms.AllPermissions(),
		Dialect: rooms.DialectJSON, State: rooms.StateActive, Secret: "s3cret",
	}, &sink{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Detach(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	var got any
	if _, err := reg.Resume(context.Background(), m.Sid(), func(_ rooms.ParticipantInfo, secret any) rooms.Sink {
		got = secret
		return &sink{}
	}); err != nil || got != "s3cret" {
		t.Fatalf("resume: %v, secret %v", err, got)
	}
}
