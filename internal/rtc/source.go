package rtc

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// keyframeInterval bounds how often subscribers' picture-loss requests reach
// a publisher: a room of subscribers joining at once asks for one keyframe.
const keyframeInterval = 200 * time.Millisecond

// Source is one published track as the server receives it: the RTP of one
// encoding (the first simulcast layer to arrive; there is no layer
// switching), handed unchanged (header extensions aside) to every attached
// downtrack. No transcoding happens anywhere.
type Source struct {
	kind    webrtc.RTPCodecType
	codec   webrtc.RTPCodecCapability
	trackID string // the client's msid track id
	// writeRTCP reaches the publisher (its PeerConnection); nil for sources
	// with nobody behind them.
	writeRTCP func([]rtcp.Packet) error
	// keyframe, when set, is asked for a keyframe instead (server-made
	// video: see Synth).
	keyframe func()
	now      func() time.Time

	mu      sync.RWMutex
	downs   []*downTrack // copy on write: the packet path only reads it
	ssrc    uint32       // the layer being forwarded; 0 until one arrives
	muted   bool
	ended   bool
	lastPLI time.Time
	onEnd   []func()
	sid     string // the TR_ sid it was last published as

	listens []*listener // copy on write, like downs: server-side ears (Forwarder.Listen)

	packets atomic.Uint64                     // packets of the forwarded layer received
	tap     atomic.Pointer[func(*rtp.Packet)] // tests: sees every received packet
}

func newSource(kind webrtc.RTPCodecType, codec webrtc.RTPCodecCapability, trackID string, writeRTCP func([]rtcp.Packet) error) *Source {
	return &Source{kind: kind, codec: codec, trackID: trackID, writeRTCP: writeRTCP, now: time.Now}
}

// Kind is "audio" or "video".
func (s *Source) Kind() string { return s.kind.String() }

// MimeType is the codec the publisher sends, e.g. "audio/opus".
func (s *Source) MimeType() string { return s.codec.MimeType }

// claim makes ssrc the forwarded layer if none is yet; it reports whether
// packets of ssrc are to be forwarded.
func (s *Source) claim(ssrc uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ssrc == 0 {
		s.ssrc = ssrc
	}
	return s.ssrc == ssrc
}

// setMuted stops (or resumes) forwarding; the publisher of a muted track
// usually stops sending anyway.
func (s *Source) setMuted(m bool) {
	s.mu.Lock()
	s.muted = m
	s.mu.Unlock()
}

// write forwards one packet of the claimed layer to every downtrack.
func (s *Source) write(pkt *rtp.Packet) {
	s.packets.Add(1)
	if tap := s.tap.Load(); tap != nil {
		(*tap)(pkt)
	}
	s.mu.RLock()
	downs, muted, listens := s.downs, s.muted, s.listens
	s.mu.RUnlock()
	if muted {
		return
	}
	for _, l := range listens {
		l.fn(len(pkt.Payload))
	}
	for _, d := range downs {
		d.write(pkt)
	}
}

func (s *Source) add(d *downTrack) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	downs := make([]*downTrack, 0, len(s.downs)+1)
	s.downs = append(append(downs, s.downs...), d)
	return true
}

func (s *Source) remove(d *downTrack) {
	s.mu.Lock()
	defer s.mu.Unlock()
	downs := make([]*downTrack, 0, len(s.downs))
	for _, x := range s.downs {
		if x != d {
			downs = append(downs, x)
		}
	}
	s.downs = downs
}

// end marks the source finished (the publisher's PeerConnection closed or
// the track stopped) and runs the end callbacks once.
func (s *Source) end() {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	fns := s.onEnd
	s.onEnd = nil
	s.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// whenEnded runs fn once the source ends (at once if it has).
func (s *Source) whenEnded(fn func()) {
	s.mu.Lock()
	if !s.ended {
		s.onEnd = append(s.onEnd, fn)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	fn()
}

// requestKeyframe asks the publisher for a keyframe of the forwarded layer,
// at most once per keyframeInterval.
func (s *Source) requestKeyframe() {
	if s.kind != webrtc.RTPCodecTypeVideo || (s.writeRTCP == nil && s.keyframe == nil) {
		return
	}
	s.mu.Lock()
	ssrc := s.ssrc
	now := s.now()
	if (ssrc == 0 && s.keyframe == nil) || s.ended || now.Sub(s.lastPLI) < keyframeInterval {
		s.mu.Unlock()
		return
	}
	s.lastPLI = now
	s.mu.Unlock()
	if s.keyframe != nil {
		s.keyframe()
		return
	}
	_ = s.writeRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// PublishedAs is the track sid the source was last published under
// (Forwarder.Publish), or "".
func (s *Source) PublishedAs() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sid
}

func (s *Source) isEnded() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ended
}
