package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/gorilla/websocket"
)

// dialect is how loadgen speaks to one kind of server.
type dialect interface {
	// endpoint is the path and query of the WebSocket endpoint for room.
	endpoint(room string) (path, query string)
	// join completes the join on a fresh connection: it returns once the
	// server confirmed it.
	join(c *websocket.Conn, room, identity string) error
	// rejoin joins again on a connection that left (JSON dialect only).
	rejoin(c *websocket.Conn, room, identity string) error
	// leave leaves the room and keeps the socket (JSON dialect only).
	leave(c *websocket.Conn) error
	// dataMessage is a message that delivers payload to the others in the room.
	dataMessage(payload string) []byte
	// dataType is the "type" of that message as the others receive it.
	dataType() string
}

var dialects = map[string]dialect{"json": jsonDialect{}, "base": baseDialect{}}

const joinTimeout = 15 * time.Second

// jsonDialect is livekit-mock's JSON dialect of /rtc (SPEC §6.1).
type jsonDialect struct{}

func (jsonDialect) endpoint(string) (string, string) { return "/rtc", "" }

func (d jsonDialect) join(c *websocket.Conn, room, identity string) error {
	if _, err := await(c, "welcome"); err != nil {
		return err
	}
	return d.rejoin(c, room, identity)
}

func (jsonDialect) rejoin(c *websocket.Conn, room, identity string) error {
	msg, _ := json.Marshal(map[string]any{
		"type":        "join_room",
		"roomName":    room,
		"participant": map[string]string{"identity": identity, "name": identity},
	})
	if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
		return err
	}
	_, err := await(c, "room_joined")
	return err
}

func (jsonDialect) leave(c *websocket.Conn) error {
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"leave_room"}`)); err != nil {
		return err
	}
	_, err := await(c, "room_left")
	return err
}

func (jsonDialect) dataMessage(payload string) []byte {
	return []byte(`{"type":"send_data","payload":"` + payload + `"}`)
}

func (jsonDialect) dataType() string { return "data_received" }

// baseDialect is benchbase's /ws hub: join by query parameter, broadcast as is.
type baseDialect struct{}

func (baseDialect) endpoint(room string) (string, string) {
	return "/ws", "room=" + url.QueryEscape(room)
}

func (baseDialect) join(c *websocket.Conn, _, _ string) error {
	_, err := await(c, "joined")
	return err
}

func (baseDialect) rejoin(*websocket.Conn, string, string) error {
	return fmt.Errorf("the base dialect joins by connecting; use -reconnect")
}

func (baseDialect) leave(*websocket.Conn) error {
	return fmt.Errorf("the base dialect leaves by closing; use -reconnect")
}

func (baseDialect) dataMessage(payload string) []byte {
	return []byte(`{"type":"send_data","payload":"` + payload + `"}`)
}

func (baseDialect) dataType() string { return "send_data" }

// await reads until a message of type want, skipping others; an error
// message from the server ends the wait.
func await(c *websocket.Conn, want string) ([]byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(joinTimeout))
	defer c.SetReadDeadline(time.Time{})
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", want, err)
		}
		switch typeOf(msg) {
		case want:
			return msg, nil
		case "error", "disconnected":
			return nil, fmt.Errorf("waiting for %s: server sent %s", want, msg)
		}
	}
}

// typeOf reads the "type" of a JSON message without decoding all of it (the
// servers write "type" first; a full decode is the fallback).
func typeOf(msg []byte) string {
	if v, ok := stringField(msg, `"type":"`); ok {
		return v
	}
	var m struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(msg, &m)
	return m.Type
}

// stringField finds key (as `"name":"`) and returns the string after it, up
// to the next quote; enough for loadgen's own payloads, which hold no escapes.
func stringField(msg []byte, key string) (string, bool) {
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := msg[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return string(rest[:j]), true
}
