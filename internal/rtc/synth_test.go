package rtc

import (
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// testdata/tone.ogg is internal/admin/assets/tone.ogg: 2 s of 440 Hz, one
// 20 ms Opus packet per page.
func toneOgg(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/tone.ogg")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseOpusClip(t *testing.T) {
	tone := toneOgg(t)
	cases := []struct {
		name    string
		in      []byte
		packets int
		err     string // "" when valid
	}{
		{name: "tone", in: tone, packets: 101},
		{name: "empty", in: nil, err: "opus clip"},
		{name: "not ogg", in: []byte(strings.Repeat("RIFF not an ogg file", 4)), err: "opus clip"},
		{name: "cut in a page", in: tone[:len(tone)/2], err: "opus clip page"},
		{name: "headers only", in: tone[:headersLen(t, tone)], err: "no audio packets"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseOpusClip(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseOpusClip: err %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Packets() != tc.packets {
				t.Errorf("Packets() = %d, want %d", c.Packets(), tc.packets)
			}
		})
	}
}

// headersLen is the length of the first two Ogg pages (OpusHead, OpusTags).
func headersLen(t testing.TB, ogg []byte) int {
	t.Helper()
	off := 0
	for range 2 {
		if len(ogg) < off+27 || string(ogg[off:off+4]) != "OggS" {
			t.Fatal("testdata is not Ogg")
		}
		n := int(ogg[off+26])
		size := 0
		for _, s := range ogg[off+27 : off+27+n] {
			size += int(s)
		}
		off += 27 + n + size
	}
	return off
}

func TestOpusSamples(t *testing.T) {
	cases := []struct {
		name string
		pkt  []byte
		want int
	}{
		{"empty", nil, 0},
		{"SILK 20 ms", []byte{1 << 3}, 960},
		{"SILK 60 ms", []byte{3 << 3}, 2880},
		{"hybrid 20 ms", []byte{13 << 3}, 960},
		{"CELT 20 ms", []byte{31 << 3}, 960},
		{"CELT 10 ms twice", []byte{30<<3 | 1}, 960},
		{"CELT 20 ms twice", []byte{31<<3 | 2}, 1920},
		{"code 3, 4 frames of 5 ms", []byte{29<<3 | 3, 4}, 960},
		{"code 3 without count", []byte{29<<3 | 3}, 0},
	}
	for _, tc := range cases {
		if got := opusSamples(tc.pkt); got != tc.want {
			t.Errorf("%s: opusSamples = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// One second of a Synth is 50 packets of 20 ms, in order, with the clip's
// payloads and timestamps 960 apart; Close stops them and ends the Source.
func TestSynthPacesTheClip(t *testing.T) {
	clip, err := ParseOpusClip(toneOgg(t))
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		s := NewSynth(clip, "TR_tone")
		var got []rtp.Packet
		tap := func(p *rtp.Packet) { got = append(got, *p) }
		s.Source().tap.Store(&tap)
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		s.Close()
		s.Close() // idempotent
		if len(got) != 50 {
			t.Fatalf("%d packets in one second, want 50", len(got))
		}
		for i, p := range got {
			if string(p.Payload) != string(clip.packets[i]) || len(p.Payload) == 0 {
				t.Fatalf("packet %d: payload is not the clip's packet %d", i, i)
			}
			if i == 0 {
				if !p.Marker {
					t.Error("first packet has no marker")
				}
				continue
			}
			if p.SequenceNumber != got[i-1].SequenceNumber+1 || p.Timestamp != got[i-1].Timestamp+960 {
				t.Fatalf("packet %d: seq %d ts %d after seq %d ts %d", i, p.SequenceNumber, p.Timestamp,
					got[i-1].SequenceNumber, got[i-1].Timestamp)
			}
		}
		if !s.Source().isEnded() {
			t.Error("Source not ended after Close")
		}
		n := len(got)
		time.Sleep(time.Second)
		synctest.Wait()
		if len(got) != n {
			t.Errorf("%d packets after Close", len(got)-n)
		}
	})
}

// The clip loops: packets after the last one start again from the first.
func TestSynthLoops(t *testing.T) {
	clip, err := ParseOpusClip(toneOgg(t))
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		s := NewSynth(clip, "TR_tone")
		defer s.Close()
		var got [][]byte
		tap := func(p *rtp.Packet) { got = append(got, p.Payload) }
		s.Source().tap.Store(&tap)
		time.Sleep(time.Duration(clip.Packets()+2)*synthFrame + time.Millisecond)
		synctest.Wait()
		n := clip.Packets()
		if len(got) != n+2 || string(got[n]) != string(clip.packets[0]) || string(got[n+1]) != string(clip.packets[1]) {
			t.Fatalf("%d packets; the clip of %d did not start again", len(got), n)
		}
	})
}

// A subscriber over a real PeerConnection receives the tone as an Opus
// track of the fake participant; stopping it unsubscribes everyone.
func TestPlayOpusReachesASubscriber(t *testing.T) {
	eng := newEngine(t)
	f := eng.Forwarder()
	if _, err := f.PlayOpus("PA_fake", "TR_bad", []byte("nope")); err == nil {
		t.Fatal("PlayOpus accepted a file that is not Ogg/Opus")
	}
	stop, err := f.PlayOpus("PA_fake", "TR_tone", toneOgg(t))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	sub := subscribe(t, eng, "PA_sub")
	sub.sub.Want("PA_fake", "TR_tone")
	sub.waitEvent(t, "subscribed PA_fake TR_tone")
	sub.renegotiate(t)
	tr := waitFor(t, sub.got, "track on the subscriber")
	if tr.StreamID() != "PA_fake|TR_tone" || tr.Codec().MimeType != webrtc.MimeTypeOpus {
		t.Fatalf("subscriber got stream %q codec %s", tr.StreamID(), tr.Codec().MimeType)
	}
	for i := range 50 {
		if p := waitFor(t, sub.payloads, "an Opus packet"); opusSamples([]byte(p)) != 960 {
			t.Fatalf("packet %d: %d bytes, not a 20 ms Opus packet", i, len(p))
		}
	}
	stop()
	sub.waitEvent(t, "unsubscribed PA_fake TR_tone")
	if p, fw := f.Counts(); p != 0 || fw != 0 {
		t.Errorf("Counts() = %d published, %d forwarding after stop; want 0, 0", p, fw)
	}
}
