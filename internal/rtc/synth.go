package rtc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// Server-made media (SPEC §10, fake participants): an Ogg/Opus clip played
// in a loop as a Source, so that subscribers receive it exactly like a
// published track. Nothing is encoded here: the clip's packets are sent
// as they are, one every 20 ms.

const (
	synthFrame   = 20 * time.Millisecond
	synthSamples = 960 // 20 ms at Opus's 48 kHz RTP clock
	// maxClipPackets bounds what a clip may hold (about 22 minutes).
	maxClipPackets = 1 << 16
)

// synthCodec is what a synthesized track announces; each subscriber's
// local track rewrites the payload type to the one it negotiated.
var synthCodec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}

// OpusClip is an Ogg/Opus file split into its 20 ms packets.
type OpusClip struct {
	packets [][]byte
}

// ParseOpusClip reads an Ogg/Opus file whose pages each hold one 20 ms
// packet (as made with one packet per page, see internal/admin/assets).
func ParseOpusClip(ogg []byte) (*OpusClip, error) {
	r, _, err := oggreader.NewWith(bytes.NewReader(ogg))
	if err != nil {
		return nil, fmt.Errorf("rtc: opus clip: %w", err)
	}
	c := &OpusClip{}
	for {
		payload, hdr, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("rtc: opus clip page %d: %w", len(c.packets), err)
		}
		if t, ok := hdr.HeaderType(payload); ok && t == oggreader.HeaderOpusTags {
			continue
		}
		if len(payload) == 0 {
			continue
		}
		if d := opusSamples(payload); d != synthSamples {
			return nil, fmt.Errorf("rtc: opus clip page %d: packet of %d samples, want one 20 ms packet per page", len(c.packets), d)
		}
		if len(c.packets) == maxClipPackets {
			return nil, fmt.Errorf("rtc: opus clip longer than %d packets", maxClipPackets)
		}
		c.packets = append(c.packets, payload)
	}
	if len(c.packets) == 0 {
		return nil, errors.New("rtc: opus clip has no audio packets")
	}
	return c, nil
}

// Packets is how many 20 ms packets the clip holds.
func (c *OpusClip) Packets() int { return len(c.packets) }

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

// Synth plays an OpusClip in a loop into its Source, from one goroutine
// that ends with Close.
type Synth struct {
	src  *Source
	clip *OpusClip
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewSynth starts playing clip as an audio track whose msid track id is
// trackID. Publish Source() to send it; Close stops it.
func NewSynth(clip *OpusClip, trackID string) *Synth {
	s := &Synth{
		src:  newSource(webrtc.RTPCodecTypeAudio, synthCodec, trackID, nil),
		clip: clip,
		stop: make(chan struct{}),
		done: make(chan struct{}),
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
	t := time.NewTicker(synthFrame)
	defer t.Stop()
	// Random starting points, as RFC 3550 asks; the SSRC is each
	// subscriber's binding's own.
	seq, ts := uint16(rand.Uint32()), rand.Uint32()
	for i := 0; ; i++ {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.src.write(&rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         i == 0, // start of a talkspurt
				SequenceNumber: seq,
				Timestamp:      ts,
			},
			Payload: s.clip.packets[i%len(s.clip.packets)],
		})
		seq++
		ts += synthSamples
	}
}

// PlayOpus plays the Ogg/Opus file ogg in a loop as track trackSID of
// participant publisherSID (a server-side participant): every subscriber
// that wants the track receives it as if it were published. stop ends it.
func (f *Forwarder) PlayOpus(publisherSID, trackSID string, ogg []byte) (stop func(), err error) {
	clip, err := ParseOpusClip(ogg)
	if err != nil {
		return nil, err
	}
	s := NewSynth(clip, trackSID)
	f.Publish(publisherSID, trackSID, s.Source(), nil)
	return s.Close, nil
}
