package rtc

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// BenchmarkForwardAudio10Rooms4 forwards real-time audio in 10 rooms of 4
// participants: each publishes one Opus-sized stream (50 packets/s of 160
// bytes) and receives the other three, all on /rtc/v1-style single
// PeerConnections over loopback. One iteration is one second of audio; run
// with -benchtime 5x. Reported: process CPU (the 40 in-process pion clients
// included, so an upper bound for the server), the latency from the
// publisher client's write to the subscriber client's read (p50, p99), and
// heap per subscribed track.
func BenchmarkForwardAudio10Rooms4(b *testing.B) {
	const rooms, perRoom = 10, 4
	eng, err := NewEngine(Options{NodeIP: "127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	type member struct {
		pub  *publisher
		subs *subscriber
	}
	var (
		lat   = make(chan time.Duration, 1<<16)
		wg    sync.WaitGroup
		all   []*member
		clean []func()
	)
	defer func() {
		for _, fn := range slices.Backward(clean) {
			fn()
		}
		wg.Wait()
	}()
	// Publishers first (their media must arrive for OnTrack).
	for r := range rooms {
		for p := range perRoom {
			m := &member{}
			m.pub = publishB(b, eng, fmt.Sprintf("PA_%d_%d", r, p), fmt.Sprintf("TR_%d_%d", r, p))
			clean = append(clean, func() { _ = m.pub.peer.Close(); _ = m.pub.c.pc.Close() })
			all = append(all, m)
		}
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for r := range rooms {
		for p := range perRoom {
			m := all[r*perRoom+p]
			s := subscribeB(b, eng, fmt.Sprintf("PS_%d_%d", r, p), lat, &wg)
			m.subs = s
			clean = append(clean, func() { s.sub.Close(); _ = s.peer.Close(); _ = s.c.pc.Close() })
			for q := range perRoom {
				if q != p {
					s.sub.Want(fmt.Sprintf("PA_%d_%d", r, q), fmt.Sprintf("TR_%d_%d", r, q))
				}
			}
			// One negotiation round gives the three tracks their sections.
			for {
				n := waitFor(b, s.neg, "negotiation request")
				s.addSections(b, n[0], n[1])
				if mids := s.negotiate(b); len(mids) == perRoom-1 {
					break
				}
			}
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	subscribed := rooms * perRoom * (perRoom - 1)
	perTrack := float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(subscribed)

	payload := make([]byte, 160)
	var samples []time.Duration
	cpuStart := cpuTime()
	wallStart := time.Now()
	b.ResetTimer()
	for range b.N {
		tick := time.NewTicker(20 * time.Millisecond)
		for range 50 {
			<-tick.C
			for _, m := range all {
				binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
				m.pub.mu.Lock()
				m.pub.seq++
				seq := m.pub.seq
				m.pub.mu.Unlock()
				_ = m.pub.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: payload})
			}
		drain:
			for {
				select {
				case d := <-lat:
					samples = append(samples, d)
				default:
					break drain
				}
			}
		}
		tick.Stop()
	}
	b.StopTimer()
	cpu := cpuTime() - cpuStart
	wall := time.Since(wallStart)
	slices.Sort(samples)
	if len(samples) == 0 {
		b.Fatal("no packet was forwarded")
	}
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
	b.ReportMetric(float64(samples[len(samples)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(samples[len(samples)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(perTrack/1024, "KiB/subscribed-track")
	b.ReportMetric(float64(len(samples))/wall.Seconds(), "pkts-out/s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// publishB and subscribeB are publish and subscribe for a benchmark.
func publishB(b testing.TB, eng *Engine, pubSID, trackSID string) *publisher {
	p := publish(b, eng, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
	eng.Forwarder().Publish(pubSID, trackSID, p.src, nil)
	return p
}

func subscribeB(b testing.TB, eng *Engine, sid string, lat chan<- time.Duration, wg *sync.WaitGroup) *subscriber {
	s := subscribe(b, eng, sid)
	s.c.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		wg.Go(func() {
			buf := make([]byte, 1500)
			var pkt rtp.Packet
			for {
				n, _, err := tr.Read(buf)
				if err != nil {
					return
				}
				if pkt.Unmarshal(buf[:n]) != nil || len(pkt.Payload) < 8 {
					continue
				}
				sent := time.Unix(0, int64(binary.BigEndian.Uint64(pkt.Payload)))
				select {
				case lat <- time.Since(sent):
				default:
				}
			}
		})
	})
	return s
}
