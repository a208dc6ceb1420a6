package httpapi

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/agents"
)

// AgentsView is what GET /__admin/agents shows (*agents.Dispatcher).
type AgentsView interface {
	Workers() []agents.WorkerInfo
	Dispatches() map[string][]agents.Dispatch
}

type agentWorkerJSON struct {
	ID           string    `json:"id"`
	AgentName    string    `json:"agentName"`
	JobType      string    `json:"jobType"`
	Version      string    `json:"version"`
	Status       string    `json:"status"`
	Load         float64   `json:"load"`
	Jobs         int       `json:"jobs"`
	RegisteredAt time.Time `json:"registeredAt"`
}

type agentJobJSON struct {
	ID        string    `json:"id"`
	JobType   string    `json:"jobType"`
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	Worker    string    `json:"worker,omitempty"`
	Identity  string    `json:"identity,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
}

type agentDispatchJSON struct {
	ID        string         `json:"id"`
	AgentName string         `json:"agentName"`
	Metadata  string         `json:"metadata"`
	CreatedAt time.Time      `json:"createdAt"`
	Jobs      []agentJobJSON `json:"jobs"`
}

type agentRoomJSON struct {
	Room       string              `json:"room"`
	Dispatches []agentDispatchJSON `json:"dispatches"`
}

// handleAdminAgents lists the agent workers and every room's dispatches
// with their jobs (the dashboard's Agents panel).
func (a *api) handleAdminAgents(c *gin.Context) {
	workers := []agentWorkerJSON{}
	for _, w := range a.Agents.Workers() {
		workers = append(workers, agentWorkerJSON{ID: w.ID, AgentName: w.AgentName, JobType: w.Type.String(),
			Version: w.Version, Status: w.Status.String(), Load: w.Load, Jobs: w.Jobs, RegisteredAt: w.RegisteredAt})
	}
	roomList := []agentRoomJSON{}
	for room, list := range a.Agents.Dispatches() {
		r := agentRoomJSON{Room: room, Dispatches: []agentDispatchJSON{}}
		for _, d := range list {
			dj := agentDispatchJSON{ID: d.ID, AgentName: d.AgentName, Metadata: d.Metadata, CreatedAt: d.CreatedAt, Jobs: []agentJobJSON{}}
			for _, j := range d.Jobs {
				dj.Jobs = append(dj.Jobs, agentJobJSON{ID: j.ID, JobType: j.Type.String(), Status: j.Status.String(),
					Error: j.Error, Worker: j.WorkerID, Identity: j.Identity, StartedAt: j.StartedAt, EndedAt: j.EndedAt})
			}
			r.Dispatches = append(r.Dispatches, dj)
		}
		roomList = append(roomList, r)
	}
	slices.SortFunc(roomList, func(x, y agentRoomJSON) int { return cmp.Compare(x.Room, y.Room) })
	c.JSON(http.StatusOK, gin.H{"workers": workers, "rooms": roomList})
}
