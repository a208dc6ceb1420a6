package admin

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// toneOgg is 2 s of a 440 Hz sine (48 kHz mono, Opus, one 20 ms packet per
// Ogg page), played in a loop on fake participants' audio tracks. Made once
// with Debian's sox and opusenc:
//
//	sox -n -r 48000 -c 1 -b 16 tone.wav synth 2 sine 440 vol 0.3
//	opusenc --bitrate 32 --framesize 20 tone.wav tone.ogg
//
// then remuxed to one packet per page (oggreader reads whole pages).
//
//go:embed assets/tone.ogg
var toneOgg []byte

// barsIVF is 2 s of VP8 (320×240, 15 fps, a keyframe every second): eight
// colour bars and a grey square that crosses them, played in a loop on fake
// participants' video tracks. Made once with a few lines of Python writing
// the frames as Y4M and Debian's vpxenc:
//
//	vpxenc --codec=vp8 --ivf --good --cpu-used=4 --end-usage=cbr --target-bitrate=200 \
//	  --kf-min-dist=0 --kf-max-dist=15 --lag-in-frames=0 --error-resilient=1 -o bars.ivf bars.y4m
//
//go:embed assets/bars.ivf
var barsIVF []byte

// Media plays server-made media on fake participants' tracks
// (*rtc.Forwarder). Without it their tracks are announced but silent.
type Media interface {
	// PlayFile plays a media file in a loop as track trackSID of
	// publisherSID until stop is called: Ogg/Opus (one 20 ms packet per
	// page) for an audio track, IVF/VP8 for a video track.
	PlayFile(publisherSID, trackSID, kind string, file []byte) (stop func(), err error)
	// CheckFile says why file cannot be played on a track of kind, if not.
	CheckFile(kind string, file []byte) error
	// SetMuted stops (or resumes) sending a track to its subscribers.
	SetMuted(trackSID string, muted bool)
}

// maxMediaFile bounds a media file given by path.
const maxMediaFile = 32 << 20

// msgUnusableFile is the one answer for every path that cannot be used, so
// that the answer tells nothing of what exists outside ADMIN_MEDIA_DIR.
var msgUnusableFile = fmt.Sprintf("must name a regular file of at most %d MiB inside ADMIN_MEDIA_DIR", maxMediaFile>>20)

// mediaFiles reads and checks the files given by path for a fake's tracks;
// the result holds one file per track, nil where the track plays the
// embedded clip of its kind. Only files inside MediaDir are read.
func (a *Admin) mediaFiles(tracks []FakeTrack) ([][]byte, error) {
	files := make([][]byte, len(tracks))
	for i, t := range tracks {
		if t.File == "" {
			continue
		}
		field := fmt.Sprintf("tracks[%d].file", i)
		if a.o.Media == nil {
			return nil, invalid(field, "cannot be played: this server sends no media")
		}
		if a.o.MediaDir == "" {
			return nil, invalid(field, "cannot be used: ADMIN_MEDIA_DIR is not set")
		}
		b, why := readMediaFile(a.o.MediaDir, t.File)
		if why != "" {
			// The reason is for the operator's log, never the caller.
			a.o.Logger.Debug("fake participant: media file refused", "field", field, "reason", why)
			return nil, invalid(field, msgUnusableFile)
		}
		if err := a.o.Media.CheckFile(t.Kind, b); err != nil {
			a.o.Logger.Info("fake participant: media file refused", "field", field, "err", err)
			want := "an Ogg/Opus file with one 20 ms packet per page"
			if t.Kind == rooms.KindVideo {
				want = "an IVF file of VP8 frames starting with a keyframe"
			}
			return nil, invalid(field, "must be "+want)
		}
		files[i] = b
	}
	return files, nil
}

// readMediaFile reads a regular file of at most maxMediaFile bytes inside
// dir (an absolute path): name is relative to dir or absolute inside it.
// os.Root refuses a ".." or a symlink that leads out of dir. The file is
// opened once (what is checked is what is read) and without blocking (a
// FIFO or a device is refused, not waited on); why says why not, if it
// cannot be read.
func readMediaFile(dir, name string) (b []byte, why string) {
	if filepath.IsAbs(name) {
		rel, err := filepath.Rel(dir, filepath.Clean(name))
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, "outside the media directory"
		}
		name = rel
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "the media directory cannot be opened: " + err.Error()
	}
	defer func() { _ = root.Close() }()
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err.Error()
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	switch {
	case err != nil:
		return nil, err.Error()
	case !st.Mode().IsRegular():
		return nil, "not a regular file"
	case st.Size() > maxMediaFile:
		return nil, "too large"
	}
	b, err = io.ReadAll(io.LimitReader(f, maxMediaFile+1))
	switch {
	case err != nil:
		return nil, err.Error()
	case len(b) > maxMediaFile:
		return nil, "too large"
	}
	return b, ""
}

// startMedia plays each track's file (files[i] for info.Tracks[i]; the
// embedded tone or colour bars where nil) and returns what stops each track
// that plays, by track sid.
func (a *Admin) startMedia(info rooms.ParticipantInfo, files [][]byte) (stops map[string]func()) {
	if a.o.Media == nil {
		return nil
	}
	stops = map[string]func(){}
	for i, t := range info.Tracks {
		var file []byte
		if i < len(files) {
			file = files[i]
		}
		if file == nil {
			file = toneOgg
			if t.Kind == rooms.KindVideo {
				file = barsIVF
			}
		}
		s, err := a.o.Media.PlayFile(info.Sid, t.Sid, t.Kind, file)
		if err != nil {
			a.o.Logger.Warn("fake participant: no media", "identity", info.Identity, "track", t.Sid, "err", err)
			continue
		}
		stops[t.Sid] = s
	}
	return stops
}
