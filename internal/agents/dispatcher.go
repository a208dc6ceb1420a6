package agents

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Timings of the real server.
const (
	DefaultOfferTimeout = 10 * time.Second // AssignJobTimeout
	DefaultLeaveGrace   = 3 * time.Second  // an agent still in the room after DeleteDispatch is removed
	tokenTTL            = time.Hour        // of the agent token
)

// Agent attributes LiveKit sets on an agent participant.
const (
	AttrAgentName       = "lk.agent.name"
	attrAgentNameLegacy = "lk.agent_name"
)

// Minter signs agent tokens (*auth.Issuer).
type Minter interface {
	Mint(c auth.Claims, ttl time.Duration) (string, time.Time, error)
}

// Rooms removes an agent that stays in its room after its dispatch was
// deleted (*rooms.Registry).
type Rooms interface {
	RemoveParticipant(ctx context.Context, room, identity string, reason rooms.Reason) error
}

// Remote reaches the workers of other instances (several instances): a job
// no worker here can take is offered there.
type Remote interface {
	// Offer asks the other instances' workers to take job; it returns the
	// job as assigned there, and where (an instance URL).
	Offer(ctx context.Context, job Job) (assigned Job, instance string, err error)
	// Terminate tells that instance to end the job it runs.
	Terminate(ctx context.Context, instance, jobID, reason string)
}

// Scripted plays agents the server runs itself (scripted agents): a job that
// no worker registered here can take goes to one when its agent name names
// a script.
type Scripted interface {
	// Dispatch joins the scripted agent agentName ("": the default one) to
	// the room; it returns the agent's identity, or ErrNoScript (wrapped)
	// when no script has that name.
	Dispatch(ctx context.Context, room, roomSid, agentName string) (identity string, err error)
}

// ErrNoScript: no scripted agent has the job's agent name.
var ErrNoScript = errors.New("no scripted agent of that name")

// Journal records what happens to workers and jobs (*journal.Journal).
type Journal interface {
	Record(typ, room, identity string, detail map[string]any)
}

// Options configure a Dispatcher.
type Options struct {
	Minter Minter // required
	Rooms  Rooms  // optional: without it a lingering agent stays
	Remote Remote // optional: the workers of other instances
	// Scripted takes room jobs no worker here can take; optional.
	Scripted Scripted
	Journal  Journal
	IDs      *ids.Generator
	Now      func() time.Time
	Logger   *slog.Logger
	// Production keeps LiveKit's refusal of workers reporting load ≥ 1;
	// otherwise such a worker is still chosen when no other is.
	Production   bool
	OfferTimeout time.Duration // default DefaultOfferTimeout
	LeaveGrace   time.Duration // default DefaultLeaveGrace
	Rand         func() float64
}

// Dispatcher is the registry of workers and the dispatches of every room
// on this instance. It observes the rooms (rooms.Observer). Safe for
// concurrent use.
type Dispatcher struct {
	o      Options
	log    *slog.Logger
	ctx    context.Context // cancelled by Close: ends offers and removals
	cancel context.CancelFunc
	wg     sync.WaitGroup // offers and removals in flight

	mu      sync.Mutex // guards the fields below and every worker, room, dispatch and job
	closed  bool
	workers map[string]*worker
	rooms   map[string]*roomAgents
	foreign map[string]*job // jobs of rooms homed on other instances, by id
}

type worker struct {
	WorkerInfo
	reg    Registration
	conn   Conn
	jobs   map[string]*job        // assigned, not ended
	offers map[string]chan Answer // offers waiting for an answer
	gone   chan struct{}          // closed when the worker leaves
}

type roomAgents struct {
	room       Room
	dispatches []*dispatch
	published  map[string]bool // participants that got their publisher jobs
}

type dispatch struct {
	Dispatch        // Jobs unused: see jobs
	jobs     []*job // launched, in order; listed once assigned
}

type job struct {
	Job
	ra    *roomAgents
	dp    *dispatch
	w     *worker       // once assigned
	done  chan struct{} // closed when the job ends
	ended bool
	// remote: the instance whose worker runs this job (URL); foreign: the
	// job's room is homed on another instance (OfferForeign).
	remote  string
	foreign bool
}

// New returns a Dispatcher; Close ends it.
func New(o Options) *Dispatcher {
	if o.IDs == nil {
		o.IDs = ids.New(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OfferTimeout <= 0 {
		o.OfferTimeout = DefaultOfferTimeout
	}
	if o.LeaveGrace <= 0 {
		o.LeaveGrace = DefaultLeaveGrace
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{o: o, log: log, ctx: ctx, cancel: cancel,
		workers: map[string]*worker{}, rooms: map[string]*roomAgents{}, foreign: map[string]*job{}}
}

func (d *Dispatcher) record(typ, room, identity string, detail map[string]any) {
	if d.o.Journal != nil {
		d.o.Journal.Record(typ, room, identity, detail)
	}
}

// Worker is a registered worker, as its transport holds it.
type Worker struct {
	d *Dispatcher
	w *worker
}

// Register adds a worker. conn.Registered is called before the worker can
// receive an offer.
func (d *Dispatcher) Register(conn Conn, r Registration) (*Worker, error) {
	if r.Type < JobRoom || r.Type > JobParticipant {
		return nil, ErrUnknownJobType
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	w := &worker{
		WorkerInfo: WorkerInfo{ID: d.o.IDs.WorkerID(), AgentName: r.AgentName, Type: r.Type, Version: r.Version,
			Status: WorkerAvailable, RegisteredAt: d.o.Now().UTC()},
		reg: r, conn: conn, jobs: map[string]*job{}, offers: map[string]chan Answer{}, gone: make(chan struct{}),
	}
	conn.Registered(w.ID)
	d.workers[w.ID] = w
	d.record(journal.TypeAgentWorkerRegistered, "", "", map[string]any{
		"worker": w.ID, "agentName": r.AgentName, "jobType": r.Type.String(), "version": r.Version})
	d.log.Info("agent worker registered", "worker", w.ID, "agent_name", r.AgentName, "job_type", r.Type.String())
	return &Worker{d: d, w: w}, nil
}

// ID is the worker's AW_ id.
func (h *Worker) ID() string { return h.w.ID }

// Update records the worker's status and load (UpdateWorkerStatus); a nil
// status keeps the current one. A load that is not a number counts as 1
// (busy), a negative one as 0.
func (h *Worker) Update(status *WorkerStatus, load float64) {
	if math.IsNaN(load) {
		load = 1
	}
	load = max(load, 0)
	d := h.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if status != nil {
		h.w.Status = *status
	}
	h.w.Load = load
}

// Answer delivers the worker's answer to an offer. ErrUnknownJob: no offer
// of that job waits for this worker (it timed out, or never was).
func (h *Worker) Answer(jobID string, a Answer) error {
	d := h.d
	d.mu.Lock()
	defer d.mu.Unlock()
	ch, ok := h.w.offers[jobID]
	if !ok {
		return ErrUnknownJob
	}
	delete(h.w.offers, jobID)
	ch <- a // buffered, one answer per offer
	return nil
}

// UpdateJob records a job's status reported by the worker; a finished
// status (success, failed) ends the job. The Node worker never sends it.
func (h *Worker) UpdateJob(jobID string, status JobStatus, errMsg string) error {
	d := h.d
	d.mu.Lock()
	defer d.mu.Unlock()
	j := h.w.jobs[jobID]
	if j == nil {
		return ErrUnknownJob
	}
	if status == JobSuccess || status == JobFailed {
		d.endLocked(j, EndWorkerReported, status, errMsg, false)
		return nil
	}
	j.Status, j.UpdatedAt = status, d.o.Now().UTC()
	return nil
}

// Leave forgets the worker and its jobs (its connection is gone). Later
// calls do nothing.
func (h *Worker) Leave(reason string) {
	d := h.d
	d.mu.Lock()
	defer d.mu.Unlock()
	w := h.w
	if d.workers[w.ID] != w {
		return
	}
	delete(d.workers, w.ID)
	close(w.gone)
	for _, j := range w.jobs {
		d.endLocked(j, EndWorkerLeft, JobFailed, "worker disconnected", false)
	}
	d.record(journal.TypeAgentWorkerLeft, "", "", map[string]any{"worker": w.ID, "agentName": w.AgentName, "reason": reason})
	d.log.Info("agent worker left", "worker", w.ID, "agent_name", w.AgentName, "reason", reason)
}

// Observe follows the rooms: dispatches when a room starts, participant and
// publisher jobs, terminations when an agent leaves or the room closes.
func (d *Dispatcher) Observe(ev rooms.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	ra := d.rooms[ev.RoomName]
	if ra != nil && ra.room.Sid != ev.RoomSid {
		ra = nil // a closed room of the same name not yet forgotten
	}
	switch ev.Kind {
	case rooms.EventRoomStarted:
		d.roomStartedLocked(ev)
	case rooms.EventRoomUpdated:
		if ra != nil && ev.Room != nil {
			ra.room.Metadata = ev.Room.Metadata
		}
	case rooms.EventParticipantJoined:
		if ra != nil {
			ra.room.NumParticipants++
			d.targetJobsLocked(ra, JobParticipant, ev.Participant)
		}
	case rooms.EventTrackPublished:
		if ra != nil && !ra.published[ev.Participant.Identity] {
			ra.published[ev.Participant.Identity] = true
			d.targetJobsLocked(ra, JobPublisher, ev.Participant)
		}
	case rooms.EventParticipantLeft:
		if ra == nil {
			return
		}
		ra.room.NumParticipants = max(0, ra.room.NumParticipants-1)
		delete(ra.published, ev.Participant.Identity)
		why := EndAgentLeft
		if ev.Reason == rooms.ReasonRoomDeleted || ev.Reason == rooms.ReasonServerShutdown {
			why = EndRoomClosed // the room is closing: its members leave first
		}
		for _, dp := range ra.dispatches {
			for _, j := range dp.jobs {
				if !j.ended && j.Identity == ev.Participant.Identity {
					d.endLocked(j, why, JobFailed, "agent worker left the room", true)
				}
			}
		}
	case rooms.EventRoomClosed:
		if ra == nil {
			return
		}
		delete(d.rooms, ev.RoomName)
		d.endRoomLocked(ra, EndRoomClosed, true)
	}
}

func (d *Dispatcher) roomStartedLocked(ev rooms.Event) {
	ri := ev.Room
	if ri == nil {
		return
	}
	if old := d.rooms[ri.Name]; old != nil {
		// A room of that name closed and its end is not told yet: the
		// registry forgets a closing room before announcing its close.
		d.endRoomLocked(old, EndRoomClosed, true)
	}
	ra := &roomAgents{room: Room{Name: ri.Name, Sid: ri.Sid, Metadata: ri.Metadata, CreatedAt: ri.CreatedAt,
		EmptyTimeout: ri.EmptyTimeout, DepartureTimeout: ri.DepartureTimeout, NumParticipants: len(ri.Participants)},
		published: map[string]bool{}}
	d.rooms[ri.Name] = ra
	wanted := ri.Agents
	if len(wanted) == 0 {
		wanted = []rooms.AgentDispatch{{}} // LiveKit's default: the unnamed agent
	}
	for _, a := range wanted {
		dp := d.newDispatchLocked(ra, a.AgentName, a.Metadata)
		d.launchLocked(ra, dp, JobRoom, nil)
	}
}

func (d *Dispatcher) newDispatchLocked(ra *roomAgents, agentName, metadata string) *dispatch {
	dp := &dispatch{Dispatch: Dispatch{ID: d.o.IDs.DispatchID(), AgentName: agentName, Room: ra.room.Name,
		Metadata: metadata, CreatedAt: d.o.Now().UTC()}}
	ra.dispatches = append(ra.dispatches, dp)
	return dp
}

// targetJobsLocked launches the participant or publisher jobs for p, for
// the dispatches that have a worker of that type; agents are no targets.
func (d *Dispatcher) targetJobsLocked(ra *roomAgents, t JobType, p rooms.ParticipantInfo) {
	if p.Kind == "agent" {
		return
	}
	for _, dp := range ra.dispatches {
		if !d.hasWorkerLocked(dp.AgentName, t) {
			continue
		}
		d.launchLocked(ra, dp, t, &Participant{Sid: p.Sid, Identity: p.Identity, Name: p.Name,
			Metadata: p.Metadata, Kind: p.Kind, Attributes: maps.Clone(p.Attributes)})
	}
}

func (d *Dispatcher) hasWorkerLocked(agentName string, t JobType) bool {
	for _, w := range d.workers {
		if w.AgentName == agentName && w.Type == t {
			return true
		}
	}
	return false
}

// launchLocked creates a job and offers it to workers on a goroutine of
// its own.
func (d *Dispatcher) launchLocked(ra *roomAgents, dp *dispatch, t JobType, p *Participant) {
	now := d.o.Now().UTC()
	j := &job{Job: Job{ID: d.o.IDs.JobID(), DispatchID: dp.ID, Type: t, AgentName: dp.AgentName,
		Metadata: dp.Metadata, Room: ra.room, Participant: p, Status: JobPending, StartedAt: now, UpdatedAt: now},
		ra: ra, dp: dp, done: make(chan struct{})}
	dp.jobs = append(dp.jobs, j)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.offer(j)
	}()
}

// offer offers j to one worker after another until one takes it, none is
// left, or the job ends.
func (d *Dispatcher) offer(j *job) {
	tried := map[*worker]bool{}
	for {
		d.mu.Lock()
		if j.ended || d.closed {
			d.mu.Unlock()
			return
		}
		w, overloaded, why := d.pickLocked(j, tried)
		if w == nil && why == FailNoWorker && d.o.Scripted != nil && j.Type == JobRoom && !j.foreign {
			d.mu.Unlock()
			// The join runs on the room's goroutine, whose events this
			// dispatcher observes under d.mu: so not while holding it.
			if d.offerScripted(j) {
				return
			}
			d.mu.Lock()
			if j.ended || d.closed {
				d.mu.Unlock()
				return
			}
		}
		if w == nil && d.o.Remote != nil && !j.foreign {
			d.mu.Unlock()
			d.offerRemote(j, why)
			return
		}
		if w == nil {
			d.failLocked(j, why)
			d.mu.Unlock()
			return
		}
		tried[w] = true
		answer := make(chan Answer, 1)
		w.offers[j.ID] = answer
		j.WorkerID, j.UpdatedAt = w.ID, d.o.Now().UTC()
		w.conn.Offer(j.Job)
		detail := d.jobDetail(j)
		if overloaded {
			detail["warning"] = "worker reports load ≥ 1; chosen anyway in development"
			d.log.Warn("agent worker reports load >= 1 and is chosen anyway (development mode)",
				"worker", w.ID, "load", w.Load, "job", j.ID)
		}
		d.record(journal.TypeAgentJobOffered, j.Room.Name, "", detail)
		d.mu.Unlock()

		a, answered := d.await(j, w, answer)

		d.mu.Lock()
		delete(w.offers, j.ID)
		switch {
		case j.ended || d.closed:
		case answered && a.Terminate:
			d.endLocked(j, EndWorkerReported, JobSuccess, "", false)
		case answered && a.Available && d.workers[w.ID] == w:
			d.assignLocked(j, w, a)
		default:
			j.WorkerID = ""
			d.mu.Unlock()
			continue // declined, timed out or gone: the next worker
		}
		d.mu.Unlock()
		return
	}
}

// offerScripted gives j to the scripted agent of its agent name; false when
// there is none (or it could not join), and the job goes on to other workers.
func (d *Dispatcher) offerScripted(j *job) bool {
	identity, err := d.o.Scripted.Dispatch(d.ctx, j.Room.Name, j.Room.Sid, j.AgentName)
	if err != nil {
		if !errors.Is(err, ErrNoScript) {
			d.log.Warn("scripted agent did not join", "room", j.Room.Name, "agent_name", j.AgentName, "job", j.ID, "err", err)
		}
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if j.ended || d.closed { // the room closed meanwhile
		return true
	}
	j.Status, j.Identity, j.UpdatedAt = JobRunning, identity, d.o.Now().UTC()
	detail := d.jobDetail(j)
	detail["scripted"] = true
	d.record(journal.TypeAgentJobAssigned, j.Room.Name, identity, detail)
	d.log.Info("agent job given to a scripted agent", "room", j.Room.Name, "agent_name", j.AgentName, "job", j.ID, "identity", identity)
	return true
}

// offerRemote offers j to the workers of other instances, when none here
// took it (why).
func (d *Dispatcher) offerRemote(j *job, why string) {
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	go func() { // the job ending (its room closed) ends the offer
		select {
		case <-j.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	got, instance, err := d.o.Remote.Offer(ctx, j.Job)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err == nil && (j.ended || d.closed):
		d.wg.Add(1)
		go func() { // taken there, but gone here meanwhile
			defer d.wg.Done()
			d.o.Remote.Terminate(context.WithoutCancel(d.ctx), instance, j.ID, EndRoomClosed)
		}()
	case err == nil:
		j.Status, j.Identity, j.WorkerID, j.UpdatedAt, j.remote = JobRunning, got.Identity, got.WorkerID, d.o.Now().UTC(), instance
		detail := d.jobDetail(j)
		detail["instance"] = instance
		d.record(journal.TypeAgentJobAssigned, j.Room.Name, j.Identity, detail)
		d.log.Info("agent job assigned on another instance", "room", j.Room.Name, "job", j.ID, "instance", instance, "identity", j.Identity)
	case !j.ended:
		d.failLocked(j, why)
	}
}

// OfferForeign offers a job of a room homed on another instance to this
// instance's workers, and waits until one takes it or none does.
func (d *Dispatcher) OfferForeign(in Job) (Job, error) {
	in.Status, in.WorkerID, in.Identity, in.Error, in.UpdatedAt = JobPending, "", "", "", d.o.Now().UTC()
	j := &job{Job: in, foreign: true, done: make(chan struct{})}
	d.mu.Lock()
	if d.closed || d.foreign[in.ID] != nil {
		d.mu.Unlock()
		return Job{}, ErrClosed
	}
	d.foreign[in.ID] = j
	d.mu.Unlock()
	d.offer(j)
	d.mu.Lock()
	defer d.mu.Unlock()
	if j.Status != JobRunning || j.ended {
		delete(d.foreign, j.ID)
		return Job{}, errors.New(j.Error)
	}
	return j.Job, nil
}

// TerminateForeign ends a job OfferForeign assigned (its room's home
// instance ended it for reason); its worker is told.
func (d *Dispatcher) TerminateForeign(jobID, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if j := d.foreign[jobID]; j != nil {
		d.endLocked(j, reason, JobSuccess, "", true)
	}
}

// await waits for the worker's answer for at most OfferTimeout.
func (d *Dispatcher) await(j *job, w *worker, answer <-chan Answer) (Answer, bool) {
	t := time.NewTimer(d.o.OfferTimeout)
	defer t.Stop()
	select {
	case a := <-answer:
		return a, true
	case <-t.C:
		d.log.Info("agent worker did not answer an offer in time", "worker", w.ID, "job", j.ID)
	case <-w.gone:
	case <-j.done:
	case <-d.ctx.Done():
	}
	return Answer{}, false
}

// pickLocked chooses among the available workers of j's agent name and
// type, weighted by 1-load.
func (d *Dispatcher) pickLocked(j *job, tried map[*worker]bool) (w *worker, overloaded bool, why string) {
	var cands []*worker
	total := 0.0
	for _, w := range d.workers {
		if w.AgentName != j.AgentName || w.Type != j.Type || w.Status != WorkerAvailable || tried[w] {
			continue
		}
		cands = append(cands, w)
		total += max(0, 1-w.Load)
	}
	// A fixed order, so that the draw alone decides (map order would not).
	slices.SortFunc(cands, func(a, b *worker) int { return cmp.Compare(a.ID, b.ID) })
	switch {
	case len(cands) == 0 && len(tried) > 0:
		return nil, false, FailAllDeclined
	case len(cands) == 0:
		return nil, false, FailNoWorker
	case total == 0 && d.o.Production:
		return nil, false, FailNoCapacity
	case total == 0:
		return cands[int(d.o.Rand()*float64(len(cands)))%len(cands)], true, ""
	}
	x := d.o.Rand() * total
	for _, w := range cands {
		if x -= max(0, 1-w.Load); x < 0 {
			return w, false, ""
		}
	}
	for i := len(cands) - 1; i >= 0; i-- { // rounding: the last with weight
		if cands[i].Load < 1 {
			return cands[i], false, ""
		}
	}
	return cands[0], false, ""
}

func (d *Dispatcher) failLocked(j *job, why string) {
	j.ended, j.Status, j.Error, j.EndedAt = true, JobFailed, why, d.o.Now().UTC()
	close(j.done)
	detail := d.jobDetail(j)
	detail["reason"] = why
	d.record(journal.TypeAgentJobFailed, j.Room.Name, "", detail)
	level := slog.LevelInfo
	if why == FailNoWorker {
		level = slog.LevelDebug // every room of a server without workers
	}
	d.log.Log(context.Background(), level, "agent job found no worker", "room", j.Room.Name, "agent_name", j.AgentName, "job", j.ID, "reason", why)
}

func (d *Dispatcher) assignLocked(j *job, w *worker, a Answer) {
	identity := a.Identity
	if identity == "" {
		identity = "agent-" + j.ID
	}
	attrs := maps.Clone(a.Attributes)
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs[AttrAgentName], attrs[attrAgentNameLegacy] = j.AgentName, j.AgentName
	p := w.reg.Permission
	token, _, err := d.o.Minter.Mint(auth.Claims{
		Identity: identity, Name: a.Name, Metadata: a.Metadata, Attributes: attrs, Kind: "agent",
		Video: &auth.VideoGrant{RoomJoin: true, Room: j.Room.Name, CanPublish: auth.Bool(p.CanPublish),
			CanSubscribe: auth.Bool(p.CanSubscribe), CanPublishData: auth.Bool(p.CanPublishData),
			CanUpdateOwnMetadata: auth.Bool(p.CanUpdateMetadata), Hidden: p.Hidden, Agent: true,
			CanSubscribeMetrics: auth.Bool(false)},
	}, tokenTTL)
	if err != nil {
		d.log.Error("agent token could not be minted", "job", j.ID, "err", err)
		d.failLocked(j, FailToken)
		return
	}
	j.Status, j.Identity, j.WorkerID, j.UpdatedAt, j.w = JobRunning, identity, w.ID, d.o.Now().UTC(), w
	w.jobs[j.ID] = j
	w.conn.Assign(j.Job, token)
	d.record(journal.TypeAgentJobAssigned, j.Room.Name, identity, d.jobDetail(j))
	d.log.Info("agent job assigned", "room", j.Room.Name, "agent_name", j.AgentName, "job", j.ID, "worker", w.ID, "identity", identity)
}

// endLocked ends a job; terminate tells its worker.
func (d *Dispatcher) endLocked(j *job, reason string, status JobStatus, errMsg string, terminate bool) {
	if j.ended {
		return
	}
	now := d.o.Now().UTC()
	j.ended, j.Status, j.Error, j.EndedAt, j.UpdatedAt = true, status, errMsg, now, now
	close(j.done)
	if w := j.w; w != nil {
		delete(w.jobs, j.ID)
		if terminate && d.workers[w.ID] == w {
			w.conn.Terminate(j.ID)
		}
	}
	if j.foreign {
		delete(d.foreign, j.ID)
	}
	if instance := j.remote; instance != "" && terminate && d.o.Remote != nil {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.o.Remote.Terminate(context.WithoutCancel(d.ctx), instance, j.ID, reason)
		}()
	}
	detail := d.jobDetail(j)
	detail["reason"] = reason
	d.record(journal.TypeAgentJobEnded, j.Room.Name, j.Identity, detail)
}

func (d *Dispatcher) endRoomLocked(ra *roomAgents, reason string, terminate bool) {
	for _, dp := range ra.dispatches {
		for _, j := range dp.jobs {
			d.endLocked(j, reason, JobFailed, "agent worker left the room", terminate)
		}
	}
}

func (d *Dispatcher) jobDetail(j *job) map[string]any {
	m := map[string]any{"job": j.ID, "dispatch": j.DispatchID, "agentName": j.AgentName,
		"jobType": j.Type.String(), "status": j.Status.String()}
	if j.WorkerID != "" {
		m["worker"] = j.WorkerID
	}
	if j.Error != "" {
		m["error"] = j.Error
	}
	return m
}

// CreateDispatch adds a dispatch to a room of this instance and launches
// its room job (the caller creates the room first).
func (d *Dispatcher) CreateDispatch(room, agentName, metadata string) (Dispatch, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ra := d.rooms[room]
	if ra == nil || d.closed {
		return Dispatch{}, ErrRoomNotFound
	}
	dp := d.newDispatchLocked(ra, agentName, metadata)
	d.launchLocked(ra, dp, JobRoom, nil)
	return dp.snapshot(), nil
}

// ListDispatch returns a room's dispatches, or the one called id when id
// is not empty; none for a room that does not exist.
func (d *Dispatcher) ListDispatch(room, id string) []Dispatch {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []Dispatch{}
	if ra := d.rooms[room]; ra != nil {
		for _, dp := range ra.dispatches {
			if id == "" || dp.ID == id {
				out = append(out, dp.snapshot())
			}
		}
	}
	return out
}

// DeleteDispatch removes a dispatch and ends its jobs (their workers are
// told); an agent still in the room LeaveGrace later is removed.
func (d *Dispatcher) DeleteDispatch(room, id string) (Dispatch, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ra := d.rooms[room]
	if ra == nil {
		return Dispatch{}, ErrDispatchNotFound
	}
	for i, dp := range ra.dispatches {
		if dp.ID != id {
			continue
		}
		ra.dispatches = append(ra.dispatches[:i:i], ra.dispatches[i+1:]...)
		dp.DeletedAt = d.o.Now().UTC()
		for _, j := range dp.jobs {
			if j.ended {
				continue
			}
			d.endLocked(j, EndDispatchDeleted, JobSuccess, "", true)
			if j.Identity != "" && d.o.Rooms != nil && !d.closed {
				d.removeLater(room, j.Identity)
			}
		}
		return dp.snapshot(), nil
	}
	return Dispatch{}, ErrDispatchNotFound
}

// removeLater removes identity from room after LeaveGrace if it is still
// there.
func (d *Dispatcher) removeLater(room, identity string) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTimer(d.o.LeaveGrace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-d.ctx.Done():
			return
		}
		err := d.o.Rooms.RemoveParticipant(d.ctx, room, identity, rooms.ReasonRemoved)
		if err == nil {
			d.log.Info("agent removed: still in the room after its dispatch was deleted", "room", room, "identity", identity)
		} else if !errors.Is(err, rooms.ErrParticipantNotFound) && !errors.Is(err, rooms.ErrRoomNotFound) {
			d.log.Warn("agent could not be removed", "room", room, "identity", identity, "err", err)
		}
	}()
}

func (dp *dispatch) snapshot() Dispatch {
	out := dp.Dispatch
	out.Jobs = make([]Job, 0, len(dp.jobs))
	for _, j := range dp.jobs {
		if j.Identity != "" { // as LiveKit, a job is listed once a worker (or a scripted agent) has it
			out.Jobs = append(out.Jobs, j.Job)
		}
	}
	return out
}

// Workers returns the registered workers, oldest first.
func (d *Dispatcher) Workers() []WorkerInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]WorkerInfo, 0, len(d.workers))
	for _, w := range d.workers {
		info := w.WorkerInfo
		info.Jobs = len(w.jobs)
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b WorkerInfo) int {
		return cmp.Or(a.RegisteredAt.Compare(b.RegisteredAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Dispatches returns every room's dispatches, by room name.
func (d *Dispatcher) Dispatches() map[string][]Dispatch {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string][]Dispatch, len(d.rooms))
	for name, ra := range d.rooms {
		list := make([]Dispatch, 0, len(ra.dispatches))
		for _, dp := range ra.dispatches {
			list = append(list, dp.snapshot())
		}
		out[name] = list
	}
	return out
}

// Counts returns the number of registered workers and running jobs.
func (d *Dispatcher) Counts() (workers, jobs int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.workers {
		jobs += len(w.jobs)
	}
	return len(d.workers), jobs
}

// Reset ends every job (their workers are told); workers stay registered
// and rooms keep their dispatches.
func (d *Dispatcher) Reset(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ra := range d.rooms {
		d.endRoomLocked(ra, EndReset, true)
	}
	return nil
}

// Close ends every job and waits for the offers and removals in flight.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		for _, ra := range d.rooms {
			d.endRoomLocked(ra, EndShutdown, false)
		}
		for _, j := range d.foreign {
			d.endLocked(j, EndShutdown, JobFailed, "server shutdown", false)
		}
		clear(d.rooms)
	}
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}
