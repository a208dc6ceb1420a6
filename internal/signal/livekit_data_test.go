package signal_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal"
)

// counts records what LiveKitOptions.DataDropped is told.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[kind]++
}

func (c *counts) get(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[kind]
}

// A LiveKit receiver that stops reading its data channel is not fed
// reliable data into a hole: once its backlog is full it gets a leave with
// a reason and a 1008 close, the others see it leave as a slow consumer,
// and the packet it could not take is counted.
func TestLiveKitSlowDataReceiverIsDisconnectedWithAReason(t *testing.T) {
	var dropped counts
	events := make(chan rooms.Event, 1024)
	e := startLK(t, signal.Limits{}, lkOpts{dataBacklog: 128 << 10, dataDropped: dropped.add,
		observer: rooms.ObserverFunc(func(ev rooms.Event) {
			if ev.Kind == rooms.EventParticipantLeft {
				events <- ev
			}
		})})
	sink := fakeSink{ch: make(chan rooms.Event, 64)}
	sender, err := e.reg.Join(context.Background(), rooms.JoinRequest{
		Room: "room-slow", Identity: "sender", Permission: rooms.AllPermissions(), Dialect: rooms.DialectJSON, State: rooms.StateActive,
	}, sink)
	if err != nil {
		t.Fatal(err)
	}
	watcher := e.dial(t, q("watcher", "room-slow"))
	watcher.join()
	slow := e.dial(t, q("slow", "room-slow"))
	slow.join()
	pc := newPC(t)
	negotiate(t, slow, pc, 1, true)
	waitClosed(t, pc.opened, "the client's _reliable channel open")
	// The client stops reading its data channel, and SCTP's window fills.
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	pc.reliable.OnMessage(func(webrtc.DataChannelMessage) { <-stuck })
	payload := make([]byte, 1024)
	left := func() bool {
		select {
		case <-slow.done:
			return true
		default:
			return false
		}
	}
	for i := 0; !left(); i++ {
		if i == 20000 { // 20 MiB: window, send buffer and backlog many times over
			t.Fatal("a receiver that does not read was never disconnected")
		}
		if err := sender.SendData(context.Background(), rooms.DataPacket{Payload: payload, Reliable: true}); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if i%128 == 127 {
			time.Sleep(2 * time.Millisecond) // SCTP sends meanwhile
		}
		for len(sink.ch) > 0 {
			<-sink.ch
		}
	}
	frames, code := slow.closed()
	var leave *livekit.LeaveRequest
	for _, sr := range frames {
		if l := sr.GetLeave(); l != nil {
			leave = l
		}
	}
	if leave == nil || leave.GetReason() != livekit.DisconnectReason_SIGNAL_CLOSE || leave.GetCanReconnect() {
		t.Errorf("slow got leave %v, want reason SIGNAL_CLOSE without reconnect", leave)
	}
	if code != 1008 {
		t.Errorf("slow closed with %d, want 1008", code)
	}
	watcher.until("slow leaving as a slow consumer", func(sr *livekit.SignalResponse) bool {
		for _, p := range sr.GetUpdate().GetParticipants() {
			if p.GetIdentity() == "slow" && p.GetState() == livekit.ParticipantInfo_DISCONNECTED {
				return p.GetDisconnectReason() == livekit.DisconnectReason_SIGNAL_CLOSE
			}
		}
		return false
	})
	waitEvent(t, events, "slow's participant_left", func(ev rooms.Event) bool {
		return ev.Participant.Identity == "slow" && ev.Reason == rooms.ReasonSlowConsumer
	})
	if n := dropped.get(signal.DataReliable); n < 1 {
		t.Errorf("reliable packets counted as not delivered: %d, want at least 1", n)
	}
}

// A LiveKit client whose signalling dropped keeps its data channel: data
// sent to it while it is parked (waiting to be resumed) reaches it, and
// what it sends meanwhile reaches the others.
func TestLiveKitDataFlowsWhileParked(t *testing.T) {
	parked := make(chan rooms.Event, 16)
	e := startResumable(t, time.Minute, nil, resumeOpts{obs: parked})
	sink := fakeSink{ch: make(chan rooms.Event, 256)}
	other, err := e.reg.Join(context.Background(), rooms.JoinRequest{
		Room: "room-park", Identity: "json-peer", Permission: rooms.AllPermissions(), Dialect: rooms.DialectJSON, State: rooms.StateActive,
	}, sink)
	if err != nil {
		t.Fatal(err)
	}
	alice := e.dial(t, q("alice", "room-park"))
	sid := alice.join().GetParticipant().GetSid()
	pc := newPC(t)
	negotiate(t, alice, pc, 1, true)
	waitClosed(t, pc.opened, "the client's _reliable channel open")

	alice.drop()
	waitEvent(t, parked, "alice detached", func(ev rooms.Event) bool {
		return ev.Kind == rooms.EventParticipantDetached && ev.Participant.Sid == sid
	})
	const n = 10
	for i := range n {
		if err := other.SendData(context.Background(), rooms.DataPacket{Payload: fmt.Appendf(nil, "while parked %d", i), Reliable: true}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case raw := <-pc.received:
			var dp livekit.DataPacket
			if err := proto.Unmarshal(raw, &dp); err != nil {
				t.Fatal(err)
			}
			if got, want := string(dp.GetUser().GetPayload()), fmt.Sprintf("while parked %d", i); got != want {
				t.Errorf("packet %d is %q, want %q", i, got, want)
			}
		case <-time.After(lkWait):
			t.Fatalf("packet %d sent while alice was parked never reached her", i)
		}
	}
	b, _ := proto.Marshal(&livekit.DataPacket{Value: &livekit.DataPacket_User{User: &livekit.UserPacket{Payload: []byte("from the parked one")}}})
	if err := pc.reliable.Send(b); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, sink.ch, "alice's data relayed while she is parked", func(ev rooms.Event) bool {
		return ev.Kind == rooms.EventDataReceived && ev.Data.FromSid == sid && string(ev.Data.Payload) == "from the parked one"
	})
}
