package rooms_test

import (
	"context"
	"errors"
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

// A fake participant that listens (OnEvent) hears protocol packets too: a
// scripted agent answers RPC and reads text streams. It joins with its kind.
func TestFakeHearsProtocolPacketsAndKeepsItsKind(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{})
	ctx := context.Background()
	var heard []string // written on the room goroutine, read after a round trip through it
	_, _, info, err := reg.JoinFake(ctx, rooms.FakeRequest{Room: "r", Identity: "agent", Kind: "agent",
		OnEvent: func(ev rooms.Event) {
			if ev.Kind == rooms.EventDataReceived {
				heard = append(heard, ev.Data.Kind)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != "agent" {
		t.Errorf("fake kind %q, want agent", info.Kind)
	}
	m, err := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: "sdk", Dialect: rooms.DialectLiveKit, Permission: rooms.AllPermissions()}, &sink{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SendData(ctx, rooms.DataPacket{Kind: "rpc_request", Raw: []byte{1}, Destinations: []string{"agent"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Info(ctx); err != nil { // the room has handled the packet
		t.Fatal(err)
	}
	if len(heard) != 1 || heard[0] != "rpc_request" {
		t.Errorf("fake heard %v, want one rpc_request", heard)
	}
}

// A fake joining a room by sid joins that room only: never one created
// for it, nor a newer room of the same name.
func TestFakeJoinsOnlyTheRoomItsSidNames(t *testing.T) {
	reg, _ := newRegistry(t, rooms.Options{})
	ctx := context.Background()
	if _, _, _, err := reg.JoinFake(ctx, rooms.FakeRequest{Room: "gone", Identity: "a", RoomSid: "RM_old"}); !errors.Is(err, rooms.ErrRoomNotFound) {
		t.Fatalf("join of a missing room by sid: %v", err)
	}
	if _, _, _, err := reg.JoinFake(ctx, rooms.FakeRequest{Room: "gone", Identity: "a", Existing: true}); !errors.Is(err, rooms.ErrRoomNotFound) {
		t.Fatalf("join of a missing room, existing only: %v", err)
	}
	if n, _ := reg.Counts(); n != 0 {
		t.Fatalf("%d rooms created", n)
	}
	info, _, err := reg.CreateRoom(ctx, "r", rooms.RoomSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := reg.JoinFake(ctx, rooms.FakeRequest{Room: "r", Identity: "a", RoomSid: "RM_other"}); !errors.Is(err, rooms.ErrRoomNotFound) {
		t.Fatalf("join with another room's sid: %v", err)
	}
	if _, _, _, err := reg.JoinFake(ctx, rooms.FakeRequest{Room: "r", Identity: "a", RoomSid: info.Sid}); err != nil {
		t.Fatalf("join with the room's sid: %v", err)
	}
}
