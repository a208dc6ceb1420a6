package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/admin"
	"github.com/livekit-mock/livekit-mock/internal/agents/scripted"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
)

// jsonWire stands for the LiveKit packets: each is the JSON of a wirePacket,
// so that the test reads what the agent sends and writes what a client would.
type jsonWire struct{}

type wirePacket struct {
	Kind     string            `json:"kind"`
	Sender   string            `json:"sender,omitempty"`
	To       string            `json:"to,omitempty"`
	StreamID string            `json:"streamId,omitempty"`
	Topic    string            `json:"topic,omitempty"`
	Attrs    map[string]string `json:"attrs,omitempty"`
	Content  string            `json:"content,omitempty"`
	Request  string            `json:"request,omitempty"`
	Method   string            `json:"method,omitempty"`
	Payload  string            `json:"payload,omitempty"`
	Code     uint32            `json:"code,omitempty"`
}

func (p wirePacket) raw() []byte { b, _ := json.Marshal(p); return b }

func (jsonWire) StreamHeader(sender, id, topic string, attrs map[string]string, _ time.Time) ([]byte, error) {
	return wirePacket{Kind: "stream_header", Sender: sender, StreamID: id, Topic: topic, Attrs: attrs}.raw(), nil
}

func (jsonWire) StreamChunk(sender, id string, _ uint64, content []byte) ([]byte, error) {
	return wirePacket{Kind: "stream_chunk", Sender: sender, StreamID: id, Content: string(content)}.raw(), nil
}

func (jsonWire) StreamTrailer(sender, id, _ string, attrs map[string]string) ([]byte, error) {
	return wirePacket{Kind: "stream_trailer", Sender: sender, StreamID: id, Attrs: attrs}.raw(), nil
}

func (jsonWire) RPCAck(sender, caller, req string) ([]byte, error) {
	return wirePacket{Kind: "rpc_ack", Sender: sender, To: caller, Request: req}.raw(), nil
}

func (jsonWire) RPCResponse(sender, caller, req, payload string, code uint32, _ string) ([]byte, error) {
	return wirePacket{Kind: "rpc_response", Sender: sender, To: caller, Request: req, Payload: payload, Code: code}.raw(), nil
}

func (jsonWire) Inflate(z []byte) ([]byte, error) { return nil, errors.New("not compressed here") }

func (jsonWire) Decode(raw []byte) (admin.AgentPacket, error) {
	var p wirePacket
	if err := json.Unmarshal(raw, &p); err != nil {
		return admin.AgentPacket{}, err
	}
	return admin.AgentPacket{Kind: p.Kind, StreamID: p.StreamID, Topic: p.Topic, Text: true, Content: []byte(p.Content),
		RequestID: p.Request, Method: p.Method, Payload: p.Payload}, nil
}

// ears is the media side: it records what the agent's voice does and lets
// the test play packets on a microphone the agent listens to.
type ears struct {
	mu      sync.Mutex
	spoken  []time.Duration
	hushes  int
	listens map[string]func(int)
}

type recVoice struct{ e *ears }

func (v recVoice) Speak(d time.Duration) {
	v.e.mu.Lock()
	v.e.spoken = append(v.e.spoken, d)
	v.e.mu.Unlock()
}
func (v recVoice) Hush()  { v.e.mu.Lock(); v.e.hushes++; v.e.mu.Unlock() }
func (v recVoice) Close() {}

func (e *ears) PlayVoice(_, _ string, _ []byte) (admin.Voice, error) { return recVoice{e}, nil }
func (e *ears) CheckFile(string, []byte) error                       { return nil }
func (e *ears) Listen(track string, fn func(int)) func() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.listens[track] = fn
	return func() { e.mu.Lock(); delete(e.listens, track); e.mu.Unlock() }
}

// speak plays ms of packets of size bytes on track, one every 20 ms.
func (e *ears) speak(track string, size, ms int) {
	for range ms / 20 {
		e.mu.Lock()
		fn := e.listens[track]
		e.mu.Unlock()
		if fn != nil {
			fn(size)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// client is a LiveKit-dialect participant's sink: it keeps the packets
// it receives.
type client struct {
	mu      sync.Mutex
	packets []wirePacket
}

func (c *client) Send(ev rooms.Event) bool {
	if ev.Kind == rooms.EventDataReceived && ev.Data.Raw != nil {
		var p wirePacket
		if json.Unmarshal(ev.Data.Raw, &p) == nil {
			c.mu.Lock()
			c.packets = append(c.packets, p)
			c.mu.Unlock()
		}
	}
	return true
}
func (c *client) Close(rooms.Reason) {}

// texts are the text streams the client received on topic, by sender:
// "sender: text".
func (c *client) texts(topic string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	open := map[string]string{}
	var out []string
	for _, p := range c.packets {
		switch p.Kind {
		case "stream_header":
			if p.Topic == topic {
				open[p.StreamID] = p.Sender + ": "
			}
		case "stream_chunk":
			if _, ok := open[p.StreamID]; ok {
				open[p.StreamID] += p.Content
			}
		case "stream_trailer":
			if s, ok := open[p.StreamID]; ok {
				out = append(out, s)
				delete(open, p.StreamID)
			}
		}
	}
	return out
}

func (c *client) find(kind string) (wirePacket, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.packets {
		if p.Kind == kind {
			return p, true
		}
	}
	return wirePacket{}, false
}

func journalOf(j *journal.Journal, typ string) []map[string]any {
	var out []map[string]any
	for _, e := range j.Query(journal.Filter{Types: []string{typ}}, 1000) {
		out = append(out, e.Detail)
	}
	return out
}

// A conversation with a scripted agent, on a fake clock: greeting, a
// speech turn answered after thinking, an interruption, chat, RPC.
func TestScriptedAgentConversation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		j := journal.New(journal.Options{})
		reg := rooms.NewRegistry(rooms.Options{IDs: ids.New(nil), Observer: admin.Observer(j),
			EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
		defer reg.Close()
		e := &ears{listens: map[string]func(int){}}
		a := admin.New(admin.Options{Registry: reg, Journal: j, Wire: jsonWire{}, Voices: e})
		defer a.Close()
		thinking := 300
		script := scripted.Script{
			Greeting:   "Hi",
			Replies:    []scripted.Reply{{When: "weather", Say: "Sunny all day"}, {Say: "You said: {text}"}},
			RPC:        map[string]string{"get_time": "noon"},
			Heard:      []string{"what is the weather"},
			ThinkingMS: &thinking,
		}
		info, err := a.AddFake(ctx, admin.Fake{Room: "r", Identity: "assistant", Agent: &script})
		if err != nil || info.Kind != "agent" || len(info.Tracks) != 1 || info.Tracks[0].Source != rooms.SourceMicrophone {
			t.Fatalf("AddFake: %+v %v", info, err)
		}
		c := &client{}
		user, err := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: "user", Dialect: rooms.DialectLiveKit,
			Permission: rooms.AllPermissions(), State: rooms.StateActive}, c)
		if err != nil {
			t.Fatal(err)
		}
		mic, err := user.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindAudio, Source: rooms.SourceMicrophone})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the greeting is said
		synctest.Wait()
		if got := c.texts(scripted.TopicTranscription); !slices.Equal(got, []string{"assistant: Hi"}) {
			t.Fatalf("transcriptions after joining: %q", got)
		}

		// Half a second of speech, then silence: a turn, heard as the
		// script's first entry and published as the user's.
		e.speak(mic.Sid, 120, 500)
		e.speak(mic.Sid, 3, 1000)
		synctest.Wait()
		heard := journalOf(j, journal.TypeAgentHeard)
		if len(heard) != 1 || heard[0]["text"] != "what is the weather" || heard[0]["via"] != "speech" {
			t.Fatalf("heard %v", heard)
		}
		if got := c.texts(scripted.TopicTranscription); len(got) != 2 || got[1] != "user: what is the weather" {
			t.Fatalf("transcriptions after speaking: %q", got)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := c.texts(scripted.TopicTranscription); len(got) != 3 || got[2] != "assistant: Sunny all day" {
			t.Fatalf("transcriptions after the answer: %q", got)
		}
		var states []any
		for _, d := range journalOf(j, journal.TypeAgentState) {
			states = append(states, d["state"])
		}
		want := []any{"listening", "speaking", "listening", "thinking", "speaking", "listening"}
		if !slices.Equal(states, want) {
			t.Errorf("states %v, want %v", states, want)
		}
		e.mu.Lock()
		spoken := slices.Clone(e.spoken)
		e.mu.Unlock()
		if len(spoken) != 2 || spoken[1] != scripted.SpeakingTime("Sunny all day") {
			t.Errorf("voice spoke %v", spoken)
		}

		// Speaking over the agent stops it.
		if err := a.Say(ctx, "r", "assistant", "This is a long story about the weather in the mountains in winter."); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		e.speak(mic.Sid, 120, 300)
		synctest.Wait()
		cut := journalOf(j, journal.TypeAgentInterrupted)
		if len(cut) != 1 || cut[0]["by"] != "user" {
			t.Fatalf("interruptions %v", cut)
		}
		e.mu.Lock()
		hushes := e.hushes
		e.mu.Unlock()
		if hushes != 1 {
			t.Errorf("voice hushed %d times, want 1", hushes)
		}
		e.speak(mic.Sid, 3, 1000)
		time.Sleep(5 * time.Second)
		synctest.Wait()

		// Chat text is a turn too; RPC is answered, unknown methods refused.
		send := func(p wirePacket) {
			t.Helper()
			kind := p.Kind
			if err := user.SendData(ctx, rooms.DataPacket{Kind: kind, Raw: p.raw(), Reliable: true, Destinations: []string{"assistant"}}); err != nil {
				t.Fatal(err)
			}
		}
		send(wirePacket{Kind: "stream_header", StreamID: "S1", Topic: scripted.TopicChat})
		send(wirePacket{Kind: "stream_chunk", StreamID: "S1", Content: "Book a "})
		send(wirePacket{Kind: "stream_chunk", StreamID: "S1", Content: "table"})
		send(wirePacket{Kind: "stream_trailer", StreamID: "S1"})
		send(wirePacket{Kind: "rpc_request", Request: "R1", Method: "launch"})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := c.texts(scripted.TopicTranscription); got[len(got)-1] != "assistant: You said: Book a table" {
			t.Errorf("last transcription %q", got[len(got)-1])
		}
		resp, ok := c.find("rpc_response")
		if _, acked := c.find("rpc_ack"); !ok || !acked || resp.Code != scripted.RPCUnsupportedMethod || resp.To != "user" {
			t.Errorf("rpc response %+v (acked %v)", resp, acked)
		}

		// Chat streams left open do not make the agent deaf to new ones.
		for i := range 20 {
			send(wirePacket{Kind: "stream_header", StreamID: fmt.Sprint("open-", i), Topic: scripted.TopicChat})
		}
		send(wirePacket{Kind: "stream_header", StreamID: "S2", Topic: scripted.TopicChat})
		send(wirePacket{Kind: "stream_chunk", StreamID: "S2", Content: "still there?"})
		send(wirePacket{Kind: "stream_trailer", StreamID: "S2"})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := c.texts(scripted.TopicTranscription); got[len(got)-1] != "assistant: You said: still there?" {
			t.Errorf("after 20 open chat streams, last transcription %q", got[len(got)-1])
		}

		// Say refuses what is not a scripted agent, or not there, and bad text.
		var ve *admin.ValidationError
		for _, text := range []string{"", "a\x00b", strings.Repeat("a", scripted.MaxText+1)} {
			if err := a.Say(ctx, "r", "assistant", text); !errors.As(err, &ve) || ve.Field != "text" {
				t.Errorf("Say(%.20q): %v", text, err)
			}
		}
		if err := a.Say(ctx, "r", "user", "hi"); !errors.Is(err, admin.ErrNotAgent) {
			t.Errorf("Say to a user: %v", err)
		}
		if err := a.Say(ctx, "r", "nobody", "hi"); !errors.Is(err, rooms.ErrParticipantNotFound) {
			t.Errorf("Say to nobody: %v", err)
		}
		_ = user.Leave(ctx, rooms.ReasonLeft)
	})
}

// Configured agents: dispatched by name (or "" for the default) into an
// existing room only, they leave with the last user; lk.chat user data is a
// turn as well as a text stream.
func TestDispatchedAgent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		j := journal.New(journal.Options{})
		reg := rooms.NewRegistry(rooms.Options{IDs: ids.New(nil), Observer: admin.Observer(j),
			EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
		defer reg.Close()
		catalog := scripted.Scripts{"support": {Greeting: "Support here", Replies: []scripted.Reply{{Say: "Noted: {text}"}}}}
		a := admin.New(admin.Options{Registry: reg, Journal: j, Wire: jsonWire{}, Catalog: catalog, DefaultAgent: "support"})
		defer a.Close()

		if _, err := a.DispatchAgent(ctx, "nowhere", "", "support"); !errors.Is(err, rooms.ErrRoomNotFound) {
			t.Fatalf("dispatch to a room that does not exist: %v", err)
		}
		if n, _ := reg.Counts(); n != 0 {
			t.Fatalf("dispatch created %d rooms", n)
		}
		c := &client{}
		user, err := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: "user", Dialect: rooms.DialectLiveKit,
			Permission: rooms.AllPermissions(), State: rooms.StateActive}, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.DispatchAgent(ctx, "r", "", "sales"); !errors.Is(err, admin.ErrNoScript) {
			t.Fatalf("dispatch of an unknown agent: %v", err)
		}
		info, err := a.DispatchAgent(ctx, "r", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if info.Kind != "agent" || info.Attributes[scripted.AttrName] != "support" || info.Name != "support" {
			t.Fatalf("dispatched %+v", info)
		}
		time.Sleep(2 * time.Second) // the greeting ends (a turn would cut it, as text input does an agent's speech)
		if err := user.SendData(ctx, rooms.DataPacket{Payload: []byte("my order is late"), Topic: scripted.TopicChat, Reliable: true}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		got := c.texts(scripted.TopicTranscription)
		if !slices.Equal(got, []string{info.Identity + ": Support here", info.Identity + ": Noted: my order is late"}) {
			t.Fatalf("transcriptions %q", got)
		}
		if err := user.Leave(ctx, rooms.ReasonLeft); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if _, err := reg.GetParticipant(ctx, "r", info.Identity); !errors.Is(err, rooms.ErrParticipantNotFound) && !errors.Is(err, rooms.ErrRoomNotFound) {
			t.Fatalf("the agent stayed after the last user left: %v", err)
		}
	})
}

// The embedded voice is a clip the media engine plays: one 20 ms Opus
// packet a page, seconds of it, and louder than silence.
func TestEmbeddedVoicePlays(t *testing.T) {
	b, err := os.ReadFile("assets/voice.ogg")
	if err != nil {
		t.Fatal(err)
	}
	clip, err := rtc.ParseOpusClip(b)
	if err != nil {
		t.Fatal(err)
	}
	if clip.Frames() < 100 {
		t.Errorf("voice has %d frames, want seconds of them", clip.Frames())
	}
}

// The agent listens to one participant, as the Agents framework links one:
// the first to arrive. Another one's microphone (a fake playing a tone, say)
// neither interrupts it nor makes turns; once the linked one leaves, the
// next one is heard.
func TestScriptedAgentHearsTheLinkedParticipant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		j := journal.New(journal.Options{})
		reg := rooms.NewRegistry(rooms.Options{IDs: ids.New(nil), Observer: admin.Observer(j),
			EmptyTimeout: time.Minute, DepartureTimeout: time.Minute})
		defer reg.Close()
		e := &ears{listens: map[string]func(int){}}
		a := admin.New(admin.Options{Registry: reg, Journal: j, Wire: jsonWire{}, Voices: e})
		defer a.Close()
		script := scripted.Script{Replies: []scripted.Reply{{Say: "You said: {text}"}}, Heard: []string{"hello"}}
		if _, err := a.AddFake(ctx, admin.Fake{Room: "r", Identity: "assistant", Agent: &script}); err != nil {
			t.Fatal(err)
		}
		join := func(identity string) (*rooms.Member, rooms.TrackInfo) {
			m, err := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: identity, Dialect: rooms.DialectLiveKit,
				Permission: rooms.AllPermissions(), State: rooms.StateActive}, &client{})
			if err != nil {
				t.Fatal(err)
			}
			mic, err := m.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindAudio, Source: rooms.SourceMicrophone})
			if err != nil {
				t.Fatal(err)
			}
			return m, mic
		}
		first, _ := join("first")
		_, otherMic := join("second")
		synctest.Wait()

		if err := a.Say(ctx, "r", "assistant", "A long announcement that takes a few seconds to say in full."); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		e.speak(otherMic.Sid, 120, 500)
		e.speak(otherMic.Sid, 3, 1000)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := len(journalOf(j, journal.TypeAgentInterrupted)); n != 0 {
			t.Fatalf("the second participant's microphone interrupted the agent %d times", n)
		}
		if heard := journalOf(j, journal.TypeAgentHeard); len(heard) != 0 {
			t.Fatalf("heard the second participant: %v", heard)
		}

		if err := first.Leave(ctx, rooms.ReasonLeft); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		e.speak(otherMic.Sid, 120, 500)
		e.speak(otherMic.Sid, 3, 1000)
		synctest.Wait()
		heard := journalOf(j, journal.TypeAgentHeard)
		if len(heard) != 1 || heard[0]["from"] != "second" || heard[0]["text"] != "hello" {
			t.Fatalf("after the first left: heard %v", heard)
		}
	})
}
