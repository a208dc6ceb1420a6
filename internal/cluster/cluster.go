// Package cluster is the optional shared state of several livekit-mock
// instances (SPEC §12), kept in Redis: rate-limit windows, every instance's
// figures and the rooms it hosts (a directory with heartbeats and a TTL),
// and each room's home instance. It is the only importer of go-redis.
//
// Without REDIS_URL nothing here is built. With it, Redis lost at run time
// means "degraded": the limiters fall back to their in-memory twins, the
// directory shows this instance alone, and every heartbeat tries again; when
// Redis answers, the shared state is published anew within one heartbeat.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults of Options.
const (
	DefaultPrefix    = "livekit-mock:"
	DefaultHeartbeat = time.Second
	DefaultTTL       = 5 * time.Second
	// opTimeout bounds one Redis round trip; a request never waits longer
	// for the shared state before falling back to the local one.
	opTimeout = 500 * time.Millisecond
)

// Redis states reported by Status.
const (
	StateOK       = "ok"
	StateDegraded = "degraded"
)

// Options configure Connect. URL and InstanceID are required.
type Options struct {
	URL         string        // REDIS_URL
	InstanceID  string        // INSTANCE_ID
	InstanceURL string        // INSTANCE_URL; may be set later by Start
	Prefix      string        // key prefix; default DefaultPrefix
	Heartbeat   time.Duration // how often figures and rooms are published; default 1 s
	TTL         time.Duration // how long a silent instance stays listed; default 5 s
	Logger      *slog.Logger
	Now         func() time.Time
	// OnState is told when Redis is lost (degraded true, with the error) and
	// when it answers again. It must not block.
	OnState func(degraded bool, err error)
}

// Figures are the counts one instance publishes and the cluster sums.
type Figures struct {
	Rooms        int   `json:"rooms"`
	Participants int   `json:"participants"`
	Connections  int   `json:"connections"`
	TokensTotal  int64 `json:"tokens_total"`
	Validations  int64 `json:"validations"`
	Requests     int64 `json:"requests"`
	Errors       int64 `json:"errors"`
	RateLimited  int64 `json:"rate_limited"`
}

func (f *Figures) add(o Figures) {
	f.Rooms += o.Rooms
	f.Participants += o.Participants
	f.Connections += o.Connections
	f.TokensTotal += o.TokensTotal
	f.Validations += o.Validations
	f.Requests += o.Requests
	f.Errors += o.Errors
	f.RateLimited += o.RateLimited
}

// Room is one room in the directory. Doc is the room as the HTTP API renders
// it (opaque here), so other instances answer /api/rooms without a relay.
type Room struct {
	Name         string          `json:"name"`
	Sid          string          `json:"sid"`
	Participants int             `json:"participants"`
	Instance     string          `json:"instance"`
	InstanceURL  string          `json:"instance_url"`
	Doc          json.RawMessage `json:"doc,omitempty"`
	// LiveKit is the room as the RoomService's ListRooms renders it
	// (protojson), so that every instance can list it.
	LiveKit json.RawMessage `json:"livekit,omitempty"`
}

// Report is what an instance publishes at every heartbeat.
type Report struct {
	Figures Figures
	Rooms   []Room // Instance and InstanceURL are filled in by the cluster
	Agents  []AgentKey
}

// AgentKey is a kind of agent worker an instance has: agent name and job
// type (LiveKit Agents).
type AgentKey struct {
	Name string `json:"name"`
	Type int32  `json:"type"`
}

// Instance is one live instance as the directory sees it.
type Instance struct {
	ID      string     `json:"id"`
	URL     string     `json:"url"`
	Figures Figures    `json:"figures"`
	Rooms   []Room     `json:"rooms"`
	Agents  []AgentKey `json:"agents,omitempty"` // the agent workers it has
	At      time.Time  `json:"at"`               // its last heartbeat
}

// Status is the cluster as this instance last saw it (at its last heartbeat).
type Status struct {
	Redis      string   // StateOK or StateDegraded
	InstanceID string   //
	Instances  []string // live instance ids, sorted; empty while degraded
	Totals     Figures  // summed over Instances; this instance alone while degraded
	Error      string   // why degraded
}

// Cluster is one instance's handle on the shared state.
type Cluster struct {
	o   Options
	rdb *redis.Client

	degraded atomic.Bool
	url      atomic.Pointer[string]

	mu        sync.Mutex // guards the fields below
	status    Status
	claimed   map[string]bool // rooms whose home claim this instance holds
	conflicts map[string]string
	limiters  []*Limiter

	stop context.CancelFunc
	done chan struct{}
}

// Connect opens the Redis connection of o.URL and checks it answers. The
// error names REDIS_URL and never carries its password.
func Connect(ctx context.Context, o Options) (*Cluster, error) {
	quietDriver.Do(func() { redis.SetLogger(discard{}) })
	ro, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %s: %w", Redact(o.URL), err)
	}
	ro.DialTimeout = opTimeout
	ro.ReadTimeout = opTimeout
	ro.WriteTimeout = opTimeout
	ro.PoolTimeout = opTimeout
	ro.MaxRetries = 1    // a retried INCR could count twice; one retry covers a stale pooled conn
	ro.DialerRetries = 1 // a refused dial means degraded now; the next heartbeat tries again
	ro.Protocol = 2
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Cluster{o: o, rdb: redis.NewClient(ro), claimed: map[string]bool{}, conflicts: map[string]string{}}
	c.url.Store(&o.InstanceURL)
	pctx, cancel := context.WithTimeout(ctx, 2*opTimeout)
	defer cancel()
	if err := c.rdb.Ping(pctx).Err(); err != nil {
		_ = c.rdb.Close()
		return nil, fmt.Errorf("REDIS_URL %s: Redis does not answer: %w", Redact(o.URL), err)
	}
	c.status = Status{Redis: StateOK, InstanceID: o.InstanceID, Instances: []string{o.InstanceID}}
	return c, nil
}

// quietDriver silences go-redis's own logger, which is process-wide and
// writes plain lines to stderr (one per failed dial while Redis is down);
// every error reaches us as a return value, and the state changes are
// logged once each through Options.Logger. Set once, before the first
// client exists, so no driver goroutine reads it while it changes.
var quietDriver sync.Once

type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

// Redact returns u without its password, for messages and logs.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

// InstanceID is this instance's id.
func (c *Cluster) InstanceID() string { return c.o.InstanceID }

// InstanceURL is how other instances reach this one.
func (c *Cluster) InstanceURL() string { return *c.url.Load() }

// Degraded reports whether Redis is out of reach now.
func (c *Cluster) Degraded() bool { return c.degraded.Load() }

// Status returns the cluster as last seen.
func (c *Cluster) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.status
	s.Instances = append([]string(nil), s.Instances...)
	return s
}

// Conflicts returns the local rooms whose home claim another instance
// holds (room → that instance). Without the signalling relay such a room
// exists twice, once on each instance.
func (c *Cluster) Conflicts() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.conflicts))
	for k, v := range c.conflicts {
		out[k] = v
	}
	return out
}

func (c *Cluster) key(parts ...string) string {
	k := c.o.Prefix
	for i, p := range parts {
		if i > 0 {
			k += ":"
		}
		k += p
	}
	return k
}

// failed marks Redis lost when err is Redis's fault, not the caller's.
func (c *Cluster) failed(ctx context.Context, err error) {
	if err == nil || ctx.Err() != nil || errors.Is(err, redis.Nil) {
		return
	}
	if c.degraded.CompareAndSwap(false, true) {
		c.o.Logger.Warn("cluster degraded: Redis is out of reach; rate limits are per instance until it answers", "err", err)
		c.mu.Lock()
		c.status.Redis, c.status.Error = StateDegraded, err.Error()
		c.mu.Unlock()
		if c.o.OnState != nil {
			c.o.OnState(true, err)
		}
	}
}

// recovered marks Redis reachable again and forgets the counts kept
// locally meanwhile: the shared windows are the truth once more.
func (c *Cluster) recovered() {
	if !c.degraded.CompareAndSwap(true, false) {
		return
	}
	c.mu.Lock()
	c.status.Redis, c.status.Error = StateOK, ""
	ls := append([]*Limiter(nil), c.limiters...)
	c.mu.Unlock()
	for _, l := range ls {
		_ = l.fallback.Reset(context.Background())
	}
	c.o.Logger.Info("cluster restored: Redis answers again; rate limits are shared")
	if c.o.OnState != nil {
		c.o.OnState(false, nil)
	}
}

// ErrDuplicateID is returned by Start when a live instance at another URL
// already uses this instance's id.
var ErrDuplicateID = errors.New("another live instance uses this INSTANCE_ID")

// Start publishes report() every heartbeat until Close; instanceURL, when
// not empty, replaces Options.InstanceURL (known once the port is bound).
// Two instances with one id would overwrite each other's rooms and figures:
// Start refuses (ErrDuplicateID) when a live instance at another URL has it.
func (c *Cluster) Start(instanceURL string, report func() Report) error {
	if instanceURL != "" {
		c.url.Store(&instanceURL)
	}
	gctx, gcancel := context.WithTimeout(context.Background(), opTimeout)
	doc, err := c.rdb.Get(gctx, c.key("instance", c.o.InstanceID)).Bytes()
	gcancel()
	var other Instance
	if err == nil && json.Unmarshal(doc, &other) == nil && other.URL != c.InstanceURL() {
		return fmt.Errorf("INSTANCE_ID %q: %w (at %s); give each instance its own", c.o.InstanceID, ErrDuplicateID, other.URL)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stop, c.done = cancel, make(chan struct{})
	c.beat(ctx, report)
	go func() {
		defer close(c.done)
		t := time.NewTicker(c.o.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.beat(ctx, report)
			}
		}
	}()
	return nil
}

// Close stops the heartbeat, removes this instance and its room claims from
// the directory (so it drops out at once, not after the TTL) and closes the
// connection.
func (c *Cluster) Close(ctx context.Context) error {
	started := c.stop != nil
	if started {
		c.stop()
		<-c.done
	}
	if started && !c.degraded.Load() { // never another instance's entry (ErrDuplicateID)
		ctx, cancel := context.WithTimeout(ctx, opTimeout)
		c.mu.Lock()
		rooms := make([]string, 0, len(c.claimed))
		for r := range c.claimed {
			rooms = append(rooms, r)
		}
		c.mu.Unlock()
		pipe := c.rdb.Pipeline()
		pipe.Del(ctx, c.key("instance", c.o.InstanceID))
		pipe.ZRem(ctx, c.key("instances"), c.o.InstanceID)
		for _, r := range rooms {
			releaseScript.Eval(ctx, pipe, []string{c.key("home", r)}, c.o.InstanceID)
		}
		_, _ = pipe.Exec(ctx)
		cancel()
	}
	return c.rdb.Close()
}
