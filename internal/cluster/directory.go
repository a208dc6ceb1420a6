package cluster

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Keys (under the prefix):
//   instances        sorted set of instance ids, scored by when each expires (Unix ms)
//   instance:<id>    that instance's Instance document, with the TTL as expiry
//   home:<room>      the id of the room's home instance, with the TTL as expiry
//   rl:<bucket>:<ip> a rate-limit window (limiter.go)

// claimScript claims a room for ARGV[1] unless another instance holds it,
// refreshes the claim when ARGV[1] holds it, and returns the holder.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`)

// releaseScript drops a room's claim if ARGV[1] holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// beat publishes this instance's report, claims or refreshes the home of
// each of its rooms, releases the rooms it no longer hosts, and reads every
// live instance back to refresh Status.
func (c *Cluster) beat(ctx context.Context, report func() Report) {
	r := report()
	now := c.o.Now()
	id, u := c.o.InstanceID, c.InstanceURL()
	for i := range r.Rooms {
		r.Rooms[i].Instance, r.Rooms[i].InstanceURL = id, u
	}
	doc, err := json.Marshal(Instance{ID: id, URL: u, Figures: r.Figures, Rooms: r.Rooms, Agents: r.Agents, At: now})
	if err != nil { // only a Doc that is not JSON could do this
		c.o.Logger.Error("cluster: cannot encode this instance's report", "err", err)
		return
	}
	ttl := strconv.FormatInt(c.o.TTL.Milliseconds(), 10)

	c.mu.Lock()
	var gone []string
	for name := range c.claimed {
		if !slices.ContainsFunc(r.Rooms, func(rm Room) bool { return rm.Name == name }) {
			gone = append(gone, name)
		}
	}
	c.mu.Unlock()

	bctx, cancel := context.WithTimeout(ctx, 2*opTimeout)
	defer cancel()
	pipe := c.rdb.Pipeline()
	pipe.Set(bctx, c.key("instance", id), doc, c.o.TTL)
	pipe.ZAdd(bctx, c.key("instances"), redis.Z{Score: float64(now.Add(c.o.TTL).UnixMilli()), Member: id})
	pipe.ZRemRangeByScore(bctx, c.key("instances"), "-inf", "("+strconv.FormatInt(now.UnixMilli(), 10))
	claims := make([]*redis.Cmd, len(r.Rooms))
	for i, rm := range r.Rooms {
		claims[i] = claimScript.Eval(bctx, pipe, []string{c.key("home", rm.Name)}, id, ttl)
	}
	for _, name := range gone {
		releaseScript.Eval(bctx, pipe, []string{c.key("home", name)}, id)
	}
	if _, err := pipe.Exec(bctx); err != nil {
		c.failed(ctx, err)
		if c.degraded.Load() {
			c.mu.Lock()
			c.status.Instances, c.status.Totals = nil, r.Figures
			c.mu.Unlock()
		}
		return
	}
	all, err := c.Instances(ctx)
	if err != nil {
		c.failed(ctx, err)
		return
	}
	// Status first, then the state change, so that whoever is told Redis
	// is back sees the instances too.
	defer c.recovered()

	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range gone {
		delete(c.claimed, name)
		delete(c.conflicts, name)
	}
	for i, rm := range r.Rooms {
		holder, _ := claims[i].Text()
		if holder == id {
			c.claimed[rm.Name] = true
			delete(c.conflicts, rm.Name)
		} else if holder != "" {
			if c.conflicts[rm.Name] != holder {
				c.o.Logger.Warn("cluster: room is homed on another instance; this instance hosts a second copy (a room created here by the RoomService or /__admin before its claim, or a JSON resume)",
					"room", rm.Name, "home", holder)
			}
			c.conflicts[rm.Name] = holder
		}
	}
	st := Status{Redis: StateOK, InstanceID: id}
	for _, in := range all {
		st.Instances = append(st.Instances, in.ID)
		st.Totals.add(in.Figures)
	}
	c.status = st
}

// Instances reads every live instance from Redis, sorted by id.
func (c *Cluster) Instances(ctx context.Context) ([]Instance, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	now := strconv.FormatInt(c.o.Now().UnixMilli(), 10)
	ids, err := c.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: c.key("instances"), Start: now, Stop: "+inf", ByScore: true}).Result()
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = c.key("instance", id)
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Instance, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok { // expired between the two reads
			continue
		}
		var in Instance
		if json.Unmarshal([]byte(s), &in) == nil {
			out = append(out, in)
		}
	}
	return out, nil
}

// AgentInstances returns the other live instances that have an agent worker
// for name and jobType (as of their last heartbeat); none while Redis is
// out of reach.
func (c *Cluster) AgentInstances(ctx context.Context, name string, jobType int32) []Instance {
	if c.degraded.Load() {
		return nil
	}
	all, err := c.Instances(ctx)
	if err != nil {
		return nil
	}
	var out []Instance
	for _, in := range all {
		if in.ID != c.o.InstanceID && slices.Contains(in.Agents, AgentKey{Name: name, Type: jobType}) {
			out = append(out, in)
		}
	}
	return out
}

// RemoteRooms returns the rooms every other live instance hosts. While Redis
// is out of reach it returns none and no error: this instance's own rooms
// are all it can vouch for.
func (c *Cluster) RemoteRooms(ctx context.Context) ([]Room, error) {
	if c.degraded.Load() {
		return nil, nil
	}
	all, err := c.Instances(ctx)
	if err != nil {
		c.failed(ctx, err)
		return nil, nil
	}
	var out []Room
	for _, in := range all {
		if in.ID != c.o.InstanceID {
			out = append(out, in.Rooms...)
		}
	}
	return out, nil
}

// Home returns the id of the instance that holds room's claim ("" when none
// does, or while Redis is out of reach).
func (c *Cluster) Home(ctx context.Context, room string) (string, error) {
	if c.degraded.Load() {
		return "", nil
	}
	tctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	id, err := c.rdb.Get(tctx, c.key("home", room)).Result()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		c.failed(ctx, err)
		return "", nil
	}
	return id, nil
}

// Claim claims room for this instance unless another holds it, and
// returns the holder. While Redis is out of reach every room is local.
func (c *Cluster) Claim(ctx context.Context, room string) (string, error) {
	if c.degraded.Load() {
		return c.o.InstanceID, nil
	}
	tctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	holder, err := claimScript.Run(tctx, c.rdb, []string{c.key("home", room)}, c.o.InstanceID,
		c.o.TTL.Milliseconds()).Text()
	if err != nil {
		c.failed(ctx, err)
		return c.o.InstanceID, nil
	}
	c.mu.Lock()
	if holder == c.o.InstanceID {
		c.claimed[room] = true
	}
	c.mu.Unlock()
	return holder, nil
}

// Route says where a join for room is served: "" when here (this instance
// holds the room's claim, now taken if nobody held it; or Redis is out of
// reach; or the holder is no longer listed), else the URL of the home
// instance, to which the signalling is relayed.
func (c *Cluster) Route(ctx context.Context, room string) string {
	holder, _ := c.Claim(ctx, room)
	return c.urlOf(ctx, holder)
}

// HomeURL returns the URL of the instance that holds room's claim when it is
// another live instance, else "" (nobody holds it, this instance does, or
// Redis is out of reach). Unlike Route it claims nothing: it is for acting
// on a room that must already exist.
func (c *Cluster) HomeURL(ctx context.Context, room string) string {
	holder, _ := c.Home(ctx, room)
	return c.urlOf(ctx, holder)
}

// urlOf returns the URL of the live instance holder, "" when that is this
// instance or it is not listed.
func (c *Cluster) urlOf(ctx context.Context, holder string) string {
	if holder == "" || holder == c.o.InstanceID {
		return ""
	}
	tctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	doc, err := c.rdb.Get(tctx, c.key("instance", holder)).Bytes()
	if err != nil {
		if err != redis.Nil {
			c.failed(ctx, err)
		}
		return ""
	}
	var in Instance
	if json.Unmarshal(doc, &in) != nil || in.URL == "" || in.URL == c.InstanceURL() {
		return ""
	}
	return in.URL
}
