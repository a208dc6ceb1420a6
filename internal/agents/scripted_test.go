package agents

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// fakeScripted plays the agents it has scripts for.
type fakeScripted struct {
	mu      sync.Mutex
	scripts map[string]bool // agent name → has a script ("" the default)
	joined  []string        // room/agentName of each join
}

func (s *fakeScripted) Dispatch(_ context.Context, room, _, agentName string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.scripts[agentName] {
		return "", fmt.Errorf("%w: %q", ErrNoScript, agentName)
	}
	s.joined = append(s.joined, room+"/"+agentName)
	return "agent-scripted-" + agentName, nil
}

func (s *fakeScripted) joins() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.joined...)
}

// A room job that no worker takes goes to the scripted agent of its name, by
// the same rules: the default dispatch to the default script, a room's
// configured agents to theirs, a name without a script fails as "no worker".
func TestScriptedAgentsTakeJobsNoWorkerTakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &fakeScripted{scripts: map[string]bool{"": true, "support": true}}
		f := newFixture(t, Options{Scripted: s})
		f.d.Observe(roomStarted("plain", "RM_1"))
		f.d.Observe(roomStarted("configured", "RM_2", rooms.AgentDispatch{AgentName: "support"}, rooms.AgentDispatch{AgentName: "sales"}))
		synctest.Wait()
		got := s.joins()
		if len(got) != 2 || !contains(got, "plain/") || !contains(got, "configured/support") {
			t.Fatalf("scripted joins %v, want the default in plain and support in configured", got)
		}
		assigned := f.journal.find("agent_job_assigned", "plain")
		if len(assigned) != 1 || assigned[0].detail["scripted"] != true {
			t.Fatalf("plain: assigned %+v", assigned)
		}
		if failed := f.journal.find("agent_job_failed", "configured"); len(failed) != 1 || failed[0].detail["reason"] != FailNoWorker || failed[0].detail["agentName"] != "sales" {
			t.Fatalf("configured: failed %+v", failed)
		}
		// The job runs as the scripted agent: listed, and ended when it leaves.
		list := f.d.ListDispatch("configured", "")
		var running int
		for _, dp := range list {
			for _, j := range dp.Jobs {
				if j.Identity == "agent-scripted-support" && j.Status == JobRunning {
					running++
				}
			}
		}
		if running != 1 {
			t.Fatalf("ListDispatch: %+v", list)
		}
		f.d.Observe(rooms.Event{Kind: rooms.EventParticipantLeft, RoomName: "configured", RoomSid: "RM_2",
			Participant: rooms.ParticipantInfo{Identity: "agent-scripted-support"}})
		synctest.Wait()
		if ended := f.journal.find("agent_job_ended", "configured"); len(ended) != 1 {
			t.Fatalf("ended: %+v", ended)
		}
	})
}

// A registered worker comes first: the scripted agent plays only when no
// worker of that name is registered.
func TestAWorkerComesBeforeTheScriptedAgent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &fakeScripted{scripts: map[string]bool{"": true}}
		f := newFixture(t, Options{Scripted: s})
		_, c := f.register(t, "")
		f.d.Observe(roomStarted("r", "RM_1"))
		synctest.Wait()
		if job := c.lastOffer(t); job.Room.Name != "r" {
			t.Fatalf("offer %+v", job)
		}
		if got := s.joins(); len(got) != 0 {
			t.Fatalf("the scripted agent joined %v although a worker is registered", got)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
