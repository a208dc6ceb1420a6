package livekitmock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Admin calls the server's test-control API (/__admin). Its methods are safe
// for concurrent use.
type Admin struct {
	base string
	hc   *http.Client
}

// Event is one entry of the server's journal: everything the server saw, in
// order. Types use LiveKit's webhook names where one exists
// (participant_joined, track_published, room_finished, ...).
type Event struct {
	Seq      uint64         `json:"seq"`
	Time     time.Time      `json:"time"`
	Type     string         `json:"type"`
	Room     string         `json:"room,omitempty"`
	Identity string         `json:"identity,omitempty"`
	Detail   map[string]any `json:"detail,omitempty"`
}

// EventFilter selects journal events; empty fields match anything.
type EventFilter struct {
	Type     string // required by WaitEvent
	Room     string
	Identity string
	Since    uint64 // only events after this sequence number
}

// Participant is a fake participant the server adds to a room: every client
// sees it like any other, with its tracks carrying real media.
type Participant struct {
	Identity   string            `json:"identity"`
	Name       string            `json:"name,omitempty"`
	Metadata   string            `json:"metadata,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Tracks     []Track           `json:"tracks,omitempty"`
	// Kind "agent" makes it a scripted agent (no Tracks: it publishes its
	// own microphone) running Agent, or the built-in assistant's script
	// when Agent is nil.
	Kind  string       `json:"kind,omitempty"`
	Agent *AgentScript `json:"agent,omitempty"`
}

// AgentScript is what a scripted agent says and answers (see docs/agents.md,
// "Developing a voice UI without an agent").
type AgentScript struct {
	Greeting   string            `json:"greeting,omitempty"`
	Replies    []AgentReply      `json:"replies,omitempty"`
	RPC        map[string]string `json:"rpc,omitempty"`
	Heard      []string          `json:"heard,omitempty"`
	ThinkingMS *int              `json:"thinking_ms,omitempty"`
	VoiceFile  string            `json:"voice_file,omitempty"`
}

// AgentReply is said when When occurs in a user turn (any turn when empty);
// "{text}" in Say is the turn's text.
type AgentReply struct {
	When string `json:"when,omitempty"`
	Say  string `json:"say"`
}

// Track is one track of a fake participant.
type Track struct {
	Kind   string `json:"kind"`             // "audio" or "video"
	Name   string `json:"name,omitempty"`   // default "audio" / "video"
	Source string `json:"source,omitempty"` // "microphone", "camera", "screen_share", ...
}

// Error is an answer of the server other than success.
type Error struct {
	Status  int    // HTTP status
	Code    string // machine code, e.g. "timeout", "invalid_argument"
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("livekitmock: %d %s: %s", e.Status, e.Code, e.Message)
}

// Reset ends every session and empties the rooms, the journal, the fault
// rules and the rate-limit windows: call it between tests.
func (a *Admin) Reset(ctx context.Context) error {
	return a.call(ctx, http.MethodPost, "/__admin/reset", struct{}{}, nil)
}

// WaitEvent waits for the first event after f.Since that matches f, until
// ctx ends (10 s when ctx has no deadline). A wait that runs out is an *Error
// with Code "timeout".
func (a *Admin) WaitEvent(ctx context.Context, f EventFilter) (Event, error) {
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		// The server gives up a little before ctx does, so that its timeout
		// answer arrives.
		left := time.Until(d)
		timeout = max(left-min(left/10, 250*time.Millisecond), time.Millisecond)
	}
	req := map[string]any{"type": f.Type, "timeout_ms": timeout.Milliseconds()}
	if f.Room != "" {
		req["room"] = f.Room
	}
	if f.Identity != "" {
		req["identity"] = f.Identity
	}
	if f.Since > 0 {
		req["since"] = f.Since
	}
	var e Event
	err := a.call(ctx, http.MethodPost, "/__admin/events/wait", req, &e)
	return e, err
}

// Events lists the journal's events that match f (any type when f.Type is
// empty), oldest first.
func (a *Admin) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	q := url.Values{}
	for k, v := range map[string]string{"type": f.Type, "room": f.Room, "identity": f.Identity} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Since > 0 {
		q.Set("since", strconv.FormatUint(f.Since, 10))
	}
	var out struct {
		Events []Event `json:"events"`
	}
	err := a.call(ctx, http.MethodGet, "/__admin/events?"+q.Encode(), nil, &out)
	return out.Events, err
}

// AddParticipant adds a fake participant to room (created if need be).
func (a *Admin) AddParticipant(ctx context.Context, room string, p Participant) error {
	return a.call(ctx, http.MethodPost, "/__admin/rooms/"+url.PathEscape(room)+"/participants", p, nil)
}

// Say makes the scripted agent identity of room say text now; wait for
// the "agent_said" event to know it has.
func (a *Admin) Say(ctx context.Context, room, identity, text string) error {
	return a.call(ctx, http.MethodPost, "/__admin/rooms/"+url.PathEscape(room)+"/participants/"+url.PathEscape(identity)+"/say",
		map[string]string{"text": text}, nil)
}

// RemoveParticipant removes a participant, fake or real, from room; others
// see it leave with reason "removed".
func (a *Admin) RemoveParticipant(ctx context.Context, room, identity string) error {
	return a.call(ctx, http.MethodDelete, "/__admin/rooms/"+url.PathEscape(room)+"/participants/"+url.PathEscape(identity), nil, nil)
}

// call sends body as JSON (when not nil) and decodes a 2xx answer into out
// (when not nil); any other answer is an *Error.
func (a *Admin) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("livekitmock: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
			Code  string `json:"code"`
		}
		_ = json.Unmarshal(raw, &e)
		return &Error{Status: resp.StatusCode, Code: e.Code, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}
