package admin

import (
	_ "embed"

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

// Media plays server-made media on fake participants' tracks
// (*rtc.Forwarder). Without it their tracks are announced but silent.
type Media interface {
	// PlayOpus plays an Ogg/Opus file in a loop as track trackSID of
	// publisherSID until stop is called.
	PlayOpus(publisherSID, trackSID string, ogg []byte) (stop func(), err error)
}

// startMedia plays the tone on each audio track of the fake and returns
// what stops it all, nil when nothing plays. Video tracks stay silent (no
// VP8 source yet).
func (a *Admin) startMedia(info rooms.ParticipantInfo) (stop func()) {
	if a.o.Media == nil {
		return nil
	}
	var stops []func()
	for _, t := range info.Tracks {
		if t.Kind != rooms.KindAudio {
			continue
		}
		s, err := a.o.Media.PlayOpus(info.Sid, t.Sid, toneOgg)
		if err != nil {
			a.o.Logger.Warn("fake participant: no media", "identity", info.Identity, "track", t.Sid, "err", err)
			continue
		}
		stops = append(stops, s)
	}
	if len(stops) == 0 {
		return nil
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
