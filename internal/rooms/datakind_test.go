package rooms_test

import (
	"context"
	"testing"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Protocol packets (RPC, streams) from a LiveKit client reach only LiveKit
// members; user data reaches every dialect, with its raw form kept.
func TestDataKindsReachTheDialectsThatReadThem(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{})
	ctx := context.Background()
	members := map[string]*sink{}
	var sender *rooms.Member
	for _, p := range []struct{ identity, dialect string }{{"sdk-a", rooms.DialectLiveKit}, {"sdk-b", rooms.DialectLiveKit}, {"json", rooms.DialectJSON}} {
		s := &sink{}
		members[p.identity] = s
		m, err := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: p.identity, Dialect: p.dialect, Permission: rooms.AllPermissions()}, s)
		if err != nil {
			t.Fatal(err)
		}
		if p.identity == "sdk-a" {
			sender = m
		}
	}
	for _, pkt := range []rooms.DataPacket{
		{Kind: "rpc_request", Raw: []byte{1}},
		{Kind: "user", Payload: []byte("hi"), Raw: []byte{2}},
	} {
		if err := sender.SendData(ctx, pkt); err != nil {
			t.Fatal(err)
		}
	}
	got := func(identity string) (kinds []string) {
		s := members[identity]
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, ev := range s.events {
			if ev.Kind == rooms.EventDataReceived {
				kinds = append(kinds, ev.Data.Kind)
			}
		}
		return kinds
	}
	if k := got("sdk-b"); len(k) != 2 || k[0] != "rpc_request" || k[1] != "user" {
		t.Errorf("LiveKit member got %v", k)
	}
	if k := got("json"); len(k) != 1 || k[0] != "user" {
		t.Errorf("JSON member got %v", k)
	}
}
