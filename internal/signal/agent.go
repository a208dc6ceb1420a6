package signal

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/agents"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// The /agent WebSocket of LiveKit Agents workers: binary protobuf
// WorkerMessage frames in, ServerMessage frames out, on the hub's sessions
// (caps, deadlines, pings, bounded outbox). What the messages mean is the
// agents.Dispatcher's business.

// Close reasons of the agent dialect.
const (
	CloseUnsupported      = 1003
	reasonAgentBinaryOnly = "binary protobuf WorkerMessage frames only"
	reasonAgentMalformed  = "malformed WorkerMessage"
	reasonAgentRegister   = "register first"
	reasonAgentTwice      = "already registered"
	reasonAgentTimeout    = "no register in time"
	reasonAgentJobType    = "unknown job type"
	reasonAgentUnavail    = "agent dispatch is closed"
)

// DefaultRegisterTimeout is how long a worker has to register (LiveKit's).
const DefaultRegisterTimeout = 10 * time.Second

// Dispatcher is what workers register with (*agents.Dispatcher).
type Dispatcher interface {
	Register(conn agents.Conn, r agents.Registration) (*agents.Worker, error)
}

// AgentOptions configure the agent dialect.
type AgentOptions struct {
	Dispatcher      Dispatcher
	Server          pbwire.ServerInfo
	RegisterTimeout time.Duration // default DefaultRegisterTimeout
	Now             func() time.Time
	Logger          *slog.Logger
}

// AgentDialect returns the dialect of /agent sessions.
func AgentDialect(o AgentOptions) Dialect {
	if o.RegisterTimeout <= 0 {
		o.RegisterTimeout = DefaultRegisterTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &agentDialect{o: o}
}

type agentDialect struct{ o AgentOptions }

const agentDialectName = "agent"

func (*agentDialect) Name() string { return agentDialectName }

// Limits are the LiveKit dialect's: workers are servers and send little.
func (*agentDialect) Limits() Limits {
	return Limits{ReadLimit: 2 << 20, Rate: 200, Burst: 400}
}

func (d *agentDialect) NewHandler(s *Session) Handler { return &agentHandler{o: &d.o, s: s} }

func (*agentDialect) RefuseHandshake(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

type agentHandler struct {
	o *AgentOptions
	s *Session

	mu     sync.Mutex // guards worker, timer (Open and Closed race the timer)
	worker *agents.Worker
	timer  *time.Timer
}

func (h *agentHandler) Open() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.timer = time.AfterFunc(h.o.RegisterTimeout, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.worker == nil {
			h.closeWith(ClosePolicy, reasonAgentTimeout)
		}
	})
}

func (h *agentHandler) closeWith(code int, text string) {
	h.s.end(cause{code: code, text: text, leave: rooms.ReasonClosed})
}

func (h *agentHandler) Message(mt int, data []byte) {
	if mt != BinaryMessage {
		h.closeWith(CloseUnsupported, reasonAgentBinaryOnly)
		return
	}
	msg, err := pbwire.ParseWorkerMessage(data)
	if err != nil {
		h.closeWith(CloseInvalidData, reasonAgentMalformed)
		return
	}
	h.mu.Lock()
	w := h.worker
	h.mu.Unlock()
	if msg.Kind == pbwire.WorkerRegister {
		if w != nil {
			h.closeWith(ClosePolicy, reasonAgentTwice)
			return
		}
		h.register(msg.Register)
		return
	}
	if w == nil {
		h.closeWith(ClosePolicy, reasonAgentRegister)
		return
	}
	switch msg.Kind {
	case pbwire.WorkerUpdate:
		w.Update(msg.Status, msg.Load)
	case pbwire.WorkerAvailability:
		if err := w.Answer(msg.JobID, msg.Answer); err != nil {
			h.o.Logger.Info("agent worker answered an offer that no longer waits", "worker", w.ID(), "job", msg.JobID)
		}
	case pbwire.WorkerUpdateJob:
		if err := w.UpdateJob(msg.JobID, msg.JobStatus, msg.JobError); err != nil {
			h.o.Logger.Info("agent worker updated an unknown job", "worker", w.ID(), "job", msg.JobID)
		}
	case pbwire.WorkerPing:
		h.s.Send(BinaryMessage, pbwire.WorkerPong(msg.Timestamp, h.o.Now()))
	}
}

func (h *agentHandler) register(r agents.Registration) {
	w, err := h.o.Dispatcher.Register(agentConn{h}, r)
	switch {
	case errors.Is(err, agents.ErrUnknownJobType):
		h.closeWith(ClosePolicy, reasonAgentJobType)
		return
	case err != nil:
		h.closeWith(CloseGoingAway, reasonAgentUnavail)
		return
	}
	h.mu.Lock()
	h.worker = w
	if h.timer != nil {
		h.timer.Stop()
	}
	h.mu.Unlock()
}

func (*agentHandler) Notice(string) (int, []byte, bool) { return 0, nil, false }

func (h *agentHandler) Closed(reason rooms.Reason) {
	h.mu.Lock()
	w := h.worker
	if h.timer != nil {
		h.timer.Stop()
	}
	h.mu.Unlock()
	if w != nil {
		w.Leave(string(reason))
	}
}

// agentConn is the session as the dispatcher's agents.Conn: every message
// is queued on the session's outbox (never blocks).
type agentConn struct{ h *agentHandler }

func (c agentConn) Registered(workerID string) {
	c.h.s.Send(BinaryMessage, pbwire.WorkerRegistered(workerID, c.h.o.Server))
}

func (c agentConn) Offer(job agents.Job) { c.h.s.Send(BinaryMessage, pbwire.JobOffer(job)) }

func (c agentConn) Assign(job agents.Job, token string) {
	c.h.s.Send(BinaryMessage, pbwire.JobAssigned(job, token))
}

func (c agentConn) Terminate(jobID string) { c.h.s.Send(BinaryMessage, pbwire.JobTerminated(jobID)) }
