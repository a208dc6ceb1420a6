package livekitmock

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/admin"
	"github.com/livekit-mock/livekit-mock/internal/agents/scripted"
	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// agentWire gives scripted agents (internal/admin) the LiveKit packets of
// pbwire.
type agentWire struct{}

func (agentWire) StreamHeader(sender, streamID, topic string, attrs map[string]string, at time.Time) ([]byte, error) {
	return pbwire.StreamHeader(sender, streamID, topic, attrs, at)
}

func (agentWire) StreamChunk(sender, streamID string, index uint64, content []byte) ([]byte, error) {
	return pbwire.StreamChunk(sender, streamID, index, content)
}

func (agentWire) StreamTrailer(sender, streamID, reason string, attrs map[string]string) ([]byte, error) {
	return pbwire.StreamTrailer(sender, streamID, reason, attrs)
}

func (agentWire) RPCAck(sender, caller, requestID string) ([]byte, error) {
	return pbwire.RPCAck(sender, caller, requestID)
}

func (agentWire) RPCResponse(sender, caller, requestID, payload string, errCode uint32, errMsg string) ([]byte, error) {
	return pbwire.RPCResponse(sender, caller, requestID, payload, errCode, errMsg)
}

func (agentWire) Inflate(z []byte) ([]byte, error) { return pbwire.Inflate(z) }

func (agentWire) Decode(raw []byte) (admin.AgentPacket, error) {
	p, err := pbwire.DecodeStreamPacket(raw)
	return admin.AgentPacket{
		Kind: p.Kind, StreamID: p.StreamID, Topic: p.Topic, Text: p.Text, Inline: p.Inline,
		Compressed: p.Compressed, Content: p.Content, RequestID: p.RequestID, Method: p.Method, Payload: p.Payload,
	}, err
}

// agentVoices gives scripted agents the forwarder's voices and ears.
type agentVoices struct{ f *rtc.Forwarder }

func (v agentVoices) PlayVoice(publisherSID, trackSID string, speech []byte) (admin.Voice, error) {
	voice, err := v.f.PlayVoice(publisherSID, trackSID, speech)
	if err != nil {
		return nil, err // not a nil *rtc.Voice in a non-nil interface
	}
	return voice, nil
}

func (v agentVoices) Listen(trackSID string, fn func(size int)) (stop func()) {
	return v.f.Listen(trackSID, fn)
}

func (v agentVoices) CheckFile(kind string, file []byte) error { return v.f.CheckFile(kind, file) }

// loadAgents reads AGENTS_FILE into the catalog of scripted agents (the
// built-in assistant alone without it) and checks that AGENT_DEFAULT is in
// it.
func loadAgents(cfg *config.Config) (scripted.Scripts, error) {
	catalog := scripted.Scripts{scripted.BuiltinName: scripted.Builtin()}
	if cfg.AgentsFile != "" {
		f, err := os.Open(cfg.AgentsFile)
		if err != nil {
			return nil, &config.Error{Var: "AGENTS_FILE", Reason: "cannot be read: " + err.Error()}
		}
		b, err := io.ReadAll(io.LimitReader(f, scripted.MaxCatalogBytes+1))
		_ = f.Close()
		if err != nil {
			return nil, &config.Error{Var: "AGENTS_FILE", Reason: "cannot be read: " + err.Error()}
		}
		if catalog, err = scripted.ParseCatalog(b); err != nil {
			return nil, &config.Error{Var: "AGENTS_FILE", Reason: err.Error()}
		}
	}
	if cfg.AgentDefault != "" {
		if _, ok := catalog.Lookup(cfg.AgentDefault); !ok {
			return nil, &config.Error{Var: "AGENT_DEFAULT", Reason: fmt.Sprintf("names no agent of AGENTS_FILE (it has %v)", catalog.Names())}
		}
	}
	return catalog, nil
}
