package admin_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/admin"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
)

// recordingMedia stands in for the Forwarder: it checks that what it is
// given plays (the embedded tone parses) and reports plays and stops.
type recordingMedia struct {
	t      *testing.T
	fail   bool
	played chan [2]string // publisher sid, track sid
	stops  chan string    // track sid

	mu      sync.Mutex
	stopped map[string]int
}

func newRecordingMedia(t *testing.T, fail bool) *recordingMedia {
	return &recordingMedia{t: t, fail: fail, played: make(chan [2]string, 8), stops: make(chan string, 8),
		stopped: map[string]int{}}
}

func (r *recordingMedia) PlayOpus(pub, track string, ogg []byte) (func(), error) {
	if r.fail {
		return nil, errors.New("no media today")
	}
	if _, err := rtc.ParseOpusClip(ogg); err != nil {
		r.t.Errorf("the embedded tone does not play: %v", err)
	}
	r.played <- [2]string{pub, track}
	return func() {
		r.mu.Lock()
		r.stopped[track]++
		n := r.stopped[track]
		r.mu.Unlock()
		if n == 1 {
			r.stops <- track
		}
	}, nil
}

func TestFakeAudioPlaysUntilTheFakeIsGone(t *testing.T) {
	cases := []struct {
		name string
		data bool
		end  func(t *testing.T, a *admin.Admin, reg *rooms.Registry) // makes the fake go
	}{
		{name: "removed", end: func(t *testing.T, a *admin.Admin, _ *rooms.Registry) {
			if err := a.RemoveParticipant(context.Background(), "r", "bot"); err != nil {
				t.Errorf("RemoveParticipant: %v", err)
			}
		}},
		{name: "removed while sending data", data: true, end: func(t *testing.T, a *admin.Admin, _ *rooms.Registry) {
			if err := a.RemoveParticipant(context.Background(), "r", "bot"); err != nil {
				t.Errorf("RemoveParticipant: %v", err)
			}
		}},
		{name: "reset", end: func(t *testing.T, a *admin.Admin, _ *rooms.Registry) {
			if _, err := a.Reset(context.Background(), nil); err != nil {
				t.Errorf("Reset: %v", err)
			}
		}},
		{name: "room deleted", end: func(t *testing.T, _ *admin.Admin, reg *rooms.Registry) {
			if err := reg.DeleteRoom(context.Background(), "r", rooms.ReasonRoomDeleted); err != nil {
				t.Errorf("DeleteRoom: %v", err)
			}
		}},
		{name: "admin closed", end: func(t *testing.T, a *admin.Admin, _ *rooms.Registry) { a.Close() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := journal.New(journal.Options{})
			reg := rooms.NewRegistry(rooms.Options{IDs: ids.New(nil), Observer: admin.Observer(j),
				EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
			defer reg.Close()
			media := newRecordingMedia(t, false)
			a := admin.New(admin.Options{Registry: reg, Journal: j, Media: media})
			defer a.Close()

			f := admin.Fake{Room: "r", Identity: "bot", Tracks: []admin.FakeTrack{
				{Kind: rooms.KindVideo}, {Kind: rooms.KindAudio, Name: "tone"}}}
			if tc.data {
				f.Data = &admin.FakeData{Every: 10 * time.Millisecond, Payload: "x"}
			}
			info, err := a.AddFake(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			audio := info.Tracks[1]
			if audio.Kind != rooms.KindAudio || audio.Source != rooms.SourceMicrophone {
				t.Fatalf("tracks %+v", info.Tracks)
			}
			// Only the audio track plays, as a track of the fake.
			if got := wait(t, media.played, "PlayOpus"); got != [2]string{info.Sid, audio.Sid} {
				t.Fatalf("PlayOpus(%v), want (%s, %s)", got, info.Sid, audio.Sid)
			}
			select {
			case got := <-media.played:
				t.Fatalf("a second track plays: %v", got)
			default:
			}
			select {
			case tr := <-media.stops:
				t.Fatalf("%s stopped while the fake is in the room", tr)
			default:
			}
			tc.end(t, a, reg)
			if got := wait(t, media.stops, "stop"); got != audio.Sid {
				t.Fatalf("stopped %s, want %s", got, audio.Sid)
			}
		})
	}
}

func TestFakeWithoutMediaStillJoins(t *testing.T) {
	j := journal.New(journal.Options{})
	reg := rooms.NewRegistry(rooms.Options{IDs: ids.New(nil), Observer: admin.Observer(j),
		EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
	defer reg.Close()
	for _, media := range []admin.Media{nil, newRecordingMedia(t, true)} {
		a := admin.New(admin.Options{Registry: reg, Journal: j, Media: media})
		info, err := a.AddFake(context.Background(), admin.Fake{Room: "r", Identity: "bot",
			Tracks: []admin.FakeTrack{{Kind: rooms.KindAudio}}})
		if err != nil || len(info.Tracks) != 1 {
			t.Fatalf("AddFake with media %T: %+v %v", media, info, err)
		}
		if err := a.RemoveParticipant(context.Background(), "r", "bot"); err != nil {
			t.Fatal(err)
		}
		a.Close()
	}
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}
