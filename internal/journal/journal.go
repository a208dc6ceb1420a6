// Package journal keeps what the server saw, in order, in a bounded ring
// (SPEC §10): tokens minted or refused, rate-limit hits, connections, room
// and participant events, faults applied. Sequence numbers rise for the life
// of the process; a Clear empties the ring without restarting them.
//
// Readers filter by room, identity, type and sequence; followers read what
// is new and wait on a channel that the next append closes; Wait blocks until
// a matching entry arrives. Feeders (the room observer, the HTTP middleware,
// the signalling sessions) call Record. Nothing here knows those packages.
package journal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"
)

// Entry types of SPEC §10.
const (
	TypeRoomStarted        = "room_started"
	TypeRoomFinished       = "room_finished"
	TypeParticipantJoined  = "participant_joined"
	TypeParticipantLeft    = "participant_left"
	TypeParticipantResumed = "participant_resumed"
	TypeTrackPublished     = "track_published"
	TypeTrackUnpublished   = "track_unpublished"
	TypeTrackMuted         = "track_muted"
	TypeDataSent           = "data_sent"
	TypeMetadataChanged    = "metadata_changed"
	TypeTokenMinted        = "token_minted"
	TypeTokenRefused       = "token_refused"
	TypeRateLimited        = "rate_limited"
	TypeOriginRefused      = "origin_refused"
	TypeConnectionOpened   = "connection_opened"
	TypeConnectionRefused  = "connection_refused"
	TypeConnectionClosed   = "connection_closed"
	TypeFaultApplied       = "fault_applied"
	TypeReset              = "reset"
	// Several instances (SPEC §12): Redis lost and back.
	TypeClusterDegraded = "cluster_degraded"
	TypeClusterRestored = "cluster_restored"
	// Scripted agents: what they heard and said, their state, RPC answered.
	TypeAgentState       = "agent_state"
	TypeAgentHeard       = "agent_heard"
	TypeAgentSaid        = "agent_said"
	TypeAgentInterrupted = "agent_interrupted"
	TypeAgentRPC         = "agent_rpc"
	// Agents (SPEC §13): workers and the jobs that put agents into rooms.
	TypeAgentWorkerRegistered = "agent_worker_registered"
	TypeAgentWorkerLeft       = "agent_worker_left"
	TypeAgentJobOffered       = "agent_job_offered"
	TypeAgentJobAssigned      = "agent_job_assigned"
	TypeAgentJobEnded         = "agent_job_ended"
	TypeAgentJobFailed        = "agent_job_failed"
)

// Types lists every entry type, for validating filters.
func Types() []string {
	return []string{
		TypeRoomStarted, TypeRoomFinished, TypeParticipantJoined, TypeParticipantLeft, TypeParticipantResumed,
		TypeTrackPublished, TypeTrackUnpublished, TypeTrackMuted, TypeDataSent, TypeMetadataChanged,
		TypeTokenMinted, TypeTokenRefused, TypeRateLimited, TypeOriginRefused, TypeConnectionOpened,
		TypeConnectionRefused, TypeConnectionClosed, TypeFaultApplied, TypeReset,
		TypeClusterDegraded, TypeClusterRestored,
		TypeAgentState, TypeAgentHeard, TypeAgentSaid, TypeAgentInterrupted, TypeAgentRPC,
		TypeAgentWorkerRegistered, TypeAgentWorkerLeft, TypeAgentJobOffered, TypeAgentJobAssigned,
		TypeAgentJobEnded, TypeAgentJobFailed,
	}
}

// KnownType reports whether t is one of Types.
func KnownType(t string) bool { return slices.Contains(Types(), t) }

// DefaultSize is JOURNAL_SIZE's default.
const DefaultSize = 10000

// ErrClosed is returned by Wait once the journal is closed (shutdown).
var ErrClosed = errors.New("journal closed")

// Entry is one thing the server saw. Detail holds strings, numbers and
// booleans only; never a secret or a whole token.
type Entry struct {
	Seq      uint64
	Time     time.Time
	Type     string
	Room     string
	Identity string
	Detail   map[string]any
}

type entryJSON struct {
	Seq      uint64         `json:"seq"`
	Time     string         `json:"time"`
	Type     string         `json:"type"`
	Room     string         `json:"room"`
	Identity string         `json:"identity"`
	Detail   map[string]any `json:"detail"`
}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes {"seq","time","type","room","identity","detail"} with
// the time in RFC 3339, UTC, milliseconds.
func (e Entry) MarshalJSON() ([]byte, error) {
	d := e.Detail
	if d == nil {
		d = map[string]any{}
	}
	return json.Marshal(entryJSON{e.Seq, e.Time.UTC().Format(timeLayout), e.Type, e.Room, e.Identity, d})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var v entryJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, v.Time)
	if err != nil {
		return err
	}
	*e = Entry{Seq: v.Seq, Time: t, Type: v.Type, Room: v.Room, Identity: v.Identity, Detail: v.Detail}
	return nil
}

// Filter selects entries. Zero fields select everything.
type Filter struct {
	Room     string
	Identity string
	Types    []string // any of them
	Since    uint64   // only entries with a greater seq
}

// Match reports whether e passes the filter (Since included).
func (f Filter) Match(e Entry) bool {
	return e.Seq > f.Since &&
		(f.Room == "" || f.Room == e.Room) &&
		(f.Identity == "" || f.Identity == e.Identity) &&
		(len(f.Types) == 0 || slices.Contains(f.Types, e.Type))
}

// Options configure a Journal.
type Options struct {
	Size     int              // entries kept; default DefaultSize
	Payloads bool             // JOURNAL_PAYLOADS: feeders may keep data payloads
	Now      func() time.Time // default time.Now
	BootID   string           // default: random; SSE ids are "<boot id>:<seq>"
}

// Journal is the bounded ring. Its mutex is held only to append or copy.
type Journal struct {
	now      func() time.Time
	payloads bool
	bootID   string

	mu     sync.Mutex // guards the fields below
	ring   []Entry    // len == size once full; head is the oldest when full
	head   int
	full   bool
	seq    uint64        // last sequence number given
	wake   chan struct{} // closed and replaced on every append and on Close
	closed bool
}

// New returns an empty journal.
func New(o Options) *Journal {
	if o.Size <= 0 {
		o.Size = DefaultSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BootID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		o.BootID = hex.EncodeToString(b[:])
	}
	return &Journal{
		now: o.Now, payloads: o.Payloads, bootID: o.BootID,
		ring: make([]Entry, 0, o.Size), wake: make(chan struct{}),
	}
}

// BootID identifies this process's journal in SSE event ids.
func (j *Journal) BootID() string { return j.bootID }

// Payloads reports whether data payloads may be recorded.
func (j *Journal) Payloads() bool { return j.payloads }

// Record appends an entry (see Append). A nil journal records nothing.
func (j *Journal) Record(typ, room, identity string, detail map[string]any) {
	j.Append(typ, room, identity, detail)
}

// Append appends an entry and returns it with its seq and time. Safe for
// concurrent use; never blocks on readers. A nil journal records nothing.
func (j *Journal) Append(typ, room, identity string, detail map[string]any) Entry {
	if j == nil {
		return Entry{}
	}
	if detail == nil {
		detail = map[string]any{}
	}
	e := Entry{Time: j.now().UTC(), Type: typ, Room: room, Identity: identity, Detail: detail}
	j.mu.Lock()
	j.seq++
	e.Seq = j.seq
	if len(j.ring) < cap(j.ring) {
		j.ring = append(j.ring, e)
	} else {
		j.full = true
		j.ring[j.head] = e
		j.head = (j.head + 1) % len(j.ring)
	}
	var w chan struct{}
	if !j.closed { // once closed, wake stays closed
		w = j.wake
		j.wake = make(chan struct{})
	}
	j.mu.Unlock()
	if w != nil {
		close(w)
	}
	return e
}

// Clear empties the ring; sequence numbers go on rising.
func (j *Journal) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	clear(j.ring)
	j.ring = j.ring[:0]
	j.head, j.full = 0, false
}

// Close wakes every waiter and follower for good (shutdown). Record still
// works afterwards.
func (j *Journal) Close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.closed {
		j.closed = true
		close(j.wake)
	}
}

// Seq returns the last sequence number given.
func (j *Journal) Seq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq
}

// Len returns the number of entries held.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.ring)
}

// each calls fn on the held entries, oldest first, under the lock.
func (j *Journal) each(fn func(*Entry) bool) {
	n := len(j.ring)
	for i := range n {
		k := i
		if j.full {
			k = (j.head + i) % n
		}
		if !fn(&j.ring[k]) {
			return
		}
	}
}

// Query returns up to limit matching entries, oldest first (limit <= 0: all).
func (j *Journal) Query(f Filter, limit int) []Entry {
	out, _, _ := j.Read(f, limit)
	return out
}

// Read returns up to limit entries matching f, oldest first; scanned, the
// sequence number up to which the ring was looked at (a follower passes it
// as the next Since, whether or not anything matched); and a channel closed
// when anything is appended after this call, or at Close. A follower whose
// Since fell out of the ring gets what is left, from the oldest.
func (j *Journal) Read(f Filter, limit int) (entries []Entry, scanned uint64, wake <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	scanned = j.seq
	j.each(func(e *Entry) bool {
		if !f.Match(*e) {
			return true
		}
		if limit > 0 && len(entries) == limit {
			scanned = entries[len(entries)-1].Seq
			return false
		}
		c := *e
		entries = append(entries, c)
		return true
	})
	if scanned < f.Since {
		scanned = f.Since
	}
	return entries, scanned, j.wake
}

// Closed reports whether Close was called.
func (j *Journal) Closed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

// Wait returns the first entry matching f (seq above f.Since, the entries
// already held included), waiting for one until ctx is done (its error) or
// the journal closes (ErrClosed).
func (j *Journal) Wait(ctx context.Context, f Filter) (Entry, error) {
	for {
		got, scanned, wake := j.Read(f, 1)
		if len(got) > 0 {
			return got[0], nil
		}
		if j.Closed() {
			return Entry{}, ErrClosed
		}
		f.Since = scanned
		select {
		case <-wake:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
}

// Follower reads a journal's new entries in order.
type Follower struct {
	j *Journal
	f Filter
}

// Follow returns a follower of the entries matching f after f.Since.
func (j *Journal) Follow(f Filter) *Follower { return &Follower{j: j, f: f} }

// Poll returns the matching entries not read yet (up to limit; <= 0: all)
// and a channel closed when there may be more. It never blocks.
func (fl *Follower) Poll(limit int) ([]Entry, <-chan struct{}) {
	got, scanned, wake := fl.j.Read(fl.f, limit)
	fl.f.Since = scanned
	return got, wake
}

// Next blocks until there are matching entries, and returns them; ctx's
// error or ErrClosed end it.
func (fl *Follower) Next(ctx context.Context, limit int) ([]Entry, error) {
	for {
		got, wake := fl.Poll(limit)
		if len(got) > 0 {
			return got, nil
		}
		if fl.j.Closed() {
			return nil, ErrClosed
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
