package rooms_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sink records what a room delivers; cap > 0 makes it refuse when full.
type sink struct {
	mu     sync.Mutex
	events []rooms.Event
	closed rooms.Reason
	cap    int
}

func (s *sink) Send(ev rooms.Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cap > 0 && len(s.events) >= s.cap {
		return false
	}
	s.events = append(s.events, ev)
	return true
}

func (s *sink) Close(r rooms.Reason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = r
}

func (s *sink) kinds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ev := range s.events {
		k := ev.Kind.String()
		if ev.Kind == rooms.EventParticipantJoined || ev.Kind == rooms.EventParticipantLeft {
			k += ":" + ev.Participant.Identity
		}
		if ev.Reason != "" {
			k += ":" + string(ev.Reason)
		}
		out = append(out, k)
	}
	return out
}

func (s *sink) reason() rooms.Reason {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// recorder is an Observer.
type recorder struct {
	mu     sync.Mutex
	events []rooms.Event
}

func (r *recorder) Observe(ev rooms.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) count(k rooms.EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

func newRegistry(t *testing.T, o rooms.Options) (*rooms.Registry, *recorder) {
	t.Helper()
	rec := &recorder{}
	if o.Observer == nil {
		o.Observer = rec
	}
	if o.EmptyTimeout == 0 {
		o.EmptyTimeout = 300 * time.Second
	}
	if o.DepartureTimeout == 0 {
		o.DepartureTimeout = 20 * time.Second
	}
	o.IDs = ids.New(nil)
	reg := rooms.NewRegistry(o)
	t.Cleanup(reg.Close)
	return reg, rec
}

func join(t *testing.T, reg *rooms.Registry, room, identity string, s rooms.Sink) *rooms.Member {
	t.Helper()
	m, err := reg.Join(context.Background(), rooms.JoinRequest{
		Room: room, Identity: identity, Name: strings.ToUpper(identity), Permission: rooms.AllPermissions(),
		Dialect: rooms.DialectJSON, State: rooms.StateActive,
	}, s)
	if err != nil {
		t.Fatalf("join %s: %v", identity, err)
	}
	return m
}

func TestJoinSnapshotComesFirstAndOthersAreTold(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{})
	a, b := &sink{}, &sink{}
	ma := join(t, reg, "r", "alice", a)
	if _, err := ma.PublishTrack(context.Background(), rooms.TrackRequest{Kind: rooms.KindAudio, Name: "mic", Source: rooms.SourceMicrophone}); err != nil {
		t.Fatal(err)
	}
	mb := join(t, reg, "r", "bob", b)

	if got := b.kinds(); len(got) != 1 || got[0] != "joined" {
		t.Fatalf("bob got %v, want only the join snapshot", got)
	}
	snap := b.events[0]
	if snap.Participant.Identity != "bob" || !strings.HasPrefix(snap.Participant.Sid, "PA_") || !strings.HasPrefix(snap.RoomSid, "RM_") {
		t.Errorf("snapshot self = %+v room %s", snap.Participant, snap.RoomSid)
	}
	if len(snap.Room.Participants) != 1 || snap.Room.Participants[0].Identity != "alice" ||
		len(snap.Room.Participants[0].Tracks) != 1 || !strings.HasPrefix(snap.Room.Participants[0].Tracks[0].Sid, "TR_") {
		t.Errorf("snapshot others = %+v", snap.Room.Participants)
	}
	if got := a.kinds(); strings.Join(got, ",") != "joined,track_published,participant_joined:bob" {
		t.Errorf("alice got %v", got)
	}
	info, ok := reg.Get("r")
	if !ok || len(info.Participants) != 2 {
		t.Fatalf("Get = %+v, %v", info, ok)
	}
	if info.Participants[0].Version < 2 || info.Participants[0].State != rooms.StateActive {
		t.Errorf("alice = %+v: version must have risen with the track", info.Participants[0])
	}
	if n, p := reg.Counts(); n != 1 || p != 2 {
		t.Errorf("Counts = %d, %d", n, p)
	}
	if err := mb.Leave(context.Background(), rooms.ReasonLeft); err != nil {
		t.Fatal(err)
	}
	if err := mb.Leave(context.Background(), rooms.ReasonLeft); !errors.Is(err, rooms.ErrNotJoined) {
		t.Errorf("second leave: %v, want ErrNotJoined", err)
	}
	if got := a.kinds(); got[len(got)-1] != "participant_left:bob:left" {
		t.Errorf("alice got %v", got)
	}
}

func TestDuplicateIdentityReplacesTheOlder(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{})
	old, other, newer := &sink{}, &sink{}, &sink{}
	mOld := join(t, reg, "r", "alice", old)
	join(t, reg, "r", "bob", other)
	join(t, reg, "r", "alice", newer)

	if old.reason() != rooms.ReasonDuplicateIdentity {
		t.Errorf("older session closed with %q", old.reason())
	}
	want := "joined,participant_left:alice:duplicate_identity,participant_joined:alice"
	if got := strings.Join(other.kinds(), ","); got != want {
		t.Errorf("bob got %s\nwant        %s", got, want)
	}
	if snap := newer.events[0]; len(snap.Room.Participants) != 1 || snap.Room.Participants[0].Identity != "bob" {
		t.Errorf("new alice's snapshot = %+v", snap.Room.Participants)
	}
	info, _ := reg.Get("r")
	if len(info.Participants) != 2 {
		t.Errorf("room holds %d participants, want 2", len(info.Participants))
	}
	if _, err := mOld.PublishTrack(context.Background(), rooms.TrackRequest{Kind: rooms.KindAudio}); !errors.Is(err, rooms.ErrNotJoined) {
		t.Errorf("replaced member publishes: %v", err)
	}
}

func TestRoomFull(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{MaxParticipants: 1})
	join(t, reg, "r", "alice", &sink{})
	_, err := reg.Join(context.Background(), rooms.JoinRequest{Room: "r", Identity: "bob"}, &sink{})
	if !errors.Is(err, rooms.ErrRoomFull) {
		t.Fatalf("err = %v, want ErrRoomFull", err)
	}
	// Taking over one's own place is not a new participant.
	join(t, reg, "r", "alice", &sink{})
}

func TestSlowConsumerIsRemovedAndAnnounced(t *testing.T) {
	// In a bubble: the removal of the slow member runs on the room's
	// goroutine after the publish returns, and synctest.Wait lets it finish
	// (the test saw the room before that once in about 75 runs).
	synctest.Test(t, func(t *testing.T) {
		reg, _ := newRegistry(t, rooms.Options{})
		slow, fast := &sink{cap: 2}, &sink{}
		join(t, reg, "r", "slow", slow)
		m := join(t, reg, "r", "fast", fast) // slow: 2 events, full
		if _, err := m.PublishTrack(context.Background(), rooms.TrackRequest{Kind: rooms.KindVideo}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if slow.reason() != rooms.ReasonSlowConsumer {
			t.Errorf("slow closed with %q", slow.reason())
		}
		got := fast.kinds()
		if got[len(got)-1] != "participant_left:slow:slow_consumer" {
			t.Errorf("fast got %v", got)
		}
		if _, p := reg.Counts(); p != 1 {
			t.Errorf("participants = %d", p)
		}
	})
}

func TestPermissionsAndData(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{})
	ctx := context.Background()
	viewer, err := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: "viewer", Permission: rooms.Permission{CanSubscribe: true}}, &sink{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := viewer.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindAudio}); !errors.Is(err, rooms.ErrPermissionDenied) {
		t.Errorf("publish: %v", err)
	}
	if err := viewer.SendData(ctx, rooms.DataPacket{Payload: []byte("x")}); !errors.Is(err, rooms.ErrPermissionDenied) {
		t.Errorf("data: %v", err)
	}
	name := "v"
	if _, err := viewer.Update(ctx, rooms.Update{Name: &name}); !errors.Is(err, rooms.ErrPermissionDenied) {
		t.Errorf("update: %v", err)
	}
	camOnly, _ := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: "cam", Permission: rooms.Permission{CanPublish: true, CanPublishSources: []string{rooms.SourceCamera}}}, &sink{})
	if _, err := camOnly.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindAudio, Source: rooms.SourceMicrophone}); !errors.Is(err, rooms.ErrPermissionDenied) {
		t.Errorf("microphone with camera-only grant: %v", err)
	}
	if _, err := camOnly.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindVideo, Source: rooms.SourceCamera}); err != nil {
		t.Errorf("camera: %v", err)
	}

	a, b, c := &sink{}, &sink{}, &sink{}
	ma := join(t, reg, "d", "a", a)
	join(t, reg, "d", "b", b)
	join(t, reg, "d", "c", c)
	if err := ma.SendData(ctx, rooms.DataPacket{Payload: []byte{0xff}, Topic: "t", Destinations: []string{"c", "nobody"}}); err != nil {
		t.Fatal(err)
	}
	last := func(s *sink) rooms.Event { s.mu.Lock(); defer s.mu.Unlock(); return s.events[len(s.events)-1] }
	if ev := last(c); ev.Kind != rooms.EventDataReceived || ev.Data.FromIdentity != "a" || ev.Data.Topic != "t" || string(ev.Data.Payload) != "\xff" {
		t.Errorf("c got %+v", ev)
	}
	if ev := last(b); ev.Kind == rooms.EventDataReceived {
		t.Error("b is not a destination but got the data")
	}
	if ev := last(a); ev.Kind == rooms.EventDataReceived {
		t.Error("the sender got its own data")
	}
	if err := ma.SetSubscribed(ctx, "TR_unknown", false); !errors.Is(err, rooms.ErrTrackNotFound) {
		t.Errorf("unsubscribe unknown: %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, rec := newRegistry(t, rooms.Options{EmptyTimeout: 300 * time.Second, DepartureTimeout: 20 * time.Second})

		// Nobody joins: the room lives EmptyTimeout.
		if _, err := reg.Reserve("empty"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(299 * time.Second)
		synctest.Wait()
		if _, ok := reg.Get("empty"); !ok {
			t.Fatal("reserved room closed before ROOM_EMPTY_TIMEOUT")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if _, ok := reg.Get("empty"); ok {
			t.Fatal("reserved room still open after ROOM_EMPTY_TIMEOUT")
		}

		// The last one leaves: the room lives DepartureTimeout.
		m := join(t, reg, "r", "alice", &sink{})
		time.Sleep(time.Hour) // an occupied room never times out
		synctest.Wait()
		if err := m.Leave(context.Background(), rooms.ReasonLeft); err != nil {
			t.Fatal(err)
		}
		time.Sleep(19 * time.Second)
		synctest.Wait()
		if _, ok := reg.Get("r"); !ok {
			t.Fatal("room closed before ROOM_DEPARTURE_TIMEOUT")
		}
		// Someone coming back in time keeps the room (same sid).
		before, _ := reg.Get("r")
		m = join(t, reg, "r", "bob", &sink{})
		_ = m.Leave(context.Background(), rooms.ReasonLeft)
		time.Sleep(19 * time.Second)
		synctest.Wait()
		if after, ok := reg.Get("r"); !ok || after.Sid != before.Sid {
			t.Fatal("the departure timer was not restarted by the rejoin")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if _, ok := reg.Get("r"); ok {
			t.Fatal("room still open after ROOM_DEPARTURE_TIMEOUT")
		}
		if n, _ := reg.Counts(); n != 0 {
			t.Errorf("rooms = %d", n)
		}
		if s, c := rec.count(rooms.EventRoomStarted), rec.count(rooms.EventRoomClosed); s != 2 || c != 2 {
			t.Errorf("started %d closed %d, want 2 and 2", s, c)
		}
	})
}

func TestDeleteRoomAndRemoveParticipant(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{})
	a, b := &sink{}, &sink{}
	join(t, reg, "r", "a", a)
	join(t, reg, "r", "b", b)
	ctx := context.Background()
	if err := reg.RemoveParticipant(ctx, "r", "a", rooms.ReasonRemoved); err != nil {
		t.Fatal(err)
	}
	if a.reason() != rooms.ReasonRemoved {
		t.Errorf("a closed with %q", a.reason())
	}
	if err := reg.RemoveParticipant(ctx, "r", "a", rooms.ReasonRemoved); !errors.Is(err, rooms.ErrParticipantNotFound) {
		t.Errorf("again: %v", err)
	}
	if err := reg.DeleteRoom(ctx, "r", rooms.ReasonRoomDeleted); err != nil {
		t.Fatal(err)
	}
	if b.reason() != rooms.ReasonRoomDeleted {
		t.Errorf("b closed with %q", b.reason())
	}
	if _, ok := reg.Get("r"); ok {
		t.Error("deleted room still listed")
	}
	if err := reg.DeleteRoom(ctx, "r", rooms.ReasonRoomDeleted); !errors.Is(err, rooms.ErrRoomNotFound) {
		t.Errorf("delete again: %v", err)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	reg := rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Hour, DepartureTimeout: time.Hour})
	s := &sink{}
	join(t, reg, "r", "a", s)
	_, _ = reg.Reserve("other")
	reg.Close()
	if s.reason() != rooms.ReasonServerShutdown {
		t.Errorf("member closed with %q", s.reason())
	}
	if _, err := reg.Reserve("x"); !errors.Is(err, rooms.ErrClosed) {
		t.Errorf("Reserve after Close: %v", err)
	}
	if n, p := reg.Counts(); n != 0 || p != 0 {
		t.Errorf("Counts = %d, %d", n, p)
	}
}

// Many goroutines join, publish, mute, send and leave across a few rooms;
// rooms come and go under them (a zero departure timeout). Afterwards no
// participant and no room is left, and (TestMain) no goroutine.
func TestChurn(t *testing.T) {
	reg, rec := newRegistry(t, rooms.Options{EmptyTimeout: time.Nanosecond, DepartureTimeout: time.Nanosecond})
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 20 {
				room := fmt.Sprintf("room-%d", (g+i)%4)
				m, err := reg.Join(ctx, rooms.JoinRequest{Room: room, Identity: fmt.Sprintf("u%d", g), Permission: rooms.AllPermissions()}, &sink{cap: 64})
				if err != nil {
					t.Errorf("join: %v", err)
					return
				}
				tr, err := m.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindAudio})
				if err == nil {
					_, _ = m.MuteTrack(ctx, tr.Sid, true)
				}
				_ = m.SendData(ctx, rooms.DataPacket{Payload: []byte("hi")})
				_ = m.Leave(ctx, rooms.ReasonLeft) // may already be gone (slow consumer)
			}
		})
	}
	wg.Wait()
	if _, p := reg.Counts(); p != 0 {
		t.Errorf("participants left over: %d", p)
	}
	// Each room closes a nanosecond after it empties; wait for the last.
	deadline := time.Now().Add(10 * time.Second)
	for rec.count(rooms.EventRoomClosed) < rec.count(rooms.EventRoomStarted) {
		if time.Now().After(deadline) {
			t.Fatalf("rooms still open: started %d closed %d", rec.count(rooms.EventRoomStarted), rec.count(rooms.EventRoomClosed))
		}
		runtime.Gosched()
	}
	if n, _ := reg.Counts(); n != 0 {
		t.Errorf("rooms left over: %d (%v)", n, reg.List())
	}
}

func TestDataNoncesDropDuplicates(t *testing.T) {
	ctx := context.Background()
	reg, _ := newRegistry(t, rooms.Options{})
	alice, bob := &sink{}, &sink{}
	ma := join(t, reg, "r", "alice", alice)
	join(t, reg, "r", "bob", bob)
	received := func() int {
		n := 0
		for _, k := range bob.kinds() {
			if k == "data_received" {
				n++
			}
		}
		return n
	}
	nonce := func(i int) []byte { return []byte(fmt.Sprintf("nonce-%010d", i)) }
	send := func(n []byte) {
		t.Helper()
		if err := ma.SendData(ctx, rooms.DataPacket{Payload: []byte("x"), Nonce: n}); err != nil {
			t.Fatal(err)
		}
	}
	send(nonce(0))
	send(nonce(0))                                                                                               // a client's retry
	if err := reg.SendData(ctx, "r", rooms.DataPacket{Payload: []byte("x"), Nonce: nonce(0)}, nil); err != nil { // the server's
		t.Fatal(err)
	}
	send(nil)
	send(nil)
	send([]byte("short"))
	send([]byte("short"))
	if got := received(); got != 5 {
		t.Fatalf("bob got %d packets, want 5: one per nonce, and every packet without a 16-byte one", got)
	}
	for i := 1; i <= rooms.NonceMemory; i++ {
		send(nonce(i))
	}
	send(nonce(0)) // forgotten after NonceMemory newer ones
	if got := received(); got != 5+rooms.NonceMemory+1 {
		t.Errorf("bob got %d packets, want %d", got, 5+rooms.NonceMemory+1)
	}
}
