package rtc

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// A server-side participant that talks and listens (a scripted agent): its
// Voice sends silence until told to speak, then a clip for as long as it
// speaks; Listen lets it hear the sizes of another participant's packets.

// opusSilence is a 20 ms Opus packet of silence (CELT, fullband, code 0).
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// listener hears the payload size of each packet of a track.
type listener struct{ fn func(size int) }

func (s *Source) setListens(ls []*listener) {
	s.mu.Lock()
	s.listens = slices.Clone(ls)
	s.mu.Unlock()
}

// Listen calls fn with the payload size of every packet the track trackSID
// brings (a muted track brings none), now or once it is published, until
// stop. fn runs on the track's packet path: it must not block.
func (f *Forwarder) Listen(trackSID string, fn func(size int)) (stop func()) {
	l := &listener{fn: fn}
	f.mu.Lock()
	r := f.routeFor(trackSID, "")
	r.listens = append(slices.Clone(r.listens), l)
	if r.src != nil {
		r.src.setListens(r.listens)
	}
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			r := f.routes[trackSID]
			if r == nil {
				return
			}
			r.listens = slices.DeleteFunc(slices.Clone(r.listens), func(x *listener) bool { return x == l })
			if r.src != nil {
				r.src.setListens(r.listens)
			}
			f.drop(r)
		})
	}
}

// Voice is an Opus track that is silent until Speak; one goroutine, ended
// by Close, sends a packet every 20 ms.
type Voice struct {
	src  *Source
	clip *Clip

	mu    sync.Mutex
	until time.Time // speaking until then
	next  int       // the clip frame to send next

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// PlayVoice plays a Voice as track trackSID of publisherSID, speaking with
// speech (an Ogg/Opus clip, see ParseOpusClip).
func (f *Forwarder) PlayVoice(publisherSID, trackSID string, speech []byte) (*Voice, error) {
	clip, err := ParseOpusClip(speech)
	if err != nil {
		return nil, err
	}
	v := &Voice{clip: clip, stop: make(chan struct{}), done: make(chan struct{})}
	v.src = newSource(webrtc.RTPCodecTypeAudio, synthOpus, trackSID, nil)
	go v.run()
	f.Publish(publisherSID, trackSID, v.src, nil)
	return v, nil
}

// Speak sends the clip (from where it last stopped) for d from now.
func (v *Voice) Speak(d time.Duration) {
	v.mu.Lock()
	v.until = time.Now().Add(d)
	v.mu.Unlock()
}

// Hush goes back to silence now.
func (v *Voice) Hush() {
	v.mu.Lock()
	v.until = time.Time{}
	v.mu.Unlock()
}

// Close stops the track and waits for its goroutine. Safe to call more
// than once.
func (v *Voice) Close() {
	v.once.Do(func() {
		close(v.stop)
		<-v.done
		v.src.end()
	})
}

func (v *Voice) run() {
	defer close(v.done)
	tick := time.NewTicker(synthFrame)
	defer tick.Stop()
	seq, ts := uint16(rand.Uint32()), rand.Uint32()
	wasSpeaking := false
	for {
		select {
		case <-v.stop:
			return
		case now := <-tick.C:
			v.mu.Lock()
			speaking := now.Before(v.until)
			payload := opusSilence
			if speaking {
				payload = v.clip.frames[v.next].payloads[0]
				v.next = (v.next + 1) % len(v.clip.frames)
			}
			v.mu.Unlock()
			v.src.write(&rtp.Packet{
				Header: rtp.Header{
					Version:        2,
					Marker:         speaking && !wasSpeaking, // a talkspurt starts
					SequenceNumber: seq,
					Timestamp:      ts,
				},
				Payload: payload,
			})
			wasSpeaking = speaking
			seq++
			ts += synthSamples
		}
	}
}
