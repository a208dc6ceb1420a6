package scripted

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
)

// Catalog finds the script of a named agent: what a dispatcher asks when a
// room wants an agent (by name, or the default one) and no worker has
// registered under that name.
type Catalog interface {
	Lookup(agentName string) (Script, bool)
}

// Scripts is a Catalog of named scripts.
type Scripts map[string]Script

// Lookup returns the script called agentName.
func (c Scripts) Lookup(agentName string) (Script, bool) {
	s, ok := c[agentName]
	return s, ok
}

// Names lists the catalog's agent names, sorted.
func (c Scripts) Names() []string {
	out := make([]string, 0, len(c))
	for n := range c {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// BuiltinName is the agent every catalog knows: a small assistant that
// greets, repeats what it hears and tells the time of day over RPC.
const BuiltinName = "assistant"

// Builtin is the script of BuiltinName.
func Builtin() Script {
	return Script{
		Greeting: "Hello! I am a scripted assistant. Say something and I will answer.",
		Replies: []Reply{
			{When: "hello", Say: "Hello to you too."},
			{Say: "You said: {text}"},
		},
		RPC:   map[string]string{"ping": "pong"},
		Heard: []string{"Hello there", "What can you do?"},
	}
}

// MaxCatalog bounds an agents file.
const (
	MaxCatalogBytes = 1 << 20
	MaxAgents       = 64
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// ValidName reports whether name may name an agent.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// ParseCatalog reads an agents file: a JSON object mapping agent names to
// scripts, e.g. {"support": {"greeting": "Hi"}}. The built-in assistant is
// added unless the file defines its own. Errors name the agent and field.
func ParseCatalog(b []byte) (Scripts, error) {
	if len(b) > MaxCatalogBytes {
		return nil, fmt.Errorf("must be at most %d MiB", MaxCatalogBytes>>20)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, errors.New(`must be a JSON object of agent names to scripts, e.g. {"support": {"greeting": "Hi"}}`)
	}
	if len(raw) > MaxAgents {
		return nil, fmt.Errorf("must define at most %d agents", MaxAgents)
	}
	c := Scripts{BuiltinName: Builtin()}
	for name, body := range raw {
		if !ValidName(name) {
			return nil, fmt.Errorf("agent name %q must be 1-64 characters of A-Z a-z 0-9 _ . -", name)
		}
		s, err := Parse(body)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) && fe.Field != "" {
				return nil, fmt.Errorf("%s.%s %s", name, fe.Field, fe.Rule)
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c[name] = s
	}
	return c, nil
}
