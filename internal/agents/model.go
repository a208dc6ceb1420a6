// Package agents is the worker side of LiveKit Agents without a transport:
// the registry of workers, the dispatches of each room, and the jobs that
// put an agent into a room (offer, assignment with a token, termination).
//
// The rules are the real server's (livekit-server 1.13.5): every room gets
// its dispatches when it is created (the unnamed agent by default, or
// exactly the agents of the room's configuration); a dispatch goes only to
// workers registered with its agent name; among available workers the choice
// is random, weighted by 1-load; an offer waits 10 s and a refusal tries the
// next worker; a room created while no matching worker is registered gets no
// agent later. One deliberate difference: in development a worker reporting
// load ≥ 1 is still chosen when no other is (the Node worker reports the
// whole machine's CPU), with a warning.
//
// A worker is anything that implements Conn: the /agent WebSocket session
// (internal/signal) or, later, an agent run inside the server.
package agents

import (
	"errors"
	"time"
)

// JobType is LiveKit's JobType: what a job is about.
type JobType int32

// Job types.
const (
	JobRoom        JobType = 0 // one job per room
	JobPublisher   JobType = 1 // one per participant that publishes
	JobParticipant JobType = 2 // one per participant
)

func (t JobType) String() string {
	switch t {
	case JobRoom:
		return "room"
	case JobPublisher:
		return "publisher"
	case JobParticipant:
		return "participant"
	}
	return "unknown"
}

// JobStatus is LiveKit's JobStatus.
type JobStatus int32

// Job statuses.
const (
	JobPending JobStatus = 0
	JobRunning JobStatus = 1
	JobSuccess JobStatus = 2
	JobFailed  JobStatus = 3
)

func (s JobStatus) String() string {
	switch s {
	case JobPending:
		return "pending"
	case JobRunning:
		return "running"
	case JobSuccess:
		return "success"
	case JobFailed:
		return "failed"
	}
	return "unknown"
}

// WorkerStatus is LiveKit's WorkerStatus.
type WorkerStatus int32

// Worker statuses.
const (
	WorkerAvailable WorkerStatus = 0
	WorkerFull      WorkerStatus = 1
)

func (s WorkerStatus) String() string {
	if s == WorkerFull {
		return "full"
	}
	return "available"
}

// Why jobs end (the journal's agent_job_ended reason).
const (
	EndAgentLeft       = "agent_left_room"
	EndRoomClosed      = "room_closed"
	EndDispatchDeleted = "dispatch_deleted"
	EndWorkerLeft      = "worker_disconnected"
	EndWorkerReported  = "worker_reported"
	EndReset           = "reset"
	EndShutdown        = "server_shutdown"
)

// Why a job found no worker (agent_job_failed).
const (
	FailNoWorker    = "no worker"
	FailNoCapacity  = "no workers with sufficient capacity"
	FailAllDeclined = "every worker declined or did not answer"
	FailToken       = "the agent token could not be minted"
)

// Errors of the dispatch API.
var (
	ErrDispatchNotFound = errors.New("dispatch ID not found")
	ErrRoomNotFound     = errors.New("room not found")
	ErrRegistered       = errors.New("worker already registered")
	ErrUnknownJobType   = errors.New("unknown job type")
	ErrUnknownJob       = errors.New("no such job offered to this worker")
	ErrClosed           = errors.New("agent dispatcher is closed")
)

// Room is what a job tells its worker about the room.
type Room struct {
	Name             string
	Sid              string
	Metadata         string
	CreatedAt        time.Time
	EmptyTimeout     time.Duration
	DepartureTimeout time.Duration
	NumParticipants  int
}

// Participant is the subject of a publisher or participant job.
type Participant struct {
	Sid        string
	Identity   string
	Name       string
	Metadata   string
	Kind       string
	Attributes map[string]string
}

// Job is a copy of one job's state.
type Job struct {
	ID          string
	DispatchID  string
	Type        JobType
	AgentName   string
	Metadata    string // the dispatch's
	Room        Room
	Participant *Participant // publisher and participant jobs

	Status    JobStatus
	Error     string
	StartedAt time.Time
	UpdatedAt time.Time
	EndedAt   time.Time
	WorkerID  string
	// Identity is the agent participant's identity, once assigned.
	Identity string
}

// Dispatch is a copy of one dispatch with its jobs.
type Dispatch struct {
	ID        string
	AgentName string
	Room      string
	Metadata  string
	CreatedAt time.Time
	DeletedAt time.Time
	Jobs      []Job
}

// Permission is what an agent participant may do (the worker's
// allowedPermissions; LiveKit's defaults when the worker sent none).
type Permission struct {
	CanPublish        bool
	CanSubscribe      bool
	CanPublishData    bool
	CanUpdateMetadata bool
	Hidden            bool
}

// DefaultPermission is LiveKit's default for a worker that sends none.
func DefaultPermission() Permission {
	return Permission{CanPublish: true, CanSubscribe: true, CanPublishData: true, CanUpdateMetadata: true}
}

// Registration is a worker's register request.
type Registration struct {
	AgentName  string
	Type       JobType
	Version    string
	Namespace  string
	Permission Permission
}

// Answer is a worker's answer to an offer (LiveKit's AvailabilityResponse).
type Answer struct {
	Available bool
	// Terminate: the job is done without running (counted a success).
	Terminate  bool
	Identity   string // of the agent participant; default "agent-"+job id
	Name       string
	Metadata   string
	Attributes map[string]string
}

// WorkerInfo is a copy of a registered worker's state.
type WorkerInfo struct {
	ID           string
	AgentName    string
	Type         JobType
	Version      string
	Status       WorkerStatus
	Load         float64
	Jobs         int
	RegisteredAt time.Time
}

// Conn is how the dispatcher reaches one worker. Its methods are called
// with the dispatcher's lock held: they must not block or call back into
// the dispatcher (queue the message and return).
type Conn interface {
	// Registered answers the register request; it comes before any offer.
	Registered(workerID string)
	// Offer asks whether the worker takes job (AvailabilityRequest).
	Offer(job Job)
	// Assign gives the worker the job and the token its agent joins with.
	Assign(job Job, token string)
	// Terminate tells the worker to end the job.
	Terminate(jobID string)
}
