// Package admin holds the semantics of the test-control API (SPEC §10),
// free of any transport: reset, server-side (fake) participants, fault
// rules, and the adapter that feeds room events into the journal. The HTTP
// framing lives in internal/httpapi/admin.go.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/agents/scripted"
	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

func defaultRand() float64 { return rand.Float64() }

// What a reset may empty.
const (
	ResetRooms     = "rooms"
	ResetRateLimit = "ratelimit"
	ResetJournal   = "journal"
	ResetFaults    = "faults"
	ResetStats     = "stats"
)

// ResetAll is what a reset without a list empties.
func ResetAll() []string {
	return []string{ResetRooms, ResetRateLimit, ResetJournal, ResetFaults, ResetStats}
}

// Sessions is what a reset and fault rules need of the signalling hub
// (*signal.Hub).
type Sessions interface {
	EndAll(reason rooms.Reason) int
	ApplyFaults()
}

// Resetter forgets state: rate-limit buckets (ratelimit.Limiter), counters.
type Resetter interface {
	Reset(ctx context.Context) error
}

// Options configure an Admin. Registry and Journal are required.
type Options struct {
	Registry *rooms.Registry
	Journal  *journal.Journal
	Faults   *Faults    // default: NewFaults(Journal, nil)
	Sessions Sessions   // nil: no sessions to end or fault
	Limiters []Resetter // emptied by a reset of "ratelimit"
	Stats    Resetter   // emptied by a reset of "stats"; nil: nothing to do
	Agents   Resetter   // agent jobs, ended by a reset of "rooms"; nil: nothing to do
	Media    Media      // plays fake participants' media; nil: silent tracks
	MediaDir string     // ADMIN_MEDIA_DIR: the only place fakes' files are read from; "": none
	// Wire and Voices run scripted agents: without Wire none can be added,
	// without Voices they neither speak nor hear.
	Wire   AgentWire
	Voices Voices
	// Catalog holds the scripted agents configured at start-up
	// (DispatchAgent); DefaultAgent names the one the default dispatch of
	// every new room gets, "" for none.
	Catalog      scripted.Catalog
	DefaultAgent string
	Logger       *slog.Logger
}

// Admin is the test-control service.
type Admin struct {
	o      Options
	faults *Faults

	ctx    context.Context // ends the fakes' data loops at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per fake data loop and per scripted agent
	agents agents
}

// New returns an Admin; Close stops what it started.
func New(o Options) *Admin {
	if o.Faults == nil {
		o.Faults = NewFaults(o.Journal, nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MediaDir != "" {
		if abs, err := filepath.Abs(o.MediaDir); err == nil {
			o.MediaDir = abs
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Admin{o: o, faults: o.Faults, ctx: ctx, cancel: cancel}
}

// Close ends the fake participants' data loops and media and waits for
// them.
func (a *Admin) Close() {
	a.cancel()
	a.wg.Wait()
}

// Faults returns the fault rules.
func (a *Admin) Faults() *Faults { return a.faults }

// Journal returns the journal.
func (a *Admin) Journal() *journal.Journal { return a.o.Journal }

// AddFault adds a rule and applies close and abort rules to the sessions
// already joined.
func (a *Admin) AddFault(r Rule) (Rule, error) {
	out, err := a.faults.Add(r)
	if err == nil && out.Target == TargetRTC && a.o.Sessions != nil {
		a.o.Sessions.ApplyFaults()
	}
	return out, err
}

// ResetResult says what a reset did.
type ResetResult struct {
	What     []string // what was emptied
	Sessions int      // sessions ended
	Rooms    int      // rooms deleted
	Faults   int      // rules removed
	Seq      uint64   // seq of the journal's "reset" entry
}

// Reset empties what (nil: ResetAll): sessions are told room_deleted and
// the registry emptied ("rooms"), the rate-limit buckets, the journal (its
// sequence numbers go on), the fault rules, the counters. A "reset" entry
// is journaled last, so a test can wait for events after its seq.
func (a *Admin) Reset(ctx context.Context, what []string) (ResetResult, error) {
	if what == nil {
		what = ResetAll()
	}
	for i, w := range what {
		if !slices.Contains(ResetAll(), w) {
			return ResetResult{}, invalid(fmt.Sprintf("what[%d]", i), `must be one of "rooms", "ratelimit", "journal", "faults", "stats"`)
		}
	}
	res := ResetResult{What: slices.Compact(slices.Sorted(slices.Values(what)))}
	has := func(w string) bool { return slices.Contains(what, w) }
	var errs []error
	if has(ResetFaults) {
		// First, so that no fault delays the goodbyes below.
		res.Faults = a.faults.Clear()
	}
	if has(ResetRooms) {
		if a.o.Agents != nil { // first, so that the jobs end as reset, not as room closed
			errs = append(errs, a.o.Agents.Reset(ctx))
		}
		res.Rooms = a.o.Registry.DeleteAllRooms(ctx, rooms.ReasonRoomDeleted)
		if a.o.Sessions != nil {
			// Sessions not in a room (connected, never joined) end too.
			res.Sessions = a.o.Sessions.EndAll(rooms.ReasonRoomDeleted)
		}
	}
	if has(ResetRateLimit) {
		for _, l := range a.o.Limiters {
			if l != nil {
				errs = append(errs, l.Reset(ctx))
			}
		}
	}
	if has(ResetStats) && a.o.Stats != nil {
		errs = append(errs, a.o.Stats.Reset(ctx))
	}
	if has(ResetJournal) {
		a.o.Journal.Clear()
	}
	e := a.o.Journal.Append(journal.TypeReset, "", "", map[string]any{
		"what": res.What, "rooms": res.Rooms, "sessions": res.Sessions, "faults": res.Faults,
	})
	res.Seq = e.Seq
	return res, errors.Join(errs...)
}

// FakeTrack is a track a fake participant publishes.
type FakeTrack struct {
	Kind   string // rooms.KindAudio or rooms.KindVideo
	Name   string
	Source string // default microphone for audio, camera for video
	// File is the path of what the track plays in a loop (Ogg/Opus for
	// audio, IVF/VP8 for video); empty: an embedded 440 Hz tone or colour
	// bars.
	File string
}

// FakeData makes a fake participant send Payload on Topic every Every.
type FakeData struct {
	Every   time.Duration
	Payload string
	Topic   string
}

// Fake describes a fake participant.
type Fake struct {
	Room       string
	Identity   string
	Name       string
	Metadata   string
	Attributes map[string]string
	Tracks     []FakeTrack
	Data       *FakeData
	// Agent, when set, makes the fake a scripted agent (kind agent) that
	// runs it; AgentName is the name it was dispatched under, if any.
	Agent     *scripted.Script
	AgentName string

	roomSid    string // join only this room (dispatch)
	dispatched bool   // leave when the last other participant has
}

// MinDataEvery bounds how often a fake may send data.
const MinDataEvery = 10 * time.Millisecond

// AddFake adds a server-side participant that every client sees like any
// other: it joins, publishes its tracks, and sends its data periodically
// until it is removed. Names are checked by the caller (transport).
func (a *Admin) AddFake(ctx context.Context, f Fake) (rooms.ParticipantInfo, error) {
	if f.Agent != nil {
		return a.addAgent(ctx, f)
	}
	if f.Data != nil && f.Data.Every < MinDataEvery {
		return rooms.ParticipantInfo{}, invalid("data.every_ms", fmt.Sprintf("must be at least %d", MinDataEvery.Milliseconds()))
	}
	files, err := a.mediaFiles(f.Tracks)
	if err != nil {
		return rooms.ParticipantInfo{}, err
	}
	req := rooms.FakeRequest{
		Room: f.Room, Identity: f.Identity, Name: f.Name, Metadata: f.Metadata, Attributes: f.Attributes,
	}
	// A muted track stops sending, as a client's would; an unpublished one
	// (its permission revoked) stops playing. Both run on the room's
	// goroutine and must not block.
	unpublished := make(chan string, len(f.Tracks))
	if a.o.Media != nil {
		req.OnMuted = a.o.Media.SetMuted
		req.OnUnpublished = func(trackSid string) {
			select {
			case unpublished <- trackSid:
			default: // cannot happen: each track is unpublished once
			}
		}
	}
	for _, t := range f.Tracks {
		src := t.Source
		if src == "" {
			src = rooms.SourceCamera
			if t.Kind == rooms.KindAudio {
				src = rooms.SourceMicrophone
			}
		}
		req.Tracks = append(req.Tracks, rooms.TrackRequest{Kind: t.Kind, Name: t.Name, Source: src})
	}
	m, sink, info, err := a.o.Registry.JoinFake(ctx, req)
	if err != nil {
		return rooms.ParticipantInfo{}, err
	}
	// The fake's media plays until it leaves (removal, reset, room
	// deleted), the track is unpublished, or the Admin closes.
	stops := a.startMedia(info, files)
	if f.Data != nil || len(stops) > 0 {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.runFake(m, sink, f.Data, stops, unpublished)
		}()
	}
	return info, nil
}

// runFake sends a fake's data, if it has some, and stops the media of the
// tracks it loses, until the fake leaves or the Admin closes; then it stops
// all of its media.
func (a *Admin) runFake(m *rooms.Member, sink *rooms.FakeSink, d *FakeData, stops map[string]func(), unpublished <-chan string) {
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	var tick <-chan time.Time
	if d != nil {
		t := time.NewTicker(d.Every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			err := m.SendData(a.ctx, rooms.DataPacket{Payload: []byte(d.Payload), Topic: d.Topic, Reliable: true})
			if err != nil {
				tick = nil // gone or refused: the media, if any, goes on until the fake leaves
			}
		case sid := <-unpublished:
			if stop := stops[sid]; stop != nil {
				stop()
				delete(stops, sid)
			}
		case <-sink.Done():
			return
		case <-a.ctx.Done():
			return
		}
	}
}

// RemoveParticipant removes a fake or any real participant; its session is
// closed with reason removed.
func (a *Admin) RemoveParticipant(ctx context.Context, room, identity string) error {
	return a.o.Registry.RemoveParticipant(ctx, room, identity, rooms.ReasonRemoved)
}
