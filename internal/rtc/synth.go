package rtc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	rtpcodecs "github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// Server-made media (SPEC §10, fake participants): an Ogg/Opus or IVF/VP8
// clip played in a loop as a Source, so that subscribers receive it exactly
// like a published track. Nothing is encoded here: the clip's Opus packets
// are sent as they are, one every 20 ms, and its VP8 frames are split into
// RTP payloads once, when the clip is read.

const (
	synthFrame   = 20 * time.Millisecond
	synthSamples = 960 // 20 ms at Opus's 48 kHz RTP clock
	// maxClipFrames bounds what a clip may hold (about 22 minutes of Opus,
	// 36 of 30 fps video).
	maxClipFrames = 1 << 16
	// maxOpusPacket is the largest Opus packet of one 20 ms frame (RFC 6716
	// §3.2.1).
	maxOpusPacket = 1275
	// maxVP8Frame bounds one VP8 frame of a clip.
	maxVP8Frame = 1 << 20
	vp8Clock    = 90000
	// A video frame of a clip lasts at least minClipFrame, at most
	// maxClipFrame.
	minClipFrame = 10 * time.Millisecond
	// maxSynthLag is how far a Synth may fall behind its clock (a stalled
	// process) before it drops the frames it missed instead of sending them
	// in a burst.
	maxSynthLag  = 200 * time.Millisecond
	maxClipFrame = time.Second
	// rtpPayloadMTU is the largest RTP payload a VP8 frame is split into.
	rtpPayloadMTU = 1200
)

// Codecs a synthesized track announces; each subscriber's local track
// rewrites the payload type to the one it negotiated.
var (
	synthOpus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	synthVP8  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: vp8Clock}
)

// clipFrame is one frame of a clip: its RTP payloads (one for Opus, as many
// as the frame needs for VP8), how long it lasts and how far it moves the
// RTP clock.
type clipFrame struct {
	payloads [][]byte
	dur      time.Duration
	ticks    uint32
}

// Clip is a media file read for playing in a loop (ParseOpusClip,
// ParseVP8Clip).
type Clip struct {
	kind   webrtc.RTPCodecType
	codec  webrtc.RTPCodecCapability
	frames []clipFrame
}

// Frames is how many frames (20 ms Opus packets, VP8 pictures) the clip
// holds.
func (c *Clip) Frames() int { return len(c.frames) }

// ParseClip reads a clip for a track of kind "audio" (Ogg/Opus) or "video"
// (IVF/VP8).
func ParseClip(kind string, data []byte) (*Clip, error) {
	switch kind {
	case webrtc.RTPCodecTypeAudio.String():
		return ParseOpusClip(data)
	case webrtc.RTPCodecTypeVideo.String():
		return ParseVP8Clip(data)
	}
	return nil, fmt.Errorf("rtc: no clip for a %q track", kind)
}

// ParseOpusClip reads an Ogg/Opus file whose pages each hold one 20 ms
// packet (as made with one packet per page, see internal/admin/assets).
func ParseOpusClip(ogg []byte) (*Clip, error) {
	r, _, err := oggreader.NewWith(bytes.NewReader(ogg))
	if err != nil {
		return nil, fmt.Errorf("rtc: opus clip: %w", err)
	}
	c := &Clip{kind: webrtc.RTPCodecTypeAudio, codec: synthOpus}
	prevGranule := int64(-1) // of the last audio page
	for {
		payload, hdr, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("rtc: opus clip page %d: %w", len(c.frames), err)
		}
		if t, ok := hdr.HeaderType(payload); ok && t == oggreader.HeaderOpusTags {
			continue
		}
		if len(payload) == 0 {
			continue
		}
		if d := opusSamples(payload); d != synthSamples {
			return nil, fmt.Errorf("rtc: opus clip page %d: packet of %d samples, want one 20 ms packet per page", len(c.frames), d)
		}
		// A page of several packets (what opusenc and ffmpeg write: about a
		// second a page) starts with a 20 ms packet too; its size and how far
		// its granule position moves give it away. The last page may move
		// less (end trimming), none more.
		granule := int64(hdr.GranulePosition)
		if len(payload) > maxOpusPacket || (prevGranule >= 0 && (granule <= prevGranule || granule-prevGranule > synthSamples)) {
			return nil, fmt.Errorf("rtc: opus clip page %d: more than one 20 ms packet in the page", len(c.frames))
		}
		prevGranule = granule
		if len(c.frames) == maxClipFrames {
			return nil, fmt.Errorf("rtc: opus clip longer than %d packets", maxClipFrames)
		}
		c.frames = append(c.frames, clipFrame{payloads: [][]byte{payload}, dur: synthFrame, ticks: synthSamples})
	}
	if len(c.frames) == 0 {
		return nil, errors.New("rtc: opus clip has no audio packets")
	}
	return c, nil
}

// ParseVP8Clip reads an IVF file of VP8 frames whose first frame is a
// keyframe. A frame lasts until the next one's timestamp (the last one as
// long as the one before it), between minClipFrame and maxClipFrame.
func ParseVP8Clip(ivf []byte) (*Clip, error) {
	// IVF: a 32-byte header ("DKIF", version, header size, FourCC, width,
	// height, timebase denominator and numerator, frame count, unused),
	// then frames, each a 12-byte header (size, 64-bit timestamp in
	// timebase units) and its data; all little-endian.
	const fileHeader, frameHeader = 32, 12
	le := binary.LittleEndian
	if len(ivf) < fileHeader || string(ivf[:4]) != "DKIF" {
		return nil, errors.New("rtc: vp8 clip: not an IVF file")
	}
	if hs := int(le.Uint16(ivf[6:])); hs < fileHeader || hs > len(ivf) {
		return nil, fmt.Errorf("rtc: vp8 clip: header size %d", hs)
	}
	if fourCC := string(ivf[8:12]); fourCC != "VP80" {
		return nil, fmt.Errorf("rtc: vp8 clip: codec %q, want VP80", fourCC)
	}
	rate, scale := le.Uint32(ivf[16:]), le.Uint32(ivf[20:])
	if rate == 0 || scale == 0 {
		return nil, errors.New("rtc: vp8 clip: no timebase")
	}
	var (
		frames [][]byte
		stamps []uint64
	)
	for rest := ivf[le.Uint16(ivf[6:]):]; len(rest) > 0; {
		if len(rest) < frameHeader {
			return nil, fmt.Errorf("rtc: vp8 clip frame %d: header cut short", len(frames))
		}
		size := uint64(le.Uint32(rest))
		if size < 3 || size > maxVP8Frame || size > uint64(len(rest)-frameHeader) {
			return nil, fmt.Errorf("rtc: vp8 clip frame %d: %d bytes (%d left in the file)", len(frames), size, len(rest)-frameHeader)
		}
		frame := rest[frameHeader : frameHeader+size]
		if len(frames) == 0 && frame[0]&1 != 0 {
			return nil, errors.New("rtc: vp8 clip: the first frame is not a keyframe")
		}
		if len(frames) == maxClipFrames {
			return nil, fmt.Errorf("rtc: vp8 clip longer than %d frames", maxClipFrames)
		}
		frames = append(frames, frame)
		stamps = append(stamps, le.Uint64(rest[4:]))
		rest = rest[frameHeader+size:]
	}
	if len(frames) == 0 {
		return nil, errors.New("rtc: vp8 clip has no frames")
	}
	// One timebase unit is scale/rate seconds; frame durations are clamped
	// to [minClipFrame, maxClipFrame], so absurd timestamps cannot overflow.
	unit := func(n uint64) time.Duration {
		secs := float64(n) * float64(scale) / float64(rate)
		return time.Duration(min(max(secs, minClipFrame.Seconds()), maxClipFrame.Seconds()) * float64(time.Second))
	}
	c := &Clip{kind: webrtc.RTPCodecTypeVideo, codec: synthVP8}
	var vp8 rtpcodecs.VP8Payloader
	dur := 100 * time.Millisecond
	for i, frame := range frames {
		if i+1 < len(frames) && stamps[i+1] > stamps[i] {
			dur = unit(stamps[i+1] - stamps[i])
		}
		c.frames = append(c.frames, clipFrame{
			payloads: vp8.Payload(rtpPayloadMTU, frame),
			dur:      dur,
			ticks:    uint32((dur*vp8Clock + time.Second/2) / time.Second),
		})
	}
	return c, nil
}

// opusSamples is the duration of an Opus packet at 48 kHz, read from its
// TOC byte (RFC 6716 §3.1); 0 when the packet is malformed.
func opusSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	config := int(p[0] >> 3)
	var frame int
	switch {
	case config < 12: // SILK
		frame = [...]int{480, 960, 1920, 2880}[config%4]
	case config < 16: // hybrid
		frame = [...]int{480, 960}[config%2]
	default: // CELT
		frame = [...]int{120, 240, 480, 960}[config%4]
	}
	switch p[0] & 3 {
	case 0:
		return frame
	case 1, 2:
		return 2 * frame
	default:
		if len(p) < 2 {
			return 0
		}
		return int(p[1]&0x3f) * frame
	}
}

// Synth plays a Clip in a loop into its Source, from one goroutine that
// ends with Close. A keyframe request from a subscriber starts a video clip
// again from its first frame, a keyframe.
type Synth struct {
	src     *Source
	clip    *Clip
	restart atomic.Bool
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// NewSynth starts playing clip as a track whose msid track id is trackID.
// Publish Source() to send it; Close stops it.
func NewSynth(clip *Clip, trackID string) *Synth {
	s := &Synth{
		clip: clip,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	s.src = newSource(clip.kind, clip.codec, trackID, nil)
	if clip.kind == webrtc.RTPCodecTypeVideo {
		s.src.keyframe = func() { s.restart.Store(true) }
	}
	go s.run()
	return s
}

// Source is the synthesized track, to give to Forwarder.Publish.
func (s *Synth) Source() *Source { return s.src }

// Close stops the clip, waits for its goroutine and ends the Source (the
// Forwarder then stops sending it). Safe to call more than once.
func (s *Synth) Close() {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		s.src.end()
	})
}

func (s *Synth) run() {
	defer close(s.done)
	video := s.clip.kind == webrtc.RTPCodecTypeVideo
	first := s.clip.frames[0].dur
	timer := time.NewTimer(first)
	defer timer.Stop()
	next := time.Now().Add(first) // when the coming frame is due
	// Random starting points, as RFC 3550 asks; the SSRC is each
	// subscriber's binding's own.
	seq, ts := uint16(rand.Uint32()), rand.Uint32()
	for i, n := 0, 0; ; n++ {
		select {
		case <-s.stop:
			return
		case <-timer.C:
		}
		if video && s.restart.Swap(false) {
			i = 0
		}
		f := s.clip.frames[i]
		for j, p := range f.payloads {
			s.src.write(&rtp.Packet{
				Header: rtp.Header{
					Version: 2,
					// Audio: the start of a talkspurt; video: the end of a frame.
					Marker:         (!video && n == 0) || (video && j == len(f.payloads)-1),
					SequenceNumber: seq,
					Timestamp:      ts,
				},
				Payload: p,
			})
			seq++
		}
		ts += f.ticks
		next = next.Add(f.dur)
		if time.Until(next) < -maxSynthLag {
			next = time.Now() // after a stall, go on from now rather than send a burst
		}
		i = (i + 1) % len(s.clip.frames)
		timer.Reset(max(time.Until(next), 0))
	}
}

// Play plays clip in a loop as track trackSID of participant publisherSID
// (a server-side participant): every subscriber that wants the track
// receives it as if it were published. stop ends it.
func (f *Forwarder) Play(publisherSID, trackSID string, clip *Clip) (stop func()) {
	s := NewSynth(clip, trackSID)
	f.Publish(publisherSID, trackSID, s.Source(), nil)
	return s.Close
}

// PlayFile reads file as a clip for a track of kind (ParseClip) and plays
// it (Play).
func (f *Forwarder) PlayFile(publisherSID, trackSID, kind string, file []byte) (stop func(), err error) {
	clip, err := ParseClip(kind, file)
	if err != nil {
		return nil, err
	}
	return f.Play(publisherSID, trackSID, clip), nil
}

// CheckFile reports why file cannot be played on a track of kind, if it
// cannot.
func (f *Forwarder) CheckFile(kind string, file []byte) error {
	_, err := ParseClip(kind, file)
	return err
}
