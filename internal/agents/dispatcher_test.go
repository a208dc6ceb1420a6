package agents

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// fakeConn is a worker's transport that records what the dispatcher sent.
type fakeConn struct {
	mu         sync.Mutex
	id         string
	offers     []Job
	assigned   []Job
	tokens     []string
	terminated []string
}

func (c *fakeConn) Registered(id string) { c.mu.Lock(); c.id = id; c.mu.Unlock() }
func (c *fakeConn) Offer(j Job)          { c.mu.Lock(); c.offers = append(c.offers, j); c.mu.Unlock() }
func (c *fakeConn) Assign(j Job, tok string) {
	c.mu.Lock()
	c.assigned, c.tokens = append(c.assigned, j), append(c.tokens, tok)
	c.mu.Unlock()
}
func (c *fakeConn) Terminate(id string) {
	c.mu.Lock()
	c.terminated = append(c.terminated, id)
	c.mu.Unlock()
}

func (c *fakeConn) lastOffer(t *testing.T) Job {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.offers) == 0 {
		t.Fatal("no offer")
	}
	return c.offers[len(c.offers)-1]
}

func (c *fakeConn) counts() (offers, assigned, terminated int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.offers), len(c.assigned), len(c.terminated)
}

type entry struct {
	typ, room, identity string
	detail              map[string]any
}

type fakeJournal struct {
	mu      sync.Mutex
	entries []entry
}

func (j *fakeJournal) Record(typ, room, identity string, detail map[string]any) {
	j.mu.Lock()
	j.entries = append(j.entries, entry{typ, room, identity, detail})
	j.mu.Unlock()
}

func (j *fakeJournal) find(typ, room string) []entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []entry
	for _, e := range j.entries {
		if e.typ == typ && (room == "" || e.room == room) {
			out = append(out, e)
		}
	}
	return out
}

type fakeRooms struct {
	mu      sync.Mutex
	removed []string
}

func (r *fakeRooms) RemoveParticipant(_ context.Context, room, identity string, _ rooms.Reason) error {
	r.mu.Lock()
	r.removed = append(r.removed, room+"/"+identity)
	r.mu.Unlock()
	return nil
}

type fixture struct {
	d       *Dispatcher
	journal *fakeJournal
	rooms   *fakeRooms
	verify  *auth.Verifier
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	f := &fixture{journal: &fakeJournal{}, rooms: &fakeRooms{}, verify: auth.NewVerifier(map[string]string{"devkey": "secret"}, nil)}
	o.Minter = auth.NewIssuer("devkey", "secret", nil)
	o.Journal, o.Rooms = f.journal, f.rooms
	f.d = New(o)
	t.Cleanup(f.d.Close)
	return f
}

func (f *fixture) register(t *testing.T, name string) (*Worker, *fakeConn) {
	t.Helper()
	c := &fakeConn{}
	w, err := f.d.Register(c, Registration{AgentName: name, Permission: DefaultPermission()})
	if err != nil {
		t.Fatal(err)
	}
	if c.id != w.ID() || len(c.id) != 15 || c.id[:3] != "AW_" {
		t.Fatalf("registered as %q, worker %q", c.id, w.ID())
	}
	return w, c
}

func roomStarted(name, sid string, agents ...rooms.AgentDispatch) rooms.Event {
	return rooms.Event{Kind: rooms.EventRoomStarted, RoomName: name, RoomSid: sid,
		Room: &rooms.RoomInfo{Name: name, Sid: sid, Agents: agents}}
}

func TestDefaultDispatchOfferedAssignedWithAgentToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Options{})
		w, c := f.register(t, "")
		_, named := f.register(t, "named")
		f.d.Observe(roomStarted("r", "RM_1"))
		synctest.Wait()
		job := c.lastOffer(t)
		if job.Room.Name != "r" || job.Room.Sid != "RM_1" || job.Type != JobRoom || job.AgentName != "" || job.ID[:3] != "AJ_" || job.DispatchID[:3] != "AD_" {
			t.Fatalf("offer: %+v", job)
		}
		if n, _, _ := named.counts(); n != 0 {
			t.Fatal("a named worker was offered the default dispatch")
		}
		if err := w.Answer(job.ID, Answer{Available: true, Attributes: map[string]string{"x": "y"}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		_, assigned, _ := c.counts()
		if assigned != 1 || c.assigned[0].Identity != "agent-"+job.ID || c.assigned[0].Status != JobRunning {
			t.Fatalf("assigned %d: %+v", assigned, c.assigned)
		}
		claims, err := f.verify.Verify(c.tokens[0])
		if err != nil {
			t.Fatal(err)
		}
		v := claims.Video
		if claims.Kind != "agent" || claims.Identity != "agent-"+job.ID || !v.Agent || !v.RoomJoin || v.Room != "r" ||
			claims.Attributes[AttrAgentName] != "" || claims.Attributes["x"] != "y" || len(claims.Attributes) != 3 {
			t.Fatalf("token claims: %+v video %+v", claims, v)
		}
		if got := claims.ExpiresAt.Sub(claims.IssuedAt); got != time.Hour {
			t.Fatalf("token valid for %v", got)
		}
		list := f.d.ListDispatch("r", "")
		if len(list) != 1 || len(list[0].Jobs) != 1 || list[0].Jobs[0].WorkerID != w.ID() {
			t.Fatalf("ListDispatch: %+v", list)
		}
		if len(f.journal.find("agent_job_assigned", "r")) != 1 {
			t.Fatal("no agent_job_assigned")
		}
	})
}

func TestRoomConfigAgentsReplaceTheDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Options{})
		_, unnamed := f.register(t, "")
		_, named := f.register(t, "interviewer")
		f.d.Observe(roomStarted("r", "RM_1", rooms.AgentDispatch{AgentName: "interviewer", Metadata: "m"}))
		synctest.Wait()
		if n, _, _ := unnamed.counts(); n != 0 {
			t.Fatal("the unnamed worker got a job in a room whose config lists agents")
		}
		if job := named.lastOffer(t); job.AgentName != "interviewer" || job.Metadata != "m" {
			t.Fatalf("offer: %+v", job)
		}
	})
}

func TestNoWorkerFailsAndALaterWorkerGetsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Options{})
		f.d.Observe(roomStarted("early", "RM_1"))
		synctest.Wait()
		failed := f.journal.find("agent_job_failed", "early")
		if len(failed) != 1 || failed[0].detail["reason"] != FailNoWorker {
			t.Fatalf("journal: %+v", failed)
		}
		_, c := f.register(t, "")
		time.Sleep(time.Minute)
		synctest.Wait()
		if n, _, _ := c.counts(); n != 0 {
			t.Fatal("a worker registered later got the early room")
		}
	})
}

func TestDeclineAndTimeoutTryTheNextWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Options{})
		var ws []*Worker
		var cs []*fakeConn
		for range 3 {
			w, c := f.register(t, "")
			ws, cs = append(ws, w), append(cs, c)
		}
		seen := map[int]bool{}
		next := func() (int, Job) { // the worker offered the job now
			t.Helper()
			for i, c := range cs {
				if n, _, _ := c.counts(); n == 1 && !seen[i] {
					seen[i] = true
					return i, c.lastOffer(t)
				}
			}
			t.Fatal("no new offer")
			return 0, Job{}
		}
		f.d.Observe(roomStarted("r", "RM_1"))
		synctest.Wait()
		i, job := next()
		if err := ws[i].Answer(job.ID, Answer{Available: false}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		_, job2 := next() // and it never answers
		if job2.ID != job.ID {
			t.Fatal("the retry is another job")
		}
		time.Sleep(DefaultOfferTimeout - time.Millisecond)
		synctest.Wait()
		if len(seen) != 2 {
			t.Fatal("the next worker was asked before the offer timed out")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		next()
		time.Sleep(DefaultOfferTimeout)
		synctest.Wait()
		failed := f.journal.find("agent_job_failed", "r")
		if len(failed) != 1 || failed[0].detail["reason"] != FailAllDeclined {
			t.Fatalf("journal: %+v", failed)
		}
		if got := len(f.journal.find("agent_job_offered", "r")); got != 3 {
			t.Fatalf("%d offers journaled", got)
		}
		if len(f.d.ListDispatch("r", "")[0].Jobs) != 0 {
			t.Fatal("a job no worker took is listed")
		}
	})
}

func TestFullOrOverloadedWorkersInProduction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Options{Production: true})
		w, c := f.register(t, "")
		w.Update(nil, 1)
		f.d.Observe(roomStarted("busy", "RM_2"))
		synctest.Wait()
		if n, _, _ := c.counts(); n != 0 {
			t.Fatal("production offered a job to a worker at load 1")
		}
		if failed := f.journal.find("agent_job_failed", "busy"); len(failed) != 1 || failed[0].detail["reason"] != FailNoCapacity {
			t.Fatalf("journal: %+v", failed)
		}
		full := WorkerFull
		w.Update(&full, 0)
		f.d.Observe(roomStarted("full", "RM_3"))
		synctest.Wait()
		if failed := f.journal.find("agent_job_failed", "full"); len(failed) != 1 || failed[0].detail["reason"] != FailNoWorker {
			t.Fatalf("journal: %+v", failed)
		}
	})
}

func TestWeightsFollowLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Options{Rand: func() float64 { return 0.99 }})
		w1, _ := f.register(t, "")
		w2, _ := f.register(t, "")
		w1.Update(nil, 0.2)
		w2.Update(nil, 1.5) // weight 0: never chosen while another has weight
		f.d.mu.Lock()
		defer f.d.mu.Unlock()
		pick := func(draw float64) *worker {
			f.d.o.Rand = func() float64 { return draw }
			got, overloaded, _ := f.d.pickLocked(&job{}, map[*worker]bool{})
			if overloaded {
				t.Fatal("overloaded pick while a worker has capacity")
			}
			return got
		}
		for _, draw := range []float64{0, 0.5, 0.99} {
			if got := pick(draw); got != w1.w {
				t.Fatalf("draw %v chose %v", draw, got.ID)
			}
		}
		// Loads 0.5 and 0: weights 0.5 and 1, so a third of the draws go to
		// the first, whichever order the candidates come in.
		w1.w.Load, w2.w.Load = 0.5, 0
		first := 0
		for i := range 300 {
			if pick((float64(i)+0.5)/300) == w1.w {
				first++
			}
		}
		if first != 100 {
			t.Fatalf("the worker at load 0.5 got %d of 300 draws", first)
		}
	})
}

func TestNaNLoadCountsAsBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Options{Production: true})
		w, c := f.register(t, "")
		w.Update(nil, math.NaN())
		f.d.Observe(roomStarted("r", "RM_1"))
		synctest.Wait()
		if n, _, _ := c.counts(); n != 0 {
			t.Fatal("a worker reporting a NaN load was offered a job in production")
		}
		if failed := f.journal.find("agent_job_failed", "r"); len(failed) != 1 || failed[0].detail["reason"] != FailNoCapacity {
			t.Fatalf("journal: %+v", failed)
		}
	})
}

func TestOverloadedWorkerStillChosenInDevelopment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Options{})
		w, c := f.register(t, "")
		w.Update(nil, 1)
		f.d.Observe(roomStarted("r", "RM_1"))
		synctest.Wait()
		job := c.lastOffer(t)
		offered := f.journal.find("agent_job_offered", "r")
		if len(offered) != 1 || offered[0].detail["warning"] == nil {
			t.Fatalf("journal: %+v", offered)
		}
		if err := w.Answer(job.ID, Answer{Available: true}); err != nil {
			t.Fatal(err)
		}
	})
}

// assigned registers a worker, starts room r and lets the worker take it.
func assigned(t *testing.T, f *fixture) (*Worker, *fakeConn, Job) {
	t.Helper()
	w, c := f.register(t, "")
	f.d.Observe(roomStarted("r", "RM_1"))
	synctest.Wait()
	job := c.lastOffer(t)
	if err := w.Answer(job.ID, Answer{Available: true}); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	return w, c, c.assigned[0]
}

func TestTerminations(t *testing.T) {
	left := func(reason rooms.Reason, identity string) rooms.Event {
		return rooms.Event{Kind: rooms.EventParticipantLeft, RoomName: "r", RoomSid: "RM_1",
			Participant: rooms.ParticipantInfo{Identity: identity}, Reason: reason}
	}
	t.Run("agent leaves", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, Options{})
			_, c, job := assigned(t, f)
			f.d.Observe(left(rooms.ReasonLeft, "someone-else"))
			if _, _, n := c.counts(); n != 0 {
				t.Fatal("terminated when another participant left")
			}
			f.d.Observe(left(rooms.ReasonLeft, job.Identity))
			if _, _, n := c.counts(); n != 1 || c.terminated[0] != job.ID {
				t.Fatalf("terminated: %v", c.terminated)
			}
			ended := f.journal.find("agent_job_ended", "r")
			if len(ended) != 1 || ended[0].detail["reason"] != EndAgentLeft || ended[0].identity != job.Identity {
				t.Fatalf("journal: %+v", ended)
			}
		})
	})
	t.Run("room closes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, Options{})
			_, c, job := assigned(t, f)
			f.d.Observe(rooms.Event{Kind: rooms.EventRoomClosed, RoomName: "r", RoomSid: "RM_OTHER"})
			if _, _, n := c.counts(); n != 0 {
				t.Fatal("another room of the same name closing ended the job")
			}
			f.d.Observe(left(rooms.ReasonRoomDeleted, job.Identity))
			f.d.Observe(rooms.Event{Kind: rooms.EventRoomClosed, RoomName: "r", RoomSid: "RM_1"})
			if _, _, n := c.counts(); n != 1 {
				t.Fatal("no termination")
			}
			if ended := f.journal.find("agent_job_ended", "r"); len(ended) != 1 || ended[0].detail["reason"] != EndRoomClosed {
				t.Fatalf("journal: %+v", ended)
			}
			if len(f.d.ListDispatch("r", "")) != 0 {
				t.Fatal("a closed room keeps its dispatches")
			}
		})
	})
	t.Run("a new room of the same name starts before the old one's close is told", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, Options{})
			_, c, job := assigned(t, f)
			f.d.Observe(roomStarted("r", "RM_2"))
			if _, _, n := c.counts(); n != 1 || c.terminated[0] != job.ID {
				t.Fatalf("terminated: %v", c.terminated)
			}
			f.d.Observe(rooms.Event{Kind: rooms.EventRoomClosed, RoomName: "r", RoomSid: "RM_1"})
			if list := f.d.ListDispatch("r", ""); len(list) != 1 || len(list[0].Jobs) != 0 {
				t.Fatalf("the new room's dispatches: %+v", list)
			}
		})
	})
	t.Run("dispatch deleted: terminated, removed 3 s later", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, Options{})
			_, c, job := assigned(t, f)
			dp, err := f.d.DeleteDispatch("r", job.DispatchID)
			if err != nil || dp.DeletedAt.IsZero() {
				t.Fatal(dp, err)
			}
			if _, _, n := c.counts(); n != 1 {
				t.Fatal("no termination")
			}
			time.Sleep(DefaultLeaveGrace - time.Millisecond)
			synctest.Wait()
			f.rooms.mu.Lock()
			early := len(f.rooms.removed)
			f.rooms.mu.Unlock()
			time.Sleep(time.Millisecond)
			synctest.Wait()
			f.rooms.mu.Lock()
			defer f.rooms.mu.Unlock()
			if early != 0 || len(f.rooms.removed) != 1 || f.rooms.removed[0] != "r/"+job.Identity {
				t.Fatalf("removed early=%d then %v", early, f.rooms.removed)
			}
			if _, err := f.d.DeleteDispatch("r", job.DispatchID); err != ErrDispatchNotFound {
				t.Fatalf("second delete: %v", err)
			}
		})
	})
	t.Run("worker leaves", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, Options{})
			w, c, _ := assigned(t, f)
			w.Leave("closed")
			w.Leave("closed") // idempotent
			if _, _, n := c.counts(); n != 0 {
				t.Fatal("a gone worker was sent a termination")
			}
			if workers, jobs := f.d.Counts(); workers != 0 || jobs != 0 {
				t.Fatalf("counts %d %d", workers, jobs)
			}
			if ended := f.journal.find("agent_job_ended", "r"); len(ended) != 1 || ended[0].detail["reason"] != EndWorkerLeft {
				t.Fatalf("journal: %+v", ended)
			}
			if len(f.journal.find("agent_worker_left", "")) != 1 {
				t.Fatal("no agent_worker_left")
			}
		})
	})
}

func TestCreateDispatchOnAnExistingRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Options{})
		if _, err := f.d.CreateDispatch("nowhere", "x", ""); err != ErrRoomNotFound {
			t.Fatalf("no room: %v", err)
		}
		f.d.Observe(roomStarted("r", "RM_1"))
		w, c := f.register(t, "named")
		dp, err := f.d.CreateDispatch("r", "named", "meta")
		if err != nil || dp.AgentName != "named" || dp.Metadata != "meta" || dp.Room != "r" {
			t.Fatal(dp, err)
		}
		synctest.Wait()
		job := c.lastOffer(t)
		if job.DispatchID != dp.ID || job.Metadata != "meta" {
			t.Fatalf("offer %+v", job)
		}
		if list := f.d.ListDispatch("r", ""); len(list) != 2 {
			t.Fatalf("default and named: %+v", list)
		}
		if list := f.d.ListDispatch("r", dp.ID); len(list) != 1 || list[0].ID != dp.ID {
			t.Fatalf("by id: %+v", list)
		}
		if err := w.Answer("AJ_unknown", Answer{Available: true}); err != ErrUnknownJob {
			t.Fatalf("unknown job: %v", err)
		}
	})
}

func TestParticipantJobsOnlyForParticipantWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Options{})
		c := &fakeConn{}
		if _, err := f.d.Register(c, Registration{Type: JobParticipant}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.d.Register(&fakeConn{}, Registration{Type: 7}); err != ErrUnknownJobType {
			t.Fatalf("job type 7: %v", err)
		}
		f.d.Observe(roomStarted("r", "RM_1")) // the room job finds no room worker
		join := func(identity, kind string) {
			f.d.Observe(rooms.Event{Kind: rooms.EventParticipantJoined, RoomName: "r", RoomSid: "RM_1",
				Participant: rooms.ParticipantInfo{Identity: identity, Kind: kind}})
		}
		join("alice", "")
		join("agent-x", "agent")
		synctest.Wait()
		if n, _, _ := c.counts(); n != 1 {
			t.Fatalf("%d offers", n)
		}
		if job := c.lastOffer(t); job.Type != JobParticipant || job.Participant == nil || job.Participant.Identity != "alice" {
			t.Fatalf("offer %+v", job)
		}
	})
}

// fakeRemote is another instance with a worker that takes every job.
type fakeRemote struct {
	mu         sync.Mutex
	offered    []Job
	terminated []string
	take       bool
}

func (r *fakeRemote) Offer(_ context.Context, j Job) (Job, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.offered = append(r.offered, j)
	if !r.take {
		return Job{}, "", ErrUnknownJob
	}
	j.Status, j.Identity, j.WorkerID = JobRunning, "agent-"+j.ID, "AW_remote"
	return j, "http://b", nil
}

func (r *fakeRemote) Terminate(_ context.Context, instance, jobID, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.terminated = append(r.terminated, instance+" "+jobID+" "+reason)
}

func TestJobsGoToAnotherInstanceWhenNoWorkerHere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		remote := &fakeRemote{take: true}
		f := newFixture(t, Options{Remote: remote})
		f.d.Observe(roomStarted("r", "RM_1"))
		synctest.Wait()
		assigned := f.journal.find("agent_job_assigned", "r")
		if len(remote.offered) != 1 || len(assigned) != 1 || assigned[0].detail["instance"] != "http://b" {
			t.Fatalf("offered %v, journal %+v", remote.offered, assigned)
		}
		job := remote.offered[0]
		f.d.Observe(rooms.Event{Kind: rooms.EventParticipantLeft, RoomName: "r", RoomSid: "RM_1",
			Participant: rooms.ParticipantInfo{Identity: "agent-" + job.ID}, Reason: rooms.ReasonLeft})
		synctest.Wait()
		remote.mu.Lock()
		terminated := slices.Clone(remote.terminated)
		remote.take = false // nobody there either from now on
		remote.mu.Unlock()
		if len(terminated) != 1 || terminated[0] != "http://b "+job.ID+" "+EndAgentLeft {
			t.Fatalf("terminated: %v", terminated)
		}
		f.d.Observe(roomStarted("s", "RM_2"))
		synctest.Wait()
		if failed := f.journal.find("agent_job_failed", "s"); len(failed) != 1 || failed[0].detail["reason"] != FailNoWorker {
			t.Fatalf("journal: %+v", failed)
		}
	})
}

func TestForeignJobsRunOnLocalWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Options{Remote: &fakeRemote{}})
		w, c := f.register(t, "")
		type result struct {
			job Job
			err error
		}
		done := make(chan result, 1)
		go func() {
			j, err := f.d.OfferForeign(Job{ID: "AJ_foreign", DispatchID: "AD_x", Room: Room{Name: "elsewhere", Sid: "RM_9"}})
			done <- result{j, err}
		}()
		synctest.Wait()
		if err := w.Answer("AJ_foreign", Answer{Available: true}); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || r.job.Status != JobRunning || r.job.Identity != "agent-AJ_foreign" || r.job.WorkerID != w.ID() {
			t.Fatalf("%+v %v", r.job, r.err)
		}
		if _, assigned, _ := c.counts(); assigned != 1 || c.tokens[0] == "" {
			t.Fatal("the local worker was not assigned the foreign job")
		}
		f.d.TerminateForeign("AJ_foreign", EndRoomClosed)
		if _, _, n := c.counts(); n != 1 {
			t.Fatal("no termination for the foreign job")
		}
		// Declined: an error, and nothing left behind.
		go func() {
			_, err := f.d.OfferForeign(Job{ID: "AJ_foreign2", Room: Room{Name: "elsewhere"}})
			done <- result{err: err}
		}()
		synctest.Wait()
		_ = w.Answer("AJ_foreign2", Answer{Available: false})
		if r := <-done; r.err == nil {
			t.Fatal("a declined foreign job reported success")
		}
		if workers, jobs := f.d.Counts(); workers != 1 || jobs != 0 {
			t.Fatalf("counts %d %d", workers, jobs)
		}
	})
}
