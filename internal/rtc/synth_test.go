package rtc

import (
	"encoding/binary"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// testdata reads a file of testdata/.
func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testdata/tone.ogg is internal/admin/assets/tone.ogg: 2 s of 440 Hz, one
// 20 ms Opus packet per page.
func toneOgg(t testing.TB) []byte { return testdata(t, "tone.ogg") }

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
		t.Run(tc.name, func(t *testing.T) { parsesAs(t, "audio", tc.in, tc.packets, tc.err) })
	}
}

// parsesAs checks that ParseClip(kind, in) fails with an error containing
// wantErr, or, when wantErr is "", gives a clip of frames frames (returned).
func parsesAs(t *testing.T, kind string, in []byte, frames int, wantErr string) *Clip {
	t.Helper()
	c, err := ParseClip(kind, in)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("ParseClip(%s): err %v, want one containing %q", kind, err, wantErr)
		}
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if c.Frames() != frames {
		t.Fatalf("Frames() = %d, want %d", c.Frames(), frames)
	}
	return c
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
			if string(p.Payload) != string(clip.frames[i].payloads[0]) || len(p.Payload) == 0 {
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
		time.Sleep(time.Duration(clip.Frames()+2)*synthFrame + time.Millisecond)
		synctest.Wait()
		n := clip.Frames()
		if len(got) != n+2 || string(got[n]) != string(clip.frames[0].payloads[0]) || string(got[n+1]) != string(clip.frames[1].payloads[0]) {
			t.Fatalf("%d packets; the clip of %d did not start again", len(got), n)
		}
	})
}

// A subscriber over a real PeerConnection receives a played clip as a track
// of the fake participant (the tone as 20 ms Opus packets; the bars as VP8,
// from a keyframe); stopping it unsubscribes everyone.
func TestPlayedClipsReachASubscriber(t *testing.T) {
	cases := []struct {
		kind, track, mime string
		file              func(testing.TB) []byte
		// ok reads the subscriber's payloads until the media looks right.
		ok func(t *testing.T, payloads <-chan string)
	}{
		{"audio", "TR_tone", webrtc.MimeTypeOpus, toneOgg, func(t *testing.T, payloads <-chan string) {
			for i := range 50 {
				if p := waitFor(t, payloads, "an Opus packet"); opusSamples([]byte(p)) != 960 {
					t.Fatalf("packet %d: %d bytes, not a 20 ms Opus packet", i, len(p))
				}
			}
		}},
		{"video", "TR_cam", webrtc.MimeTypeVP8, barsIVF, func(t *testing.T, payloads <-chan string) {
			for i := 0; !isVP8Keyframe([]byte(waitFor(t, payloads, "a VP8 packet"))); i++ {
				if i == 200 {
					t.Fatal("no keyframe in the first 200 packets")
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			eng := newEngine(t)
			f := eng.Forwarder()
			if _, err := ParseClip(tc.kind, []byte("nope")); err == nil {
				t.Fatalf("ParseClip(%s) accepted a file that is no media", tc.kind)
			}
			clip, err := ParseClip(tc.kind, tc.file(t))
			if err != nil {
				t.Fatal(err)
			}
			stop := f.Play("PA_fake", tc.track, clip)
			defer stop()
			sub := subscribe(t, eng, "PA_sub")
			sub.sub.Want("PA_fake", tc.track)
			sub.waitEvent(t, "subscribed PA_fake "+tc.track)
			sub.renegotiate(t)
			tr := waitFor(t, sub.got, "track on the subscriber")
			if tr.StreamID() != "PA_fake|"+tc.track || tr.Codec().MimeType != tc.mime {
				t.Fatalf("subscriber got stream %q codec %s", tr.StreamID(), tr.Codec().MimeType)
			}
			tc.ok(t, sub.payloads)
			stop()
			sub.waitEvent(t, "unsubscribed PA_fake "+tc.track)
			if p, fw := f.Counts(); p != 0 || fw != 0 {
				t.Errorf("Counts() = %d published, %d forwarding after stop; want 0, 0", p, fw)
			}
		})
	}
}

// testdata/bars.ivf is internal/admin/assets/bars.ivf: 2 s of VP8 at 15 fps,
// 320×240, a keyframe every second.
func barsIVF(t testing.TB) []byte { return testdata(t, "bars.ivf") }

func TestParseVP8Clip(t *testing.T) {
	bars := barsIVF(t)
	patched := func(at int, b ...byte) []byte {
		out := append([]byte(nil), bars...)
		copy(out[at:], b)
		return out
	}
	const firstFrame = 32 + 12 // IVF header, then the first frame's header
	cases := []struct {
		name   string
		in     []byte
		frames int
		err    string
	}{
		{name: "bars", in: bars, frames: 30},
		{name: "empty", in: nil, err: "vp8 clip"},
		{name: "not ivf", in: []byte(strings.Repeat("not an ivf file ", 4)), err: "not an IVF file"},
		{name: "VP9", in: patched(8, 'V', 'P', '9', '0'), err: `codec "VP90"`},
		{name: "no timebase", in: patched(16, 0, 0, 0, 0), err: "no timebase"},
		{name: "starts with an interframe", in: patched(firstFrame, bars[firstFrame]|1), err: "not a keyframe"},
		{name: "header only", in: bars[:32], err: "no frames"},
		{name: "cut in a frame", in: bars[:len(bars)-10], err: "vp8 clip frame 29"},
		{name: "frame larger than the file", in: patched(32, 0xff, 0xff, 0xff, 0x7f), err: "vp8 clip frame 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := parsesAs(t, "video", tc.in, tc.frames, tc.err)
			if c == nil {
				return
			}
			for i, f := range c.frames {
				if f.ticks != 6000 || len(f.payloads) == 0 {
					t.Fatalf("frame %d: %d ticks, %d payloads; want 6000 ticks (1/15 s at 90 kHz)", i, f.ticks, len(f.payloads))
				}
			}
		})
	}
	if _, err := ParseClip("data", bars); err == nil {
		t.Error("ParseClip made a clip for a data track")
	}
}

// isVP8Keyframe reports whether an RTP payload (pion's VP8 payload
// descriptor, one byte) starts a keyframe.
func isVP8Keyframe(p []byte) bool { return len(p) > 1 && p[0]&0x10 != 0 && p[1]&1 == 0 }

// One second of a VP8 Synth is 15 frames 6000 ticks apart, each split into
// packets that share its timestamp, the last one marked; a keyframe request
// starts the clip again from its first frame.
func TestSynthPlaysVP8AndRestartsOnKeyframeRequests(t *testing.T) {
	clip, err := ParseVP8Clip(barsIVF(t))
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		s := NewSynth(clip, "TR_cam")
		defer s.Close()
		var (
			mu  sync.Mutex
			got []rtp.Packet
		)
		tap := func(p *rtp.Packet) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, *p)
		}
		s.Source().tap.Store(&tap)
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		mu.Lock()
		frames, packet := 0, 0
		for i, p := range got {
			if i > 0 && p.SequenceNumber != got[i-1].SequenceNumber+1 {
				t.Fatalf("packet %d: seq %d after %d", i, p.SequenceNumber, got[i-1].SequenceNumber)
			}
			if string(p.Payload) != string(clip.frames[frames].payloads[packet]) {
				t.Fatalf("packet %d is not payload %d of frame %d", i, packet, frames)
			}
			last := packet == len(clip.frames[frames].payloads)-1
			if p.Marker != last {
				t.Fatalf("packet %d: marker %v, want it on the last packet of a frame only", i, p.Marker)
			}
			if packet > 0 && p.Timestamp != got[i-1].Timestamp {
				t.Fatalf("packet %d: timestamp changed inside a frame", i)
			}
			if packet == 0 && i > 0 && p.Timestamp != got[i-1].Timestamp+6000 {
				t.Fatalf("frame %d: timestamp %d after %d", frames, p.Timestamp, got[i-1].Timestamp)
			}
			packet++
			if last {
				frames, packet = frames+1, 0
			}
		}
		if frames != 15 || !isVP8Keyframe(got[0].Payload) {
			t.Fatalf("%d frames in one second, want 15 starting with a keyframe", frames)
		}

		got = nil
		mu.Unlock()
		s.Source().requestKeyframe()
		time.Sleep(70 * time.Millisecond)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 || string(got[0].Payload) != string(clip.frames[0].payloads[0]) {
			t.Fatal("the frame after a keyframe request is not the clip's first (a keyframe)")
		}
	})
}

func TestVP8ClipTimestampsAreClamped(t *testing.T) {
	bars := append([]byte(nil), barsIVF(t)...)
	second := 32 + 12 + int(bars[32]) | int(bars[33])<<8 // the second frame's header
	for i := range 8 {
		bars[second+4+i] = 0xff // its timestamp: 2^64-1 units after the first
	}
	c, err := ParseVP8Clip(bars)
	if err != nil {
		t.Fatal(err)
	}
	if f := c.frames[0]; f.dur != maxClipFrame || f.ticks != 90000 {
		t.Errorf("first frame lasts %v (%d ticks), want %v", f.dur, f.ticks, maxClipFrame)
	}
}

func FuzzParseClip(f *testing.F) {
	f.Add(true, barsIVF(f))
	f.Add(false, toneOgg(f))
	f.Add(true, []byte("DKIF\x00\x00\x20\x00VP80"))
	f.Fuzz(func(t *testing.T, video bool, data []byte) {
		kind := "audio"
		if video {
			kind = "video"
		}
		c, err := ParseClip(kind, data)
		if err != nil {
			return
		}
		if c.Frames() == 0 {
			t.Fatal("a clip without frames was accepted")
		}
		for i, fr := range c.frames {
			if fr.ticks == 0 || fr.dur < minClipFrame || fr.dur > maxClipFrame || len(fr.payloads) == 0 {
				t.Fatalf("frame %d: %v, %d ticks, %d payloads", i, fr.dur, fr.ticks, len(fr.payloads))
			}
		}
	})
}

// oggCRC is the Ogg page checksum (CRC-32, polynomial 0x04c11db7, no
// reflection), for pages a test rewrites.
func oggCRC(page []byte) uint32 {
	var crc uint32
	for _, b := range page {
		crc ^= uint32(b) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// rewritePage changes page n of an Ogg file (its granule position when
// granule >= 0; its payload, one packet, when payload is not nil) and fixes
// its checksum.
func rewritePage(t *testing.T, ogg []byte, n int, granule int64, payload []byte) []byte {
	t.Helper()
	var out []byte
	for i := 0; len(ogg) > 0; i++ {
		nseg := int(ogg[26])
		size := 0
		for _, s := range ogg[27 : 27+nseg] {
			size += int(s)
		}
		page := append([]byte(nil), ogg[:27+nseg+size]...)
		ogg = ogg[27+nseg+size:]
		if i == n {
			if payload != nil {
				var lacing []byte
				for left := len(payload); ; left -= 255 {
					lacing = append(lacing, byte(min(left, 255)))
					if left < 255 {
						break
					}
				}
				page = append(append(append(page[:26:26], byte(len(lacing))), lacing...), payload...)
			}
			if granule >= 0 {
				binary.LittleEndian.PutUint64(page[6:], uint64(granule))
			}
			binary.LittleEndian.PutUint32(page[22:], 0)
			binary.LittleEndian.PutUint32(page[22:], oggCRC(page))
		}
		out = append(out, page...)
	}
	return out
}

func TestOpusClipRefusesSeveralPacketsAPage(t *testing.T) {
	tone := toneOgg(t)
	if _, err := ParseOpusClip(rewritePage(t, tone, 3, -1, nil)); err != nil {
		t.Fatalf("rewriting a page unchanged broke it: %v", err)
	}
	for name, bad := range map[string][]byte{
		"granule moves 40 ms": rewritePage(t, tone, 3, 1920+1920, nil),
		"granule goes back":   rewritePage(t, tone, 4, 960, nil),
		"packet over 1275 B":  rewritePage(t, tone, 3, -1, append([]byte{tone20msTOC(t)}, make([]byte, 1299)...)),
	} {
		if _, err := ParseOpusClip(bad); err == nil || !strings.Contains(err.Error(), "more than one 20 ms packet") {
			t.Errorf("%s: err %v, want a refusal", name, err)
		}
	}
}

// tone20msTOC is the TOC byte of the tone's first audio packet (20 ms).
func tone20msTOC(t *testing.T) byte {
	t.Helper()
	c, err := ParseOpusClip(toneOgg(t))
	if err != nil {
		t.Fatal(err)
	}
	return c.frames[0].payloads[0][0]
}

// After a stall (here the sending goroutine is held for a second) a Synth
// goes on from the present instead of sending the frames it missed at once.
func TestSynthDoesNotBurstAfterAStall(t *testing.T) {
	clip, err := ParseOpusClip(toneOgg(t))
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		s := NewSynth(clip, "TR_tone")
		defer s.Close()
		var (
			mu    sync.Mutex
			times []time.Time
		)
		tap := func(*rtp.Packet) {
			mu.Lock()
			times = append(times, time.Now())
			n := len(times)
			mu.Unlock()
			if n == 5 {
				time.Sleep(time.Second) // the stall
			}
		}
		s.Source().tap.Store(&tap)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		burst := 0
		for i := 5; i < len(times); i++ {
			if times[i].Sub(times[i-1]) < synthFrame/2 {
				burst++
			}
		}
		if burst > 1 {
			t.Errorf("%d packets sent back to back after the stall", burst)
		}
	})
}
