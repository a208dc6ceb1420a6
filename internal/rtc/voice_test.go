package rtc

import (
	"testing"
	"time"
)

// A Voice is silent (3-byte packets) until it speaks, sends the clip's
// packets while it speaks, and is silent again once hushed; a listener on
// its track hears each packet's size, and none after it stops listening.
func TestVoiceSpeaksOnlyWhenToldAndListenHearsIt(t *testing.T) {
	f := newForwarder()
	sizes := make(chan int, 1024)
	stop := f.Listen("TR_voice", func(n int) {
		select {
		case sizes <- n:
		default:
		}
	})
	v, err := f.PlayVoice("PA_agent", "TR_voice", toneOgg(t))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	next := func(want func(int) bool, what string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case n := <-sizes:
				if want(n) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s packet", what)
			}
		}
	}
	next(func(n int) bool { return n == len(opusSilence) }, "silent")
	v.Speak(time.Minute)
	next(func(n int) bool { return n > 20 }, "spoken")
	v.Hush()
	// Drain what was sent before the hush; then only silence comes.
	next(func(n int) bool { return n == len(opusSilence) }, "silent")
	for range 5 {
		if n := <-sizes; n != len(opusSilence) {
			t.Fatalf("a %d-byte packet after Hush", n)
		}
	}
	stop()
	f.mu.Lock()
	listens := len(f.routes["TR_voice"].listens)
	f.mu.Unlock()
	if listens != 0 {
		t.Fatalf("%d listeners after stop", listens)
	}
	v.Close()
	f.mu.Lock()
	_, kept := f.routes["TR_voice"]
	f.mu.Unlock()
	if kept {
		t.Error("the route outlived its voice and listener")
	}
}
