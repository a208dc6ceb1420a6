//go:build !race

package rtc

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Simulcast is tested without the race detector: pion v4.2.18 reads a new
// simulcast SSRC from two of its own goroutines at once while it probes the
// stream (PeerConnection.handleIncomingSSRC against startReceiver's peek),
// which -race reports now and then. Nothing of ours is involved.

func TestSimulcastForwardsOneLayer(t *testing.T) {
	eng := newEngine(t)
	m := newMediaPeer(t, eng)
	var layers []*webrtc.TrackLocalStaticRTP
	for _, rid := range []string{"q", "h"} {
		l, err := webrtc.NewTrackLocalStaticRTP(vp8, "cam", "cam-stream", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	tr, err := m.c.pc.AddTransceiverFromTrack(layers[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Sender().AddEncoding(layers[1]); err != nil {
		t.Fatal(err)
	}
	go func() { // RTCP of both layers, read as a browser would
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Sender().Read(buf); err != nil {
				return
			}
		}
	}()
	m.negotiate(t)
	mid := tr.Mid()
	send := func(seq uint16) {
		for i, l := range layers {
			// As browsers do: mid and rid header extensions (the ids pion
			// offered) tell the server which layer a new SSRC carries.
			h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000}
			_ = h.SetExtension(1, []byte(mid))
			_ = h.SetExtension(2, []byte{"qh"[i]})
			_ = l.WriteRTP(&rtp.Packet{Header: h, Payload: []byte{"qh"[i]}})
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(done); wg.Wait() }()
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(1); ; seq++ {
			select {
			case <-done:
				return
			case <-tick.C:
				send(seq)
			}
		}
	})
	ti := waitFor(t, m.tracks, "OnTrack for the simulcast track")
	eng.Forwarder().Publish("PA_pub", "TR_cam", ti.Source, nil)
	sub := subscribe(t, eng, "PA_sub")
	sub.sub.Want("PA_pub", "TR_cam")
	sub.renegotiate(t)
	first := waitFor(t, sub.payloads, "a video packet")
	for range 20 {
		if got := waitFor(t, sub.payloads, "video packets"); got != first {
			t.Fatalf("subscriber got layers %q and %q: only one may be forwarded", first, got)
		}
	}
	select {
	case extra := <-m.tracks:
		t.Errorf("second OnTrack for the same track: %+v", extra)
	default:
	}
}
