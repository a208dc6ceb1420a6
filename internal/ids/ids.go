// Package ids makes the identifiers LiveKit clients expect: RM_, PA_, TR_ and
// the agents' AW_, AJ_, AD_ prefixes followed by twelve base62 characters, and UUIDs for generated
// identities. The randomness source is injected so that tests can be exact.
package ids

import (
	"crypto/rand"
	"fmt"
	"io"
	"sync"
)

// Prefixes used by LiveKit (protocol utils/guid).
const (
	RoomPrefix        = "RM_"
	ParticipantPrefix = "PA_"
	TrackPrefix       = "TR_"
	NodePrefix        = "ND_"
	EventPrefix       = "EV_"
	WorkerPrefix      = "AW_" // agent workers
	JobPrefix         = "AJ_" // agent jobs
	DispatchPrefix    = "AD_" // agent dispatches
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Generator hands out identifiers. It is safe for concurrent use.
type Generator struct {
	mu  sync.Mutex
	src io.Reader
}

// New returns a Generator reading randomness from src, or from crypto/rand
// when src is nil.
func New(src io.Reader) *Generator {
	if src == nil {
		src = rand.Reader
	}
	return &Generator{src: src}
}

func (g *Generator) read(b []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, err := io.ReadFull(g.src, b); err != nil {
		// crypto/rand never fails on Linux; a test reader that runs dry is a
		// test bug worth a loud failure.
		panic(fmt.Sprintf("ids: randomness source failed: %v", err))
	}
}

// WithPrefix returns prefix followed by twelve base62 characters.
func (g *Generator) WithPrefix(prefix string) string {
	var raw [12]byte
	g.read(raw[:])
	out := make([]byte, 0, len(prefix)+len(raw))
	out = append(out, prefix...)
	for _, b := range raw {
		// 62*4 = 248: reject-free mapping is slightly biased; identifiers
		// need uniqueness, not uniformity.
		out = append(out, alphabet[int(b)%len(alphabet)])
	}
	return string(out)
}

// RoomSid returns a new RM_ identifier.
func (g *Generator) RoomSid() string { return g.WithPrefix(RoomPrefix) }

// ParticipantSid returns a new PA_ identifier.
func (g *Generator) ParticipantSid() string { return g.WithPrefix(ParticipantPrefix) }

// TrackSid returns a new TR_ identifier.
func (g *Generator) TrackSid() string { return g.WithPrefix(TrackPrefix) }

// NodeID returns a new ND_ identifier.
func (g *Generator) NodeID() string { return g.WithPrefix(NodePrefix) }

// EventID returns a new EV_ identifier.
func (g *Generator) EventID() string { return g.WithPrefix(EventPrefix) }

// WorkerID returns a new AW_ identifier.
func (g *Generator) WorkerID() string { return g.WithPrefix(WorkerPrefix) }

// JobID returns a new AJ_ identifier.
func (g *Generator) JobID() string { return g.WithPrefix(JobPrefix) }

// DispatchID returns a new AD_ identifier.
func (g *Generator) DispatchID() string { return g.WithPrefix(DispatchPrefix) }

// UUID returns a random (version 4) UUID in its canonical text form.
func (g *Generator) UUID() string {
	var b [16]byte
	g.read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
