package webhook_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/webhook"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	key    = "whkey"
	secret = "webhook-secret-of-at-least-32-bytes!"
	wait   = 10 * time.Second // deadline for an awaited effect, never a timing assertion
)

// hit is one request the receiver saw.
type hit struct {
	header http.Header
	body   []byte
}

// receiver is a test webhook endpoint. answer decides the status of the
// n-th request (from 1); nil answers 200. hold, when set, is waited on
// before answering.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	hits   []hit
	arrive chan struct{} // one value per request, buffered
	answer func(n int) int
	hold   chan struct{}
}

func newReceiver(t *testing.T, answer func(n int) int, hold chan struct{}) *receiver {
	t.Helper()
	r := &receiver{arrive: make(chan struct{}, 1024), answer: answer, hold: hold}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, hit{header: req.Header.Clone(), body: body})
		n := len(r.hits)
		r.mu.Unlock()
		r.arrive <- struct{}{}
		if r.hold != nil {
			select {
			case <-r.hold:
			case <-req.Context().Done():
				return
			}
		}
		status := http.StatusOK
		if r.answer != nil {
			status = r.answer(n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// await waits for n more requests.
func (r *receiver) await(t *testing.T, n int) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for range n {
		select {
		case <-r.arrive:
		case <-deadline.C:
			t.Fatalf("receiver: request did not arrive within %v", wait)
		}
	}
}

func (r *receiver) all() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

func newNotifier(t *testing.T, o webhook.Options) *webhook.Notifier {
	t.Helper()
	o.APIKey, o.APISecret = key, secret
	if o.Backoff == nil {
		o.Backoff = func(int) time.Duration { return time.Millisecond }
	}
	n := webhook.New(o)
	n.Start()
	t.Cleanup(func() { n.Close(context.Background()) })
	return n
}

// check verifies one webhook as LiveKit's receivers do and returns it.
func check(t *testing.T, h hit) *livekit.WebhookEvent {
	t.Helper()
	if got := h.header.Get("Content-Type"); got != "application/webhook+json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := h.header.Get("User-Agent"); got != "LiveKit" {
		t.Errorf("User-Agent = %q", got)
	}
	tok := h.header.Get("Authorization")
	if strings.HasPrefix(tok, "Bearer") {
		t.Errorf("Authorization has a Bearer prefix; LiveKit sends the raw token")
	}
	claims, err := auth.NewVerifier(map[string]string{key: secret}, nil).Verify(tok)
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	sum := sha256.Sum256(h.body)
	if want := base64.StdEncoding.EncodeToString(sum[:]); claims.SHA256 != want {
		t.Errorf("sha256 claim %q, body hashes to %q", claims.SHA256, want)
	}
	if ttl := claims.ExpiresAt.Sub(claims.IssuedAt); ttl != 5*time.Minute {
		t.Errorf("token lives %v, want 5m", ttl)
	}
	var ev livekit.WebhookEvent
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(h.body, &ev); err != nil {
		t.Fatalf("body is not a WebhookEvent: %v\n%s", err, h.body)
	}
	if !strings.HasPrefix(ev.Id, "EV_") || ev.CreatedAt == 0 {
		t.Errorf("id %q createdAt %d", ev.Id, ev.CreatedAt)
	}
	if !strings.Contains(string(h.body), `"createdAt":"`) {
		t.Errorf("createdAt is not a camelCase int64 string: %s", h.body)
	}
	return &ev
}

type nopSink struct{}

func (nopSink) Send(rooms.Event) bool { return true }
func (nopSink) Close(rooms.Reason)    {}

func TestScriptedSessionInOrder(t *testing.T) {
	rcv := newReceiver(t, nil, nil)
	n := newNotifier(t, webhook.Options{URLs: []string{rcv.srv.URL + "/hook?secret=x"}})
	reg := rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Hour, DepartureTimeout: time.Hour, IDs: ids.New(nil), Observer: n})
	defer reg.Close()
	ctx := context.Background()

	if _, _, err := reg.CreateRoom(ctx, "r", rooms.RoomSettings{Metadata: "meta"}); err != nil {
		t.Fatal(err)
	}
	json, err := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: "alice", Permission: rooms.AllPermissions(), State: rooms.StateActive}, nopSink{})
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := json.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindAudio, Name: "mic", Source: rooms.SourceMicrophone})
	_, _ = json.UnpublishTrack(ctx, tr.Sid)
	// A LiveKit participant is announced once ACTIVE, then leaves.
	lk, _ := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: "bob", Permission: rooms.AllPermissions(), State: rooms.StateJoined}, nopSink{})
	_ = lk.SetState(ctx, rooms.StateActive)
	_ = lk.Leave(ctx, rooms.ReasonLeft)
	// One that never becomes ACTIVE aborts.
	ab, _ := reg.Join(ctx, rooms.JoinRequest{Room: "r", Identity: "carol", Permission: rooms.AllPermissions(), State: rooms.StateJoined}, nopSink{})
	_ = ab.Leave(ctx, rooms.ReasonClosed)
	if err := reg.DeleteRoom(ctx, "r", rooms.ReasonRoomDeleted); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"room_started", "participant_joined:alice", "track_published:alice", "track_unpublished:alice",
		"participant_joined:bob", "participant_left:bob", "participant_connection_aborted:carol",
		"participant_left:alice", "room_finished",
	}
	rcv.await(t, len(want))
	hits := rcv.all()
	seen := map[string]bool{}
	for i, h := range hits {
		ev := check(t, h)
		got := ev.Event
		if ev.Participant != nil {
			got += ":" + ev.Participant.Identity
		}
		if got != want[i] {
			t.Errorf("webhook %d = %s, want %s", i, got, want[i])
		}
		if seen[ev.Id] {
			t.Errorf("id %s repeated", ev.Id)
		}
		seen[ev.Id] = true
		if ev.Room.GetName() != "r" || !strings.HasPrefix(ev.Room.GetSid(), "RM_") {
			t.Errorf("%s: room = %v", got, ev.Room)
		}
		switch {
		case ev.Event == "room_started" && ev.Room.Metadata != "meta":
			t.Errorf("room_started lacks the CreateRoom metadata: %v", ev.Room)
		case strings.HasPrefix(ev.Event, "track_") && (ev.Track.GetSid() != tr.Sid || ev.Track.Type != livekit.TrackType_AUDIO || ev.Track.Source != livekit.TrackSource_MICROPHONE):
			t.Errorf("%s: track = %v", got, ev.Track)
		case ev.Event == "participant_joined" && ev.Participant.State != livekit.ParticipantInfo_ACTIVE:
			t.Errorf("%s: state %v", got, ev.Participant.State)
		case got == "participant_left:alice" && ev.Participant.DisconnectReason != livekit.DisconnectReason_ROOM_DELETED:
			t.Errorf("%s: reason %v", got, ev.Participant.DisconnectReason)
		}
	}
	n.Close(context.Background())
	if n.Delivered() != uint64(len(want)) || n.Dropped() != 0 {
		t.Errorf("delivered %d dropped %d", n.Delivered(), n.Dropped())
	}
}

func roomEvent(name string) rooms.Event {
	return rooms.Event{Kind: rooms.EventRoomStarted, At: time.Unix(1700000000, 0), RoomName: name, RoomSid: "RM_x", Room: &rooms.RoomInfo{Name: name, Sid: "RM_x"}}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name          string
		answer        func(n int) int
		attempts      int // requests the receiver sees
		delivered     uint64
		dropped       uint64
		sameBodyTimes bool
	}{
		{"5xx then success", func(n int) int {
			if n < 3 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		}, 3, 1, 0, true},
		{"429 is retried", func(n int) int {
			if n == 1 {
				return http.StatusTooManyRequests
			}
			return http.StatusNoContent
		}, 2, 1, 0, true},
		{"4xx is final", func(int) int { return http.StatusUnauthorized }, 1, 0, 1, true},
		{"gives up after MaxAttempts", func(int) int { return http.StatusInternalServerError }, 3, 0, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, tt.answer, nil)
			n := webhook.New(webhook.Options{
				URLs: []string{rcv.srv.URL}, APIKey: key, APISecret: secret, MaxAttempts: 3,
				Backoff: func(int) time.Duration { return time.Millisecond },
			})
			n.Start()
			n.Observe(roomEvent("r"))
			rcv.await(t, tt.attempts)
			n.Close(context.Background()) // drains: the last try is finished
			hits := rcv.all()
			if len(hits) != tt.attempts {
				t.Fatalf("receiver saw %d requests, want %d", len(hits), tt.attempts)
			}
			for _, h := range hits {
				check(t, h)
				if string(h.body) != string(hits[0].body) {
					t.Error("a retry sent a different body")
				}
			}
			if n.Delivered() != tt.delivered || n.Dropped() != tt.dropped {
				t.Errorf("delivered %d dropped %d, want %d and %d", n.Delivered(), n.Dropped(), tt.delivered, tt.dropped)
			}
		})
	}
}

func TestFullQueueDropsAndNeverBlocks(t *testing.T) {
	hold := make(chan struct{})
	rcv := newReceiver(t, nil, hold)
	slow := webhook.New(webhook.Options{URLs: []string{rcv.srv.URL}, APIKey: key, APISecret: secret, QueueSize: 1})
	slow.Start()

	slow.Observe(roomEvent("first"))
	rcv.await(t, 1) // the worker holds "first" in flight
	for _, name := range []string{"second", "third", "fourth"} {
		slow.Observe(roomEvent(name)) // the queue holds one: "second"
	}
	if got := slow.Dropped(); got != 2 {
		t.Errorf("dropped %d, want 2 (queue of 1, one in flight)", got)
	}
	close(hold)
	rcv.await(t, 1)
	slow.Close(context.Background())
	hits := rcv.all()
	var names []string
	for _, h := range hits {
		names = append(names, check(t, h).Room.GetName())
	}
	if strings.Join(names, ",") != "first,second" {
		t.Errorf("delivered %v, want first,second", names)
	}
	if slow.Delivered() != 2 || slow.Dropped() != 2 {
		t.Errorf("delivered %d dropped %d", slow.Delivered(), slow.Dropped())
	}
	// After Close, events are counted and ignored.
	slow.Observe(roomEvent("late"))
	if slow.Dropped() != 3 {
		t.Errorf("event after Close: dropped %d, want 3", slow.Dropped())
	}
}

func TestCloseGivesUpWhenItsContextEnds(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	rcv := newReceiver(t, nil, hold)
	n := webhook.New(webhook.Options{URLs: []string{rcv.srv.URL}, APIKey: key, APISecret: secret})
	n.Start()
	n.Observe(roomEvent("a"))
	rcv.await(t, 1)
	n.Observe(roomEvent("b"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.Close(ctx) // must return: the in-flight request is canceled
	if n.Delivered() != 0 || n.Dropped() != 2 {
		t.Errorf("delivered %d dropped %d, want 0 and 2", n.Delivered(), n.Dropped())
	}
}

func TestDeadReceiverAndSeveralURLs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	_ = ln.Close() // connection refused from now on
	rcv := newReceiver(t, nil, nil)
	n := webhook.New(webhook.Options{
		URLs: []string{dead, rcv.srv.URL}, APIKey: key, APISecret: secret, MaxAttempts: 2,
		Backoff: func(int) time.Duration { return time.Millisecond },
	})
	n.Start()
	n.Observe(roomEvent("r"))
	rcv.await(t, 1)
	n.Close(context.Background())
	if n.Delivered() != 1 || n.Dropped() != 1 {
		t.Errorf("delivered %d dropped %d, want 1 and 1 (the dead URL)", n.Delivered(), n.Dropped())
	}
}

func TestNoURLsIsANoOp(t *testing.T) {
	n := webhook.New(webhook.Options{APIKey: key, APISecret: secret})
	n.Start()
	n.Observe(roomEvent("r"))
	n.Close(context.Background())
	if n.Enabled() || n.Delivered() != 0 || n.Dropped() != 0 {
		t.Errorf("enabled %v delivered %d dropped %d", n.Enabled(), n.Delivered(), n.Dropped())
	}
}
