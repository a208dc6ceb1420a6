// Package scripted is the transport-free half of scripted agents: fake
// participants of kind agent that greet, answer each user turn from a
// script, answer RPC methods and describe what they do the way an agent
// built with LiveKit's Agents framework does (lk.agent.state, lk.transcription
// text streams). It holds the script and its checks, the catalog of named
// scripts configured at start-up, reply choice, how long speaking takes, and
// the detection of user turns in a microphone's Opus packets. The room, the
// wire and the clock belong to the caller (internal/admin).
package scripted

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// What the agent is doing, as lk.agent.state tells it.
const (
	StateInitializing = "initializing"
	StateListening    = "listening"
	StateThinking     = "thinking"
	StateSpeaking     = "speaking"
)

// Participant attributes and text stream conventions of LiveKit agents.
const (
	AttrState            = "lk.agent.state"
	AttrName             = "lk.agent.name"
	TopicTranscription   = "lk.transcription"
	TopicChat            = "lk.chat"
	AttrSegmentID        = "lk.segment_id"
	AttrTranscribedTrack = "lk.transcribed_track_id"
	AttrFinal            = "lk.transcription_final"
)

// RPCUnsupportedMethod is the RPC error code of a method the destination
// does not handle, with its standard message.
const (
	RPCUnsupportedMethod    = 1400
	RPCUnsupportedMethodMsg = "Method not supported at destination"
)

// Limits on a script.
const (
	MaxScriptBytes = 32 << 10
	MaxReplies     = 64
	MaxHeard       = 64
	MaxRPCMethods  = 32
	MaxText        = 1000 // characters of a greeting, reply, heard text
	MaxWhen        = 200
	MaxMethod      = 64
	MaxRPCPayload  = 15 << 10 // LiveKit's RPC payload limit
	MaxThinking    = 10 * time.Second
	MaxPath        = 4096
	// DefaultThinking is how long the agent thinks when the script does
	// not say.
	DefaultThinking = 300 * time.Millisecond
)

// Reply is one answer: said when When occurs in the turn's text
// (case-insensitive), or for any turn when When is empty. "{text}" in Say
// is replaced by the turn's text.
type Reply struct {
	When string `json:"when,omitempty"`
	Say  string `json:"say"`
}

// Script is what a scripted agent says and answers.
type Script struct {
	// Greeting is said when the first other participant is in the room;
	// empty: no greeting.
	Greeting string  `json:"greeting,omitempty"`
	Replies  []Reply `json:"replies,omitempty"`
	// RPC maps a method name to the payload it returns.
	RPC map[string]string `json:"rpc,omitempty"`
	// Heard supplies, in turn, the words of each user speech turn (the
	// server does not recognise speech); after the last it starts again.
	Heard []string `json:"heard,omitempty"`
	// ThinkingMS is how long the agent stays thinking before it answers;
	// nil: DefaultThinking.
	ThinkingMS *int `json:"thinking_ms,omitempty"`
	// VoiceFile is an Ogg/Opus file played while speaking instead of the
	// embedded voice.
	VoiceFile string `json:"voice_file,omitempty"`
}

// Thinking is how long the agent thinks before answering.
func (s Script) Thinking() time.Duration {
	if s.ThinkingMS == nil {
		return DefaultThinking
	}
	return time.Duration(*s.ThinkingMS) * time.Millisecond
}

// FieldError says which field of a script is wrong and why.
type FieldError struct {
	Field string // e.g. "replies[2].say"
	Rule  string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Rule }

func bad(field, rule string) error { return &FieldError{Field: field, Rule: rule} }

// Parse reads a script from JSON and checks it. Unknown fields are refused;
// errors are *FieldError naming the field from the script's root.
func Parse(b []byte) (Script, error) {
	var s Script
	if len(b) > MaxScriptBytes {
		return s, bad("", fmt.Sprintf("must be at most %d KiB of JSON", MaxScriptBytes>>10))
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return s, bad("", "must be an object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return s, bad("", "must be one JSON object")
	}
	return s, s.Validate()
}

// decodeError names the field a JSON decoding error is about.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(root)"
		}
		return bad(field, "must be "+jsonKind(te.Type.Kind().String()))
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		const rule = "is not a script field (greeting, replies, rpc, heard, thinking_ms, voice_file)"
		field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		if !fieldPattern.MatchString(field) {
			return bad("", "has a field that "+rule) // never echo what is not a plain name
		}
		return bad(field, rule)
	}
	return bad("", "must be valid JSON")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	case "int", "int64":
		return "an integer"
	}
	return "of another type"
}

func text(field, s string, limit int) error {
	switch {
	case !utf8.ValidString(s):
		return bad(field, "must be UTF-8")
	case utf8.RuneCountInString(s) > limit:
		return bad(field, fmt.Sprintf("must be at most %d characters", limit))
	case strings.ContainsRune(s, 0):
		return bad(field, "must not contain NUL")
	}
	return nil
}

// fieldPattern is what a field or method name must look like to be named
// in an error.
var fieldPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Validate checks the script's limits.
func (s Script) Validate() error {
	if err := text("greeting", s.Greeting, MaxText); err != nil {
		return err
	}
	if len(s.Replies) > MaxReplies {
		return bad("replies", fmt.Sprintf("must hold at most %d replies", MaxReplies))
	}
	for i, r := range s.Replies {
		at := fmt.Sprintf("replies[%d].", i)
		if err := text(at+"when", r.When, MaxWhen); err != nil {
			return err
		}
		if r.Say == "" {
			return bad(at+"say", "is required")
		}
		if err := text(at+"say", r.Say, MaxText); err != nil {
			return err
		}
	}
	if len(s.RPC) > MaxRPCMethods {
		return bad("rpc", fmt.Sprintf("must hold at most %d methods", MaxRPCMethods))
	}
	for _, m := range s.methods() {
		if m == "" || text("rpc", m, MaxMethod) != nil || strings.IndexFunc(m, unicode.IsControl) >= 0 {
			return bad("rpc", fmt.Sprintf("method names must be 1-%d characters of UTF-8, no control characters", MaxMethod))
		}
		// The name is echoed only when it is a plain one.
		field := "rpc." + m
		if !fieldPattern.MatchString(m) {
			field = "rpc"
		}
		if len(s.RPC[m]) > MaxRPCPayload {
			return bad(field, fmt.Sprintf("payloads must be at most %d KiB", MaxRPCPayload>>10))
		}
		if !utf8.ValidString(s.RPC[m]) {
			return bad(field, "payloads must be UTF-8")
		}
	}
	if len(s.Heard) > MaxHeard {
		return bad("heard", fmt.Sprintf("must hold at most %d entries", MaxHeard))
	}
	for i, h := range s.Heard {
		if err := text(fmt.Sprintf("heard[%d]", i), h, MaxText); err != nil {
			return err
		}
	}
	if s.ThinkingMS != nil && (*s.ThinkingMS < 0 || time.Duration(*s.ThinkingMS)*time.Millisecond > MaxThinking) {
		return bad("thinking_ms", fmt.Sprintf("must be between 0 and %d", MaxThinking.Milliseconds()))
	}
	if len(s.VoiceFile) > MaxPath || strings.ContainsRune(s.VoiceFile, 0) {
		return bad("voice_file", fmt.Sprintf("must be a path of at most %d bytes", MaxPath))
	}
	return nil
}

func (s Script) methods() []string {
	out := make([]string, 0, len(s.RPC))
	for m := range s.RPC {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Answer is what the agent says to a turn whose text is heard: the first
// reply whose When occurs in it (case-insensitive), with "{text}" replaced
// by heard. ok is false when no reply fits: the agent stays silent.
func (s Script) Answer(heard string) (say string, ok bool) {
	low := strings.ToLower(heard)
	for _, r := range s.Replies {
		if r.When == "" || strings.Contains(low, strings.ToLower(r.When)) {
			return strings.ReplaceAll(r.Say, "{text}", heard), true
		}
	}
	return "", false
}

// Method answers an RPC call: the script's payload, or ok false for a
// method it does not know.
func (s Script) Method(name string) (payload string, ok bool) {
	payload, ok = s.RPC[name]
	return payload, ok
}

// Speaking bounds: how long saying a text takes.
const (
	perCharacter = 60 * time.Millisecond // about 16 characters a second
	MinSpeaking  = 400 * time.Millisecond
	MaxSpeaking  = 60 * time.Second
)

// SpeakingTime is how long the agent speaks to say text: about as long as
// a voice would, within [MinSpeaking, MaxSpeaking].
func SpeakingTime(text string) time.Duration {
	d := time.Duration(utf8.RuneCountInString(text)) * perCharacter
	return min(max(d, MinSpeaking), MaxSpeaking)
}

// Words splits text into the pieces a transcription sends one by one: each
// word with the space before it, so that the pieces join back to text.
func Words(text string) []string {
	var out []string
	start := 0
	inWord := false
	for i, r := range text {
		space := r == ' ' || r == '\n' || r == '\t'
		if inWord && space {
			out = append(out, text[start:i])
			start = i
		}
		inWord = !space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}
