package admin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/admin"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
)

// recordingMedia stands in for the Forwarder: it checks that what it is
// given plays (the embedded tone and bars parse) and reports plays and stops.
type recordingMedia struct {
	t      *testing.T
	fail   bool
	played chan [2]string // publisher sid, track sid
	files  chan []byte    // what each play was given, in order
	stops  chan string    // track sid
	mutes  chan string    // "sid muted" / "sid unmuted"

	mu      sync.Mutex
	stopped map[string]int
}

func newRecordingMedia(t *testing.T, fail bool) *recordingMedia {
	return &recordingMedia{t: t, fail: fail, played: make(chan [2]string, 8), files: make(chan []byte, 8),
		stops: make(chan string, 8), mutes: make(chan string, 8), stopped: map[string]int{}}
}

func (r *recordingMedia) SetMuted(track string, muted bool) {
	r.mutes <- track + map[bool]string{true: " muted", false: " unmuted"}[muted]
}

func (r *recordingMedia) CheckFile(kind string, file []byte) error {
	_, err := rtc.ParseClip(kind, file)
	return err
}

func (r *recordingMedia) PlayFile(pub, track, kind string, file []byte) (func(), error) {
	if r.fail {
		return nil, errors.New("no media today")
	}
	if _, err := rtc.ParseClip(kind, file); err != nil {
		r.t.Errorf("what a %s track was given does not play: %v", kind, err)
	}
	r.played <- [2]string{pub, track}
	r.files <- file
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
			video, audio := info.Tracks[0], info.Tracks[1]
			if audio.Kind != rooms.KindAudio || audio.Source != rooms.SourceMicrophone || video.Source != rooms.SourceCamera {
				t.Fatalf("tracks %+v", info.Tracks)
			}
			// Both tracks play (colour bars, the tone), as tracks of the fake.
			for _, tr := range []rooms.TrackInfo{video, audio} {
				if got := wait(t, media.played, "PlayFile"); got != [2]string{info.Sid, tr.Sid} {
					t.Fatalf("PlayFile(%v), want (%s, %s)", got, info.Sid, tr.Sid)
				}
			}
			select {
			case tr := <-media.stops:
				t.Fatalf("%s stopped while the fake is in the room", tr)
			default:
			}
			tc.end(t, a, reg)
			stopped := map[string]bool{wait(t, media.stops, "stop"): true, wait(t, media.stops, "stop"): true}
			if !stopped[audio.Sid] || !stopped[video.Sid] {
				t.Fatalf("stopped %v, want %s and %s", stopped, video.Sid, audio.Sid)
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

func TestFakeTrackFiles(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	write := func(dir, name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bars, err := os.ReadFile("assets/bars.ivf")
	if err != nil {
		t.Fatal(err)
	}
	tone, err := os.ReadFile("assets/tone.ogg")
	if err != nil {
		t.Fatal(err)
	}
	write(dir, "clip.ivf", bars)
	write(dir, "tone.ogg", tone)
	write(dir, "sub/clip.ivf", bars)
	write(dir, "notes.txt", []byte("hello"))
	secret := write(outside, "clip.ivf", bars)
	if err := os.Symlink(secret, filepath.Join(dir, "escape.ivf")); err != nil {
		t.Fatal(err)
	}
	// A relative link that stays inside is followed (os.Root takes no
	// absolute link targets).
	if err := os.Symlink("sub/clip.ivf", filepath.Join(dir, "alias.ivf")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	// One answer for every unusable path: it tells nothing of what exists.
	const unusable = "tracks[0].file must name a regular file of at most 32 MiB inside ADMIN_MEDIA_DIR"
	cases := []struct {
		name   string
		tracks []admin.FakeTrack
		rule   string // "" when accepted
	}{
		{"relative paths", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "clip.ivf"}, {Kind: rooms.KindAudio, File: "tone.ogg"}}, ""},
		{"absolute path inside, subdirectory", []admin.FakeTrack{{Kind: rooms.KindVideo, File: filepath.Join(dir, "sub/clip.ivf")}, {Kind: rooms.KindAudio, File: "./tone.ogg"}}, ""},
		{"symlink inside", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "alias.ivf"}, {Kind: rooms.KindAudio, File: "sub/../tone.ogg"}}, ""},
		{"missing", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "nope.ivf"}}, unusable},
		{"missing, absolute", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "/nonexistent/x.ogg"}}, unusable},
		{"a secret file", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "/etc/shadow"}}, unusable},
		{"a readable file outside", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "/etc/passwd"}}, unusable},
		{"a directory outside", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "/tmp"}}, unusable},
		{"the directory itself", []admin.FakeTrack{{Kind: rooms.KindVideo, File: dir}}, unusable},
		{"a subdirectory", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "sub"}}, unusable},
		{"fifo (not waited on)", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "fifo"}}, unusable},
		{"device", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "/dev/zero"}}, unusable},
		{"dot-dot escape to a valid clip", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "../" + filepath.Base(outside) + "/clip.ivf"}}, unusable},
		{"absolute path outside to a valid clip", []admin.FakeTrack{{Kind: rooms.KindVideo, File: secret}}, unusable},
		{"symlink out to a valid clip", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "escape.ivf"}}, unusable},
		{"audio file on a video track", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "tone.ogg"}}, "tracks[0].file must be an IVF file of VP8 frames"},
		{"video file on an audio track", []admin.FakeTrack{{Kind: rooms.KindAudio, File: "clip.ivf"}}, "tracks[0].file must be an Ogg/Opus file"},
		{"not media", []admin.FakeTrack{{Kind: rooms.KindVideo, File: "notes.txt"}}, "tracks[0].file must be an IVF file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := rooms.NewRegistry(rooms.Options{IDs: ids.New(nil), EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
			defer reg.Close()
			media := newRecordingMedia(t, false)
			a := admin.New(admin.Options{Registry: reg, Journal: journal.New(journal.Options{}), Media: media, MediaDir: dir})
			defer a.Close()
			info, err := a.AddFake(context.Background(), admin.Fake{Room: "r", Identity: "bot", Tracks: tc.tracks})
			if tc.rule != "" {
				var ve *admin.ValidationError
				if !errors.As(err, &ve) || !strings.HasPrefix(ve.Error(), tc.rule) || (tc.rule == unusable && ve.Error() != unusable) {
					t.Fatalf("AddFake: %v, want a validation error starting %q", err, tc.rule)
				}
				if _, ok := reg.Get("r"); ok {
					t.Error("a refused fake still joined")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range [][]byte{bars, tone} {
				wait(t, media.played, "PlayFile")
				if got := wait(t, media.files, "file"); string(got) != string(want) {
					t.Errorf("track %d (%s) played %d bytes, not its file", i, info.Tracks[i].Kind, len(got))
				}
			}
		})
	}
}

// Without ADMIN_MEDIA_DIR no file is accepted, not even one that exists.
func TestFakeTrackFilesNeedAMediaDir(t *testing.T) {
	reg := rooms.NewRegistry(rooms.Options{IDs: ids.New(nil), EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
	defer reg.Close()
	a := admin.New(admin.Options{Registry: reg, Journal: journal.New(journal.Options{}), Media: newRecordingMedia(t, false)})
	defer a.Close()
	abs, _ := filepath.Abs("assets/bars.ivf")
	for _, f := range []string{abs, "/nonexistent/x.ivf"} {
		_, err := a.AddFake(context.Background(), admin.Fake{Room: "r", Identity: "bot", Tracks: []admin.FakeTrack{{Kind: rooms.KindVideo, File: f}}})
		var ve *admin.ValidationError
		if !errors.As(err, &ve) || ve.Error() != "tracks[0].file cannot be used: ADMIN_MEDIA_DIR is not set" {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

// fakeWithTracks adds the fake "bot" with a microphone and a camera track to
// room "r" of a fresh registry, with recordingMedia playing them.
func fakeWithTracks(t *testing.T) (*rooms.Registry, *admin.Admin, *recordingMedia, rooms.ParticipantInfo) {
	t.Helper()
	reg := rooms.NewRegistry(rooms.Options{IDs: ids.New(nil), EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
	t.Cleanup(reg.Close)
	media := newRecordingMedia(t, false)
	a := admin.New(admin.Options{Registry: reg, Journal: journal.New(journal.Options{}), Media: media})
	t.Cleanup(a.Close)
	info, err := a.AddFake(context.Background(), admin.Fake{Room: "r", Identity: "bot",
		Tracks: []admin.FakeTrack{{Kind: rooms.KindAudio}, {Kind: rooms.KindVideo}}})
	if err != nil {
		t.Fatal(err)
	}
	return reg, a, media, info
}

func TestMutingAFakesTrackStopsItsMedia(t *testing.T) {
	reg, _, media, info := fakeWithTracks(t)
	video := info.Tracks[1].Sid
	for _, muted := range []bool{true, false} {
		if _, err := reg.MuteTrack(context.Background(), "r", "bot", video, muted); err != nil {
			t.Fatal(err)
		}
		want := video + map[bool]string{true: " muted", false: " unmuted"}[muted]
		if got := wait(t, media.mutes, "SetMuted"); got != want {
			t.Fatalf("SetMuted: %s, want %s", got, want)
		}
	}
}

func TestAFakesUnpublishedTrackStopsPlaying(t *testing.T) {
	reg, a, media, info := fakeWithTracks(t)
	camOnly := rooms.AllPermissions()
	camOnly.CanPublishSources = []string{rooms.SourceCamera}
	if _, err := reg.UpdateParticipant(context.Background(), "r", "bot", rooms.Update{}, &camOnly); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, media.stops, "stop"); got != info.Tracks[0].Sid {
		t.Fatalf("stopped %s, want the microphone %s", got, info.Tracks[0].Sid)
	}
	if err := a.RemoveParticipant(context.Background(), "r", "bot"); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, media.stops, "stop"); got != info.Tracks[1].Sid {
		t.Fatalf("stopped %s, want the camera %s", got, info.Tracks[1].Sid)
	}
}
