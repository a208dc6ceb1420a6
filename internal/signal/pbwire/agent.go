package pbwire

import (
	"errors"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/agents"
)

// The agent workers' protocol on /agent (livekit_agent.proto): binary
// livekit.WorkerMessage frames in, livekit.ServerMessage frames out.

// AgentProtocol is the agent protocol version the server reports.
const AgentProtocol = 1

// WorkerMessageKind says which message a worker sent.
type WorkerMessageKind int

// Worker message kinds.
const (
	WorkerOther WorkerMessageKind = iota // simulateJob, migrateJob: ignored
	WorkerRegister
	WorkerAvailability
	WorkerUpdate
	WorkerUpdateJob
	WorkerPing
)

// WorkerMessage is a decoded WorkerMessage: Kind says which fields count.
type WorkerMessage struct {
	Kind     WorkerMessageKind
	Register agents.Registration // WorkerRegister
	JobID    string              // WorkerAvailability, WorkerUpdateJob
	Answer   agents.Answer       // WorkerAvailability
	// WorkerUpdate: Status nil keeps the status.
	Status *agents.WorkerStatus
	Load   float64
	// WorkerUpdateJob.
	JobStatus agents.JobStatus
	JobError  string
	Timestamp int64 // WorkerPing
}

// ErrEmptyWorkerMessage is a WorkerMessage with no message set.
var ErrEmptyWorkerMessage = errors.New("WorkerMessage carries no message")

// ParseWorkerMessage decodes one binary frame from a worker.
func ParseWorkerMessage(data []byte) (WorkerMessage, error) {
	var m livekit.WorkerMessage
	if err := proto.Unmarshal(data, &m); err != nil {
		return WorkerMessage{}, err
	}
	switch msg := m.Message.(type) {
	case *livekit.WorkerMessage_Register:
		r := msg.Register
		reg := agents.Registration{AgentName: r.AgentName, Type: agents.JobType(r.Type), Version: r.Version,
			Namespace: r.GetNamespace(), Permission: agents.DefaultPermission()}
		if p := r.AllowedPermissions; p != nil {
			reg.Permission = agents.Permission{CanPublish: p.CanPublish, CanSubscribe: p.CanSubscribe,
				CanPublishData: p.CanPublishData, CanUpdateMetadata: p.CanUpdateMetadata, Hidden: p.Hidden}
		}
		return WorkerMessage{Kind: WorkerRegister, Register: reg}, nil
	case *livekit.WorkerMessage_Availability:
		a := msg.Availability
		return WorkerMessage{Kind: WorkerAvailability, JobID: a.JobId, Answer: agents.Answer{
			Available: a.Available, Terminate: a.Terminate, Identity: a.ParticipantIdentity,
			Name: a.ParticipantName, Metadata: a.ParticipantMetadata, Attributes: a.ParticipantAttributes}}, nil
	case *livekit.WorkerMessage_UpdateWorker:
		u := msg.UpdateWorker
		out := WorkerMessage{Kind: WorkerUpdate, Load: float64(u.Load)}
		if u.Status != nil {
			s := agents.WorkerStatus(*u.Status)
			out.Status = &s
		}
		return out, nil
	case *livekit.WorkerMessage_UpdateJob:
		u := msg.UpdateJob
		return WorkerMessage{Kind: WorkerUpdateJob, JobID: u.JobId, JobStatus: agents.JobStatus(u.Status), JobError: u.Error}, nil
	case *livekit.WorkerMessage_Ping:
		return WorkerMessage{Kind: WorkerPing, Timestamp: msg.Ping.Timestamp}, nil
	case nil:
		return WorkerMessage{}, ErrEmptyWorkerMessage
	}
	return WorkerMessage{Kind: WorkerOther}, nil
}

func serverMessage(m *livekit.ServerMessage) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic("pbwire: marshal ServerMessage: " + err.Error()) // plain messages always marshal
	}
	return b
}

// WorkerRegistered answers a worker's register request.
func WorkerRegistered(workerID string, s ServerInfo) []byte {
	info := serverInfoProto(s)
	info.AgentProtocol = AgentProtocol
	return serverMessage(&livekit.ServerMessage{Message: &livekit.ServerMessage_Register{
		Register: &livekit.RegisterWorkerResponse{WorkerId: workerID, ServerInfo: info}}})
}

// JobOffer asks a worker whether it takes job (AvailabilityRequest).
func JobOffer(job agents.Job) []byte {
	return serverMessage(&livekit.ServerMessage{Message: &livekit.ServerMessage_Availability{
		Availability: &livekit.AvailabilityRequest{Job: JobProto(job)}}})
}

// JobAssigned gives a worker its job and the agent's token; the worker
// connects to its own server URL (url left unset, as LiveKit does).
func JobAssigned(job agents.Job, token string) []byte {
	return serverMessage(&livekit.ServerMessage{Message: &livekit.ServerMessage_Assignment{
		Assignment: &livekit.JobAssignment{Job: JobProto(job), Token: token}}})
}

// JobTerminated tells a worker to end a job.
func JobTerminated(jobID string) []byte {
	return serverMessage(&livekit.ServerMessage{Message: &livekit.ServerMessage_Termination{
		Termination: &livekit.JobTermination{JobId: jobID}}})
}

// WorkerPong answers a worker's ping.
func WorkerPong(last int64, now time.Time) []byte {
	return serverMessage(&livekit.ServerMessage{Message: &livekit.ServerMessage_Pong{
		Pong: &livekit.WorkerPong{LastTimestamp: last, Timestamp: now.UnixMilli()}}})
}

// JobProto is a job as livekit.Job (worker messages, ListDispatch).
func JobProto(j agents.Job) *livekit.Job {
	r := j.Room
	room := &livekit.Room{Sid: r.Sid, Name: r.Name, Metadata: r.Metadata,
		EmptyTimeout: uint32(r.EmptyTimeout / time.Second), DepartureTimeout: uint32(r.DepartureTimeout / time.Second),
		NumParticipants: uint32(max(0, r.NumParticipants))}
	if !r.CreatedAt.IsZero() {
		room.CreationTime, room.CreationTimeMs = r.CreatedAt.Unix(), r.CreatedAt.UnixMilli()
	}
	out := &livekit.Job{Id: j.ID, DispatchId: j.DispatchID, Type: livekit.JobType(j.Type), Room: room,
		Metadata: j.Metadata, AgentName: j.AgentName, State: &livekit.JobState{
			Status: livekit.JobStatus(j.Status), Error: j.Error, StartedAt: unixNano(j.StartedAt),
			EndedAt: unixNano(j.EndedAt), UpdatedAt: unixNano(j.UpdatedAt),
			ParticipantIdentity: j.Identity, WorkerId: j.WorkerID}}
	if p := j.Participant; p != nil {
		out.Participant = &livekit.ParticipantInfo{Sid: p.Sid, Identity: p.Identity, Name: p.Name,
			Metadata: p.Metadata, Attributes: p.Attributes, State: livekit.ParticipantInfo_ACTIVE}
	}
	return out
}

// DispatchProto is a dispatch as livekit.AgentDispatch.
func DispatchProto(d agents.Dispatch) *livekit.AgentDispatch {
	out := &livekit.AgentDispatch{Id: d.ID, AgentName: d.AgentName, Room: d.Room, Metadata: d.Metadata,
		State: &livekit.AgentDispatchState{CreatedAt: unixNano(d.CreatedAt), DeletedAt: unixNano(d.DeletedAt),
			Jobs: make([]*livekit.Job, 0, len(d.Jobs))}}
	for _, j := range d.Jobs {
		out.State.Jobs = append(out.State.Jobs, JobProto(j))
	}
	return out
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
