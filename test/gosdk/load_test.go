package gosdk

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/livekit/server-sdk-go/v2/pkg/samplebuilder"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// vp8Key is a tiny VP8 key frame header (320x240): enough for a forwarder
// that looks for key frames; nobody decodes it.
var vp8Key = []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00}

// received counts, per subscriber, the tracks of which at least one whole
// sample arrived.
type received struct {
	mu   sync.Mutex
	got  map[string]bool // "subscriber/trackSid"
	errs []error
}

func (r *received) mark(key string) {
	r.mu.Lock()
	r.got[key] = true
	r.mu.Unlock()
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *received) fail(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func tokenFor(room, identity string) (string, error) {
	return auth.NewAccessToken(apiKey, apiSecret).SetIdentity(identity).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room}).SetValidFor(time.Hour).ToJWT()
}

// writeEvery writes sample to every track each period until stop closes.
func writeEvery(stop <-chan struct{}, period time.Duration, sample []byte, tracks ...*lksdk.LocalTrack) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			for _, tr := range tracks {
				_ = tr.WriteSample(media.Sample{Data: sample, Duration: period}, nil)
			}
		}
	}
}

// TestLoadScenario does what `lk load-test` does with 1 simulcast video
// publisher, 2 audio publishers and 5 subscribers: everyone joins at once;
// subscribers join with auto-subscribe off and subscribe to each track as it
// is published. Every subscriber must receive media on all 3 tracks.
func TestLoadScenario(t *testing.T) {
	needNamespace(t)
	const subscribers, want = 5, 15
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			if raceEnabled && len(m.opts) > 0 {
				// The client's own pion (webrtc v4.2.19) races here: RTP of a
				// subscribed track can arrive while the client still applies the
				// answer that declares it, and its undeclared-SSRC probe reads the
				// stream alongside the receiver it then starts. That is in the
				// SDK's process, not the server's; the race detector stops the
				// whole binary on it.
				t.Skip("single-PC load scenario skipped under -race (a data race inside pion's client, not in livekit-mock); run: go test -run TestLoadScenario .")
			}
			room := roomName(t)
			rec := &received{got: map[string]bool{}}
			stop := make(chan struct{})
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				joined []*lksdk.Room
			)
			keep := func(r *lksdk.Room) {
				mu.Lock()
				joined = append(joined, r)
				mu.Unlock()
			}
			connect := func(identity string, cb *lksdk.RoomCallback, extra ...lksdk.ConnectOption) *lksdk.Room {
				tok, err := tokenFor(room, identity)
				if err != nil {
					rec.fail(err)
					return nil
				}
				opts := append(append([]lksdk.ConnectOption{lksdk.WithConnectTimeout(15 * time.Second)}, m.opts...), extra...)
				r, err := lksdk.ConnectToRoomWithToken(srv.ws, tok, cb, opts...)
				if err != nil {
					rec.fail(fmt.Errorf("%s: %w", identity, err))
					return nil
				}
				keep(r)
				return r
			}
			for i := range subscribers {
				wg.Go(func() {
					id := fmt.Sprintf("sub-%d", i)
					cb := lksdk.NewRoomCallback()
					cb.OnTrackPublished = func(pub *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
						if err := pub.SetSubscribed(true); err != nil {
							rec.fail(fmt.Errorf("%s subscribing to %s: %w", id, pub.SID(), err))
						}
					}
					cb.OnTrackSubscribed = func(tr *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
						// As lk load-test: ask for a key frame and the top layer,
						// and count a track once whole samples come out of a
						// sample builder (sane sequence numbers and timestamps).
						rp.WritePLI(tr.SSRC())
						var dp rtp.Depacketizer = &codecs.OpusPacket{}
						if pub.Kind() == lksdk.TrackKindVideo {
							dp = &codecs.VP8Packet{}
							pub.SetVideoDimensions(1280, 720)
						}
						sb := samplebuilder.New(100, dp, tr.Codec().ClockRate)
						go func() {
							for {
								pkt, _, err := tr.ReadRTP()
								if err != nil {
									return
								}
								sb.Push(pkt)
								if len(sb.PopPackets()) > 0 {
									rec.mark(id + "/" + pub.SID())
								}
							}
						}()
					}
					r := connect(id, cb, lksdk.WithAutoSubscribe(false))
					if r == nil {
						return
					}
					// Tracks published before the join completed (lk load-test
					// does the same; subscribing twice is harmless).
					for _, p := range r.GetRemoteParticipants() {
						for _, pub := range p.TrackPublications() {
							if rp, ok := pub.(*lksdk.RemoteTrackPublication); ok {
								_ = rp.SetSubscribed(true)
							}
						}
					}
				})
			}
			for i := range 2 {
				wg.Go(func() {
					r := connect(fmt.Sprintf("audio-%d", i), lksdk.NewRoomCallback())
					if r == nil {
						return
					}
					tr, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
					if err != nil {
						rec.fail(err)
						return
					}
					if _, err := r.LocalParticipant.PublishTrack(tr, &lksdk.TrackPublicationOptions{Name: "audio", Source: livekit.TrackSource_MICROPHONE}); err != nil {
						rec.fail(fmt.Errorf("audio-%d publish: %w", i, err))
						return
					}
					writeEvery(stop, 20*time.Millisecond, []byte{0xf8, 0xff, 0xfe}, tr)
				})
			}
			wg.Go(func() {
				r := connect("video", lksdk.NewRoomCallback())
				if r == nil {
					return
				}
				var layers []*lksdk.LocalTrack
				for q, w := range map[livekit.VideoQuality]uint32{livekit.VideoQuality_LOW: 320, livekit.VideoQuality_MEDIUM: 640, livekit.VideoQuality_HIGH: 1280} {
					tr, err := lksdk.NewLocalTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
						lksdk.WithSimulcast("video", &livekit.VideoLayer{Quality: q, Width: w, Height: w * 9 / 16}))
					if err != nil {
						rec.fail(err)
						return
					}
					layers = append(layers, tr)
				}
				if _, err := r.LocalParticipant.PublishSimulcastTrack(layers, &lksdk.TrackPublicationOptions{Name: "video", Source: livekit.TrackSource_CAMERA}); err != nil {
					rec.fail(fmt.Errorf("video publish: %w", err))
					return
				}
				writeEvery(stop, 33*time.Millisecond, vp8Key, layers...)
			})
			t.Cleanup(func() {
				close(stop)
				wg.Wait()
				mu.Lock()
				defer mu.Unlock()
				for _, r := range joined {
					r.Disconnect()
				}
			})

			deadline := time.Now().Add(20 * time.Second)
			for rec.count() < want && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, err := range rec.errs {
				t.Error(err)
			}
			if n := len(rec.got); n < want {
				t.Fatalf("subscribers received %d of %d tracks: %v", n, want, rec.got)
			}
			t.Logf("subscribers received %d of %d tracks", len(rec.got), want)
		})
	}
}
