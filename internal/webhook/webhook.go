// Package webhook sends LiveKit webhooks: it turns registry events into
// WebhookEvents (room_started, room_finished, participant_joined,
// participant_left, participant_connection_aborted, track_published,
// track_unpublished) and POSTs them, signed as LiveKit signs them, to every
// configured URL.
//
// Each URL has its own bounded queue and one worker goroutine, so events
// reach a receiver in the order they happened and a slow or dead receiver
// delays only itself. Observe never blocks: when a queue is full the event is
// dropped for that URL and counted (Dropped).
package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/lkproto"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Event names.
const (
	EventRoomStarted                  = "room_started"
	EventRoomFinished                 = "room_finished"
	EventParticipantJoined            = "participant_joined"
	EventParticipantLeft              = "participant_left"
	EventParticipantConnectionAborted = "participant_connection_aborted"
	EventTrackPublished               = "track_published"
	EventTrackUnpublished             = "track_unpublished"
)

// Wire constants of LiveKit's notifier.
const (
	ContentType = "application/webhook+json"
	UserAgent   = "LiveKit"
	TokenTTL    = 5 * time.Minute
)

// Defaults of Options.
const (
	DefaultQueueSize      = 100
	DefaultMaxAttempts    = 5
	DefaultRequestTimeout = 5 * time.Second
)

// Options configure a Notifier.
type Options struct {
	URLs      []string
	APIKey    string // the key that signs (WEBHOOK_API_KEY)
	APISecret string
	IDs       *ids.Generator   // EV_ ids; default crypto/rand
	Now       func() time.Time // createdAt and token times; default time.Now
	Client    *http.Client     // default: a client of its own
	Logger    *slog.Logger     // default: discard

	QueueSize      int           // events waiting per URL; default 100
	MaxAttempts    int           // tries per event and URL; default 5
	RequestTimeout time.Duration // per try; default 5 s
	// Backoff is the wait before try n+1 after try n failed (n ≥ 1);
	// default 250 ms doubling, at most 4 s.
	Backoff func(n int) time.Duration
}

func defaultBackoff(n int) time.Duration {
	d := 250 * time.Millisecond << min(n-1, 4)
	return min(d, 4*time.Second)
}

// Notifier delivers webhooks. Observe may be called from any goroutine; Start
// and Close once each, by the owner.
type Notifier struct {
	o       Options
	issuer  *auth.Issuer
	targets []*target

	// stop ends the workers at once (in-flight requests are canceled);
	// drain asks them to empty their queues first.
	stopCtx context.Context
	stop    context.CancelFunc
	drain   chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex      // guards the fields below
	active  map[string]bool // participant sid → participant_joined was sent
	started bool
	closed  bool

	delivered atomic.Uint64
	dropped   atomic.Uint64
}

type target struct {
	url   string
	host  string // for logs: never the path or query, which may hold secrets
	queue chan job
}

type job struct {
	event string
	body  []byte
}

// New returns a notifier for o.URLs; with no URL it accepts events and does
// nothing. Start it to deliver.
func New(o Options) *Notifier {
	if o.IDs == nil {
		o.IDs = ids.New(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.Backoff == nil {
		o.Backoff = defaultBackoff
	}
	n := &Notifier{
		o:      o,
		issuer: auth.NewIssuer(o.APIKey, o.APISecret, o.Now),
		drain:  make(chan struct{}),
		active: make(map[string]bool),
	}
	n.stopCtx, n.stop = context.WithCancel(context.Background())
	for _, u := range o.URLs {
		host := u
		if pu, err := url.Parse(u); err == nil {
			host = pu.Scheme + "://" + pu.Host
		}
		n.targets = append(n.targets, &target{url: u, host: host, queue: make(chan job, o.QueueSize)})
	}
	return n
}

// Enabled reports whether any URL is configured.
func (n *Notifier) Enabled() bool { return len(n.targets) > 0 }

// Delivered counts events a receiver accepted (2xx), per URL.
func (n *Notifier) Delivered() uint64 { return n.delivered.Load() }

// Dropped counts events not delivered, per URL: queue full, every try
// failed, refused by the receiver (4xx), or still queued at Close.
func (n *Notifier) Dropped() uint64 { return n.dropped.Load() }

// Start starts one worker per URL.
func (n *Notifier) Start() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started || n.closed {
		return
	}
	n.started = true
	for _, t := range n.targets {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.work(t)
		}()
	}
}

// Close stops taking events, lets the workers deliver what is queued until
// ctx ends, then cancels what is left (counted as dropped) and waits for the
// workers.
func (n *Notifier) Close(ctx context.Context) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	started := n.started
	n.mu.Unlock()

	close(n.drain)
	if started {
		done := make(chan struct{})
		go func() {
			n.wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			n.stop()
			<-done
		}
	}
	n.stop()
	for _, t := range n.targets {
		n.dropped.Add(uint64(len(t.queue)))
	}
}

// Observe turns a registry event into a webhook and queues it for every
// URL. It never blocks (rooms.Observer).
func (n *Notifier) Observe(ev rooms.Event) {
	if len(n.targets) == 0 {
		return
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		n.dropped.Add(uint64(len(n.targets)))
		return
	}
	we := n.convert(ev)
	n.mu.Unlock()
	if we == nil {
		return
	}
	we.Id = n.o.IDs.EventID()
	we.CreatedAt = ev.At.Unix()
	if ev.At.IsZero() {
		we.CreatedAt = n.o.Now().Unix()
	}
	body, err := protojson.Marshal(we)
	if err != nil {
		n.o.Logger.Error("webhook: encoding event", "event", we.Event, "err", err)
		n.dropped.Add(uint64(len(n.targets)))
		return
	}
	for _, t := range n.targets {
		select {
		case t.queue <- job{event: we.Event, body: body}:
		default:
			n.dropped.Add(1)
			n.o.Logger.Warn("webhook queue full, event dropped", "url", t.host, "event", we.Event)
		}
	}
}

// convert maps ev to a webhook, or nil for events LiveKit does not send.
// A participant is announced (participant_joined) once it is ACTIVE; one
// that leaves before is participant_connection_aborted. n.mu is held.
func (n *Notifier) convert(ev rooms.Event) *livekit.WebhookEvent {
	ref := &livekit.Room{Sid: ev.RoomSid, Name: ev.RoomName}
	p := ev.Participant
	switch ev.Kind {
	case rooms.EventRoomStarted, rooms.EventRoomClosed:
		name := EventRoomStarted
		if ev.Kind == rooms.EventRoomClosed {
			name = EventRoomFinished
		}
		room := ref
		if ev.Room != nil {
			room = lkproto.Room(*ev.Room)
		}
		return &livekit.WebhookEvent{Event: name, Room: room}
	case rooms.EventParticipantJoined, rooms.EventParticipantUpdated:
		if p.State != rooms.StateActive || n.active[p.Sid] {
			return nil
		}
		n.active[p.Sid] = true
		return &livekit.WebhookEvent{Event: EventParticipantJoined, Room: ref, Participant: lkproto.Participant(p, "")}
	case rooms.EventParticipantLeft:
		name := EventParticipantConnectionAborted
		if n.active[p.Sid] {
			name = EventParticipantLeft
		}
		delete(n.active, p.Sid)
		p.State = rooms.StateDisconnected // a room closing leaves it as it was
		return &livekit.WebhookEvent{Event: name, Room: ref, Participant: lkproto.Participant(p, ev.Reason)}
	case rooms.EventTrackPublished, rooms.EventTrackUnpublished:
		name := EventTrackPublished
		if ev.Kind == rooms.EventTrackUnpublished {
			name = EventTrackUnpublished
		}
		// LiveKit sends only the owner's sid and identity here.
		return &livekit.WebhookEvent{
			Event: name, Room: ref,
			Participant: &livekit.ParticipantInfo{Sid: p.Sid, Identity: p.Identity},
			Track:       lkproto.Track(ev.Track),
		}
	}
	return nil
}

// work delivers t's queue in order until drained (Close) or stopped.
func (n *Notifier) work(t *target) {
	for {
		select {
		case j := <-t.queue:
			n.deliver(t, j)
		case <-n.stopCtx.Done():
			return
		case <-n.drain:
			for {
				select {
				case j := <-t.queue:
					n.deliver(t, j)
				default:
					return
				}
			}
		}
	}
}

// errPermanent marks an answer not worth retrying (a 4xx other than 408
// and 429), as retryablehttp decides.
var errPermanent = errors.New("receiver refused the webhook")

// deliver tries j up to MaxAttempts times with backoff.
func (n *Notifier) deliver(t *target, j job) {
	var err error
	for attempt := 1; attempt <= n.o.MaxAttempts; attempt++ {
		if n.stopCtx.Err() != nil {
			break
		}
		if err = n.post(t, j); err == nil {
			n.delivered.Add(1)
			return
		}
		if errors.Is(err, errPermanent) || attempt == n.o.MaxAttempts {
			break
		}
		timer := time.NewTimer(n.o.Backoff(attempt))
		select {
		case <-timer.C:
		case <-n.stopCtx.Done():
			timer.Stop()
		}
	}
	n.dropped.Add(1)
	n.o.Logger.Warn("webhook not delivered", "url", t.host, "event", j.event, "err", err)
}

// post sends j once: a fresh token per try, its sha256 claim the base64
// (standard, padded) SHA-256 of the exact body.
func (n *Notifier) post(t *target, j job) error {
	sum := sha256.Sum256(j.body)
	token, _, err := n.issuer.Mint(auth.Claims{SHA256: base64.StdEncoding.EncodeToString(sum[:])}, TokenTTL)
	if err != nil {
		return fmt.Errorf("%w: signing: %v", errPermanent, err)
	}
	ctx, cancel := context.WithTimeout(n.stopCtx, n.o.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(j.body))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("Authorization", token) // raw, no "Bearer ", as LiveKit sends it
	req.Header.Set("User-Agent", UserAgent)
	res, err := n.o.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return nil
	case res.StatusCode == http.StatusRequestTimeout, res.StatusCode == http.StatusTooManyRequests,
		res.StatusCode >= 500 && res.StatusCode != http.StatusNotImplemented:
		return fmt.Errorf("receiver answered %d", res.StatusCode)
	}
	return fmt.Errorf("%w: status %d", errPermanent, res.StatusCode)
}
