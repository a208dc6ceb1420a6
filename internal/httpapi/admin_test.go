package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/livekit-mock/livekit-mock/internal/admin"
	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal"
)

// adminEnv is the whole HTTP surface with test control, on a real listener.
type adminEnv struct {
	*testServer
	rtc  *rtcEnv // wsURL and client helpers
	hub  *signal.Hub
	reg  *rooms.Registry
	jour *journal.Journal
	adm  *admin.Admin
}

func startAdmin(t *testing.T, env map[string]string, hubOpts signal.Options) *adminEnv {
	t.Helper()
	return startAdminWith(t, env, hubOpts, nil)
}

// startAdminWith is startAdmin with tweak applied to the Deps.
func startAdminWith(t *testing.T, env map[string]string, hubOpts signal.Options, tweak func(*Deps)) *adminEnv {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	cfg := testConfig(t, env)
	now := time.Now
	policy, _ := names.ParsePolicy(cfg.NamePolicy)
	jour := journal.New(journal.Options{Size: cfg.JournalSize, Payloads: cfg.JournalPayloads})
	faults := admin.NewFaults(jour, nil)
	reg := rooms.NewRegistry(rooms.Options{
		EmptyTimeout: cfg.RoomEmptyTimeout, DepartureTimeout: cfg.RoomDepartureTimeout,
		IDs: ids.New(nil), Observer: admin.Observer(jour),
	})
	hubOpts.Journal, hubOpts.Faults = jour, faults
	if hubOpts.CloseGrace == 0 {
		hubOpts.CloseGrace = 200 * time.Millisecond
	}
	hub := signal.NewHub(hubOpts)
	mint := ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now)
	service := ratelimit.NewFixedWindow(cfg.RateLimitMax, cfg.RateLimitWindow, 0, now)
	adm := admin.New(admin.Options{Registry: reg, Journal: jour, Faults: faults, Sessions: hub,
		Limiters: []admin.Resetter{mint, service}})
	verifier := auth.NewVerifier(cfg.Keys, now)
	d := Deps{
		Config: cfg, Logger: slog.New(slog.DiscardHandler),
		Issuer: auth.NewIssuer(cfg.APIKey, cfg.APISecret, now), Verifier: verifier,
		RTC: rtcEndpoint(cfg, hub, reg, verifier, nil),
		IDs: ids.New(nil), Names: policy, Now: now, Started: now(),
		MintLimiter: mint, ServiceLimiter: service,
		Rooms: reg, Conns: hub, Registry: reg, Hub: hub,
		Admin: adm, Journal: jour, AdminHeartbeat: 50 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&d)
	}
	s := serveDeps(t, cfg, now, d)
	t.Cleanup(func() {
		jour.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = hub.Shutdown(ctx)
		s.Close()
		reg.Close()
		adm.Close()
	})
	ts := &testServer{Server: s, cfg: cfg}
	issuer := auth.NewIssuer(cfg.APIKey, cfg.APISecret, now)
	return &adminEnv{testServer: ts, rtc: &rtcEnv{srv: s, cfg: cfg, hub: hub, reg: reg, issuer: issuer}, hub: hub, reg: reg, jour: jour, adm: adm}
}

func (e *adminEnv) post(t *testing.T, path, body string) reply {
	t.Helper()
	return e.do(t, http.MethodPost, path, body, nil)
}

// waitEvent long-polls /__admin/events/wait.
func (e *adminEnv) waitEvent(t *testing.T, typ, room, identity string) map[string]any {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"type": typ, "room": room, "identity": identity, "timeout_ms": wait.Milliseconds()})
	r := e.post(t, "/__admin/events/wait", string(b))
	if r.status != http.StatusOK {
		t.Fatalf("wait for %s of %s/%s: %d %s", typ, room, identity, r.status, r.raw)
	}
	return r.body
}

func (e *adminEnv) events(t *testing.T, query string) []journal.Entry {
	t.Helper()
	r := e.do(t, http.MethodGet, "/__admin/events?"+query, "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("events: %d %s", r.status, r.raw)
	}
	var out struct{ Events []journal.Entry }
	if err := json.Unmarshal([]byte(r.raw), &out); err != nil {
		t.Fatal(err)
	}
	return out.Events
}

func (e *adminEnv) joined(t *testing.T, room, identity string) *client {
	t.Helper()
	return e.rtc.joined(t, room, identity)
}

func TestAdminOffAnswers404Everywhere(t *testing.T) {
	e := startAdmin(t, map[string]string{"ADMIN_API": "off"}, signal.Options{})
	for _, c := range []struct{ method, path string }{
		{"POST", "/__admin/reset"}, {"GET", "/__admin/events"}, {"GET", "/__admin/events/stream"},
		{"POST", "/__admin/events/wait"}, {"POST", "/__admin/rooms/r/participants"},
		{"DELETE", "/__admin/rooms/r/participants/bot"}, {"POST", "/__admin/faults"}, {"GET", "/__admin/faults"},
		{"DELETE", "/__admin/faults"}, {"DELETE", "/__admin/faults/x"}, {"GET", "/__admin"}, {"PUT", "/__admin/anything"},
	} {
		r := e.do(t, c.method, c.path, "{}", nil)
		if r.status != http.StatusNotFound || r.body["error"] != msgEndpointNotFound {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.raw)
		}
	}
}

func TestAdminProductionNeedsCallerBearer(t *testing.T) {
	e := startAdmin(t, prodEnv(map[string]string{"ADMIN_API": "on"}), signal.Options{})
	tok := callerToken(t, prodJWTSecret, time.Hour, time.Now())
	for _, c := range []struct{ method, path string }{
		{"POST", "/__admin/reset"}, {"GET", "/__admin/events"}, {"GET", "/__admin/faults"}, {"GET", "/__admin/events/stream"},
	} {
		r := e.do(t, c.method, c.path, "", nil)
		if r.status != http.StatusUnauthorized || r.body["code"] != codeUnauthenticated {
			t.Errorf("%s %s without bearer: %d %s", c.method, c.path, r.status, r.raw)
		}
	}
	if r := e.do(t, "POST", "/__admin/reset", "", map[string]string{"Authorization": "Bearer " + tok}); r.status != http.StatusOK {
		t.Fatalf("reset with bearer: %d %s", r.status, r.raw)
	}
	// An EventSource cannot set headers: the stream takes ?access_token=.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/__admin/events/stream?access_token="+tok, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream with access_token: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The stream starts at the tail: the next reset is its first event.
	if r := e.do(t, "POST", "/__admin/reset", "", map[string]string{"Authorization": "Bearer " + tok}); r.status != http.StatusOK {
		t.Fatalf("second reset: %d %s", r.status, r.raw)
	}
	if ev := newSSE(resp.Body).next(t); !strings.Contains(ev.data, `"type":"reset"`) {
		t.Fatalf("no reset event: %+v", ev)
	}
}

func TestResetEmptiesEverything(t *testing.T) {
	e := startAdmin(t, map[string]string{"RATE_LIMIT_MAX": "1"}, signal.Options{})
	body := `{"roomName":"r","participantName":"u"}`
	if r := e.mint(t, body); r.status != http.StatusOK {
		t.Fatalf("first mint: %d", r.status)
	}
	if r := e.mint(t, body); r.status != http.StatusTooManyRequests {
		t.Fatalf("second mint: %d, want 429", r.status)
	}
	alice := e.joined(t, "r", "alice")
	idle := e.rtc.connect(t) // connected, never joined
	if r := e.post(t, "/__admin/faults", `{"target":"http","action":"latency","latency_ms":1,"match":{"route":"/nowhere"}}`); r.status != http.StatusCreated {
		t.Fatalf("add fault: %d %s", r.status, r.raw)
	}

	r := e.post(t, "/__admin/reset", "")
	if r.status != http.StatusOK || r.body["rooms"] != float64(1) || r.body["faults"] != float64(1) {
		t.Fatalf("reset: %d %s", r.status, r.raw)
	}
	if m := alice.expect("disconnected"); m["reason"] != "room_deleted" {
		t.Fatalf("alice told %v", m)
	}
	if code, _ := alice.closed(); code != websocket.CloseNormalClosure {
		t.Fatalf("alice close code %d", code)
	}
	if m := idle.expect("disconnected"); m["reason"] != "room_deleted" {
		t.Fatalf("idle session told %v", m)
	}
	if rooms := e.do(t, "GET", "/api/rooms", "", nil); len(rooms.body["rooms"].([]any)) != 0 {
		t.Fatalf("rooms after reset: %s", rooms.raw)
	}
	if r := e.mint(t, body); r.status != http.StatusOK {
		t.Fatalf("mint after reset: %d, want the IP freed", r.status)
	}
	if f := e.do(t, "GET", "/__admin/faults", "", nil); f.raw != `{"faults":[]}` {
		t.Fatalf("faults after reset: %s", f.raw)
	}
	evs := e.events(t, "type=reset")
	if len(evs) != 1 || evs[0].Seq != uint64(r.body["seq"].(float64)) || evs[0].Seq < 5 {
		t.Fatalf("journal after reset: %+v (seq must go on rising)", evs)
	}
	if all := e.events(t, fmt.Sprintf("since=%d&type=token_minted", evs[0].Seq-1)); len(all) != 1 {
		t.Fatalf("only what came after the reset stays: %+v", all)
	}

	// A partial reset leaves the rest alone.
	e.post(t, "/__admin/faults", `{"target":"rtc","action":"drop","match":{"identity":"nobody"}}`)
	if r := e.post(t, "/__admin/reset", `{"what":["ratelimit"]}`); r.status != http.StatusOK {
		t.Fatalf("partial reset: %d %s", r.status, r.raw)
	}
	if f := e.do(t, "GET", "/__admin/faults", "", nil); !strings.Contains(f.raw, "nobody") {
		t.Fatalf("faults after a ratelimit reset: %s", f.raw)
	}
}

func TestJournalRecordsHTTPEvents(t *testing.T) {
	e := startAdmin(t, map[string]string{"RATE_LIMIT_MAX": "1"}, signal.Options{})
	e.mint(t, `{"roomName":"r","participantName":"u","participantIdentity":"alice"}`)
	e.mint(t, `{"roomName":"r","participantName":"u","participantIdentity":"alice"}`)
	e.do(t, "POST", "/token/join", `{"room_name":"r"}`, nil)
	e.do(t, "POST", "/api/livekit/token", "{}", map[string]string{"Origin": "https://evil.example"})
	e.do(t, "GET", "/rtc", "", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Origin": ""})
	want := []struct{ typ, identity string }{
		{journal.TypeTokenMinted, "alice"}, {journal.TypeRateLimited, ""}, {journal.TypeTokenRefused, ""},
		{journal.TypeOriginRefused, ""}, {journal.TypeConnectionRefused, ""},
	}
	got := e.events(t, "")
	if len(got) != len(want) {
		t.Fatalf("journal: %+v", got)
	}
	for i, w := range want {
		if got[i].Type != w.typ || got[i].Identity != w.identity {
			t.Errorf("entry %d = %s/%s, want %s/%s", i, got[i].Type, got[i].Identity, w.typ, w.identity)
		}
	}
	for _, ev := range got {
		b, _ := json.Marshal(ev)
		if strings.Contains(string(b), "eyJ") {
			t.Fatalf("a token leaked into the journal: %s", b)
		}
	}
}

func TestJournalOrdersConcurrentSessions(t *testing.T) {
	e := startAdmin(t, nil, signal.Options{})
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprint("p", i)
			c := e.joined(t, fmt.Sprint("room", i), id) // own rooms: replies in a known order
			c.send(map[string]any{"type": "publish_track", "trackKind": "audio", "trackName": "mic"})
			c.expect("track_published")
			c.send(map[string]any{"type": "leave_room"})
			for c.next()["type"] != "room_left" {
			}
			_ = c.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			c.closed()
		})
	}
	wg.Wait()
	for i := range n {
		e.waitEvent(t, journal.TypeConnectionClosed, "", fmt.Sprint("p", i))
	}
	all := e.events(t, "")
	order := map[string][]string{}
	for k, ev := range all {
		if k > 0 && ev.Seq <= all[k-1].Seq {
			t.Fatalf("seq not rising: %d after %d", ev.Seq, all[k-1].Seq)
		}
		if ev.Identity != "" {
			order[ev.Identity] = append(order[ev.Identity], ev.Type)
		}
	}
	want := []string{journal.TypeParticipantJoined, journal.TypeTrackPublished, journal.TypeParticipantLeft, journal.TypeConnectionClosed}
	for i := range n {
		id := fmt.Sprint("p", i)
		if !slices.Equal(order[id], want) {
			t.Errorf("%s saw %v, want %v", id, order[id], want)
		}
	}
	closed := e.events(t, "type=connection_closed&identity=p0")
	if len(closed) != 1 || closed[0].Detail["code"] != float64(1000) || closed[0].Detail["by"] != "client" {
		t.Fatalf("connection_closed of p0: %+v", closed)
	}
}

func TestJournalDropsOldestWhenFull(t *testing.T) {
	e := startAdmin(t, map[string]string{"JOURNAL_SIZE": "3"}, signal.Options{})
	for range 5 {
		e.mint(t, `{"roomName":"r","participantName":"u"}`)
	}
	got := e.events(t, "")
	if len(got) != 3 || got[0].Seq != 3 || got[2].Seq != 5 {
		t.Fatalf("journal of 3 after 5 mints: %+v", got)
	}
}

// sse reads Server-Sent Events.
type sse struct{ br *bufio.Reader }

type sseEvent struct{ id, data string }

func newSSE(r io.Reader) *sse { return &sse{br: bufio.NewReader(r)} }

// next returns the next event with data, skipping comments and heartbeats.
func (s *sse) next(t *testing.T) sseEvent {
	t.Helper()
	var ev sseEvent
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if ev.data != "" {
				return ev
			}
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func (e *adminEnv) stream(t *testing.T, query, lastID string) (*sse, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/__admin/events/stream?"+query, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	return newSSE(resp.Body), func() { cancel(); resp.Body.Close() }
}

func TestStreamResumesFromLastEventID(t *testing.T) {
	e := startAdmin(t, nil, signal.Options{})
	e.post(t, "/__admin/rooms/r/participants", `{"identity":"early"}`)
	// Without Last-Event-ID the stream starts at the tail: only new entries.
	s, stop := e.stream(t, "type=participant_joined", "")
	for i := range 3 {
		e.post(t, "/__admin/rooms/r/participants", fmt.Sprintf(`{"identity":"bot%d"}`, i))
	}
	var ids []string
	for i := range 3 {
		ev := s.next(t)
		var entry journal.Entry
		if err := json.Unmarshal([]byte(ev.data), &entry); err != nil || entry.Type != journal.TypeParticipantJoined {
			t.Fatalf("event %+v: %v", ev, err)
		}
		if want := fmt.Sprintf("bot%d", i); entry.Identity != want {
			t.Fatalf("event %d is %s, want %s (a stream starts at the tail)", i, entry.Identity, want)
		}
		if ev.id != fmt.Sprintf("%s:%d", e.jour.BootID(), entry.Seq) {
			t.Fatalf("id %q for seq %d", ev.id, entry.Seq)
		}
		ids = append(ids, ev.id)
	}
	stop()

	e.post(t, "/__admin/rooms/r/participants", `{"identity":"late"}`)
	s2, stop2 := e.stream(t, "type=participant_joined", ids[1])
	defer stop2()
	var entry journal.Entry
	_ = json.Unmarshal([]byte(s2.next(t).data), &entry)
	if entry.Identity != "bot2" {
		t.Fatalf("resume after %s gave %s first", ids[1], entry.Identity)
	}
	_ = json.Unmarshal([]byte(s2.next(t).data), &entry)
	if entry.Identity != "late" {
		t.Fatalf("then %s", entry.Identity)
	}

	// Another boot's id replays the whole ring.
	s3, stop3 := e.stream(t, "type=participant_joined", "0123456789ab:2")
	defer stop3()
	_ = json.Unmarshal([]byte(s3.next(t).data), &entry)
	if entry.Identity != "early" {
		t.Fatalf("replay from another boot starts with %s", entry.Identity)
	}
}

// Event streams are capped per client IP and in all; past a cap the answer
// is 429 with the usual JSON error, and a closed stream frees its place.
func TestStreamFollowersAreCapped(t *testing.T) {
	e := startAdmin(t, nil, signal.Options{})
	open := func() (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/__admin/events/stream", nil)
		resp, err := e.Client().Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		return resp, func() { cancel(); resp.Body.Close() }
	}
	var stops []context.CancelFunc
	defer func() {
		for _, s := range stops {
			s()
		}
	}()
	for i := range maxStreamsPerIP {
		resp, stop := open()
		stops = append(stops, stop)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", i, resp.StatusCode)
		}
	}
	resp, stop := open()
	raw, _ := io.ReadAll(resp.Body)
	stop()
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	if resp.StatusCode != http.StatusTooManyRequests || body["code"] != codeTooManyConnection || body["error"] == "" {
		t.Fatalf("stream past the per-IP cap: %d %s", resp.StatusCode, raw)
	}
	if r := e.do(t, http.MethodGet, "/health", "", nil); r.status != http.StatusOK {
		t.Fatalf("/health: %d", r.status)
	}
	// A closed stream frees its place (the server notices the close).
	stops[0]()
	deadline := time.Now().Add(wait)
	for {
		resp, stop := open()
		stops = append(stops, stop)
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream kept its place: %d", resp.StatusCode)
		}
		stop()
		time.Sleep(20 * time.Millisecond)
	}

	// The cap in all.
	e2 := startAdminWith(t, nil, signal.Options{}, func(d *Deps) { d.AdminStreams = 2 })
	var codes []int
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e2.URL+"/__admin/events/stream", nil)
		resp, err := e2.Client().Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		stops = append(stops, func() { cancel(); resp.Body.Close() })
		codes = append(codes, resp.StatusCode)
	}
	if !slices.Equal(codes, []int{200, 200, 429}) {
		t.Fatalf("streams past the total cap: %v", codes)
	}
}

func TestStreamEndsAtShutdown(t *testing.T) {
	e := startAdmin(t, nil, signal.Options{})
	s, stop := e.stream(t, "", "")
	defer stop()
	e.jour.Close()
	if _, err := io.Copy(io.Discard, s.br); err != nil {
		t.Fatalf("stream did not end cleanly: %v", err)
	}
}

func TestWaitForEvent(t *testing.T) {
	e := startAdmin(t, nil, signal.Options{})
	got := make(chan reply, 1)
	go func() {
		got <- e.post(t, "/__admin/events/wait", `{"type":"participant_joined","room":"r","identity":"alice","timeout_ms":5000}`)
	}()
	e.joined(t, "r", "alice")
	r := <-got
	if r.status != http.StatusOK || r.body["identity"] != "alice" || r.body["type"] != "participant_joined" {
		t.Fatalf("wait: %d %s", r.status, r.raw)
	}

	since := uint64(r.body["seq"].(float64))
	r = e.post(t, "/__admin/events/wait", fmt.Sprintf(`{"type":"participant_joined","identity":"alice","since":%d,"timeout_ms":50}`, since))
	if r.status != http.StatusRequestTimeout || r.body["code"] != codeTimeout {
		t.Fatalf("wait past the join: %d %s", r.status, r.raw)
	}
}

func TestAdminBadBodies(t *testing.T) {
	e := startAdmin(t, nil, signal.Options{})
	cases := []struct {
		method, path, body string
		status             int
		mention            string
	}{
		{"POST", "/__admin/reset", `{"what":["rooms","cats"]}`, 400, "what[1]"},
		{"POST", "/__admin/reset", `{"what":"rooms"}`, 400, "what"},
		{"POST", "/__admin/reset", `{"what":`, 400, "Invalid JSON"},
		{"GET", "/__admin/events?type=nope", "", 400, "type"},
		{"GET", "/__admin/events?since=-1", "", 400, "since"},
		{"GET", "/__admin/events?limit=0", "", 400, "limit"},
		{"POST", "/__admin/events/wait", `{}`, 400, "type"},
		{"POST", "/__admin/events/wait", `{"type":"participant_joined","timeout_ms":"5"}`, 400, "timeout_ms"},
		{"POST", "/__admin/events/wait", `{"type":"participant_joined","since":1.5}`, 400, "since"},
		{"POST", "/__admin/rooms/r/participants", `{}`, 400, "identity"},
		{"POST", "/__admin/rooms/r/participants", `{"identity":"<script>"}`, 400, "identity"},
		{"POST", "/__admin/rooms/a%20b/participants", `{"identity":"bot"}`, 400, "room"},
		{"POST", "/__admin/rooms/r/participants", `{"identity":"bot","tracks":[{"kind":"smell"}]}`, 400, "tracks[0].kind"},
		{"POST", "/__admin/rooms/r/participants", `{"identity":"bot","tracks":[{"kind":"audio","source":"x"}]}`, 400, "tracks[0].source"},
		{"POST", "/__admin/rooms/r/participants", `{"identity":"bot","tracks":{}}`, 400, "tracks"},
		{"POST", "/__admin/rooms/r/participants", `{"identity":"bot","tracks":[{"kind":"video","file":1}]}`, 400, "tracks[0].file"},
		{"POST", "/__admin/rooms/r/participants", `{"identity":"bot","tracks":[{"kind":"video","file":"a\u0000b"}]}`, 400, "tracks[0].file"},
		{"POST", "/__admin/rooms/r/participants", `{"identity":"bot","tracks":[{"kind":"video","file":"` + strings.Repeat("a", 4097) + `"}]}`, 400, "tracks[0].file"},
		{"POST", "/__admin/rooms/r/participants", `{"identity":"bot","tracks":[{"kind":"audio"},{"kind":"video","file":"/nowhere/clip.ivf"}]}`, 400, "tracks[1].file"},
		{"POST", "/__admin/rooms/r/participants", `{"identity":"bot","data":{"payload":"x"}}`, 400, "data.every_ms"},
		{"POST", "/__admin/rooms/r/participants", `{"identity":"bot","data":{"every_ms":1}}`, 400, "data.every_ms"},
		{"POST", "/__admin/rooms/r/participants", `{"identity":"bot","attributes":{"a":1}}`, 400, "attributes"},
		{"POST", "/__admin/rooms/r/participants", strings.Repeat(" ", 70<<10) + "{}", 413, "too large"},
		{"DELETE", "/__admin/rooms/nowhere/participants/bot", "", 404, "Room not found"},
		{"DELETE", "/__admin/faults/none", "", 404, "Fault not found"},
		{"POST", "/__admin/faults", `{}`, 400, "target"},
		{"POST", "/__admin/faults", `{"target":"http","action":"drop"}`, 400, "action"},
		{"POST", "/__admin/faults", `{"target":"http","action":"status"}`, 400, "status"},
		{"POST", "/__admin/faults", `{"target":"http","action":"status","status":700}`, 400, "status"},
		{"POST", "/__admin/faults", `{"target":"http","action":"latency"}`, 400, "latency_ms"},
		{"POST", "/__admin/faults", `{"target":"http","action":"latency","latency_ms":10,"match":{"route":"/__admin/reset"}}`, 400, "match.route"},
		{"POST", "/__admin/faults", `{"target":"http","action":"latency","latency_ms":10,"match":{"room":"r"}}`, 400, "match"},
		{"POST", "/__admin/faults", `{"target":"rtc","action":"close","close_code":1006}`, 400, "close_code"},
		{"POST", "/__admin/faults", `{"target":"rtc","action":"drop","probability":2}`, 400, "probability"},
		{"POST", "/__admin/faults", `{"target":"rtc","action":"drop","match":{"identity":"a b"}}`, 400, "match.identity"},
		{"POST", "/__admin/faults", `{"target":"rtc","action":"drop","id":"no spaces"}`, 400, "id"},
		{"GET", "/__admin/reset", "", 405, "Method not allowed"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path+" "+c.body[:min(len(c.body), 40)], func(t *testing.T) {
			r := e.do(t, c.method, c.path, c.body, nil)
			if r.status != c.status || !strings.Contains(r.raw, c.mention) {
				t.Fatalf("%d %s, want %d mentioning %q", r.status, r.raw, c.status, c.mention)
			}
		})
	}
}

func TestFakeParticipantSeenByJSONClient(t *testing.T) {
	e := startAdmin(t, nil, signal.Options{})
	alice := e.joined(t, "r", "alice")
	r := e.post(t, "/__admin/rooms/r/participants", `{"identity":"bot","name":"Bot","metadata":"{\"x\":1}",
		"attributes":{"role":"agent"},"tracks":[{"kind":"audio","name":"voice"}],"data":{"every_ms":20,"payload":"tick","topic":"clock"}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("add fake: %d %s", r.status, r.raw)
	}
	p := obj(t, alice.expect("participant_connected"), "participant")
	if p["identity"] != "bot" || p["name"] != "Bot" || p["dialect"] != "fake" || obj(t, p, "attributes")["role"] != "agent" {
		t.Fatalf("participant_connected: %v", p)
	}
	tr := obj(t, alice.expect("track_subscribed"), "track")
	if tr["kind"] != "audio" || tr["name"] != "voice" || tr["source"] != "microphone" || tr["participant"] != "bot" {
		t.Fatalf("track_subscribed: %v", tr)
	}
	if d := alice.expect("data_received"); d["from"] != "bot" || d["payload"] != "tick" || d["topic"] != "clock" {
		t.Fatalf("data_received: %v", d)
	}

	// A later joiner sees the fake with its track in the snapshot.
	bob := e.rtc.connect(t)
	bob.send(map[string]any{"type": "join_room", "roomName": "r", "participant": map[string]any{"identity": "bob"}})
	others := bob.expect("room_joined")["others"].([]any)
	if len(others) != 2 || len(others[1].(map[string]any)["tracks"].([]any)) != 1 {
		t.Fatalf("bob's snapshot: %v", others)
	}

	if r := e.do(t, "DELETE", "/__admin/rooms/r/participants/bot", "", nil); r.status != http.StatusOK {
		t.Fatalf("delete fake: %d %s", r.status, r.raw)
	}
	for {
		m := alice.next()
		if m["type"] == "participant_disconnected" {
			if m["reason"] != "removed" || obj(t, m, "participant")["identity"] != "bot" {
				t.Fatalf("fake left: %v", m)
			}
			break
		}
	}
	// Any real participant can be removed too.
	if r := e.do(t, "DELETE", "/__admin/rooms/r/participants/alice", "", nil); r.status != http.StatusOK {
		t.Fatalf("delete alice: %d %s", r.status, r.raw)
	}
	for {
		if m := alice.next(); m["type"] == "disconnected" {
			if m["reason"] != "removed" {
				t.Fatalf("alice told %v", m)
			}
			break
		}
	}
	if r := e.do(t, "DELETE", "/__admin/rooms/r/participants/ghost", "", nil); r.status != http.StatusNotFound || r.body["error"] != msgParticipantGone {
		t.Fatalf("delete ghost: %d %s", r.status, r.raw)
	}
}

func (e *adminEnv) fault(t *testing.T, body string) {
	t.Helper()
	if r := e.post(t, "/__admin/faults", body); r.status != http.StatusCreated {
		t.Fatalf("add fault %s: %d %s", body, r.status, r.raw)
	}
}

func TestHTTPFaults(t *testing.T) {
	e := startAdmin(t, nil, signal.Options{})
	t.Run("latency", func(t *testing.T) {
		e.fault(t, `{"target":"http","action":"latency","latency_ms":150,"match":{"route":"/health"},"count":1}`)
		start := time.Now()
		if r := e.do(t, "GET", "/health", "", nil); r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("answered after %v, want at least 150ms", d)
		}
	})
	t.Run("status", func(t *testing.T) {
		e.fault(t, `{"id":"down","target":"http","action":"status","status":503,"match":{"route":"/api/*"},"count":1}`)
		r := e.do(t, "GET", "/api/rooms", "", nil)
		if r.status != http.StatusServiceUnavailable || r.body["code"] != codeFaultInjected {
			t.Fatalf("first: %d %s", r.status, r.raw)
		}
		if r := e.do(t, "GET", "/api/rooms", "", nil); r.status != http.StatusOK {
			t.Fatalf("after count 1: %d", r.status)
		}
		if r := e.do(t, "GET", "/__admin/faults", "", nil); !strings.Contains(r.raw, `"applied":1`) {
			t.Fatalf("applied counts: %s", r.raw)
		}
	})
	applied := e.events(t, "type=fault_applied")
	if len(applied) != 2 || applied[0].Detail["action"] != "latency" || applied[1].Detail["status"] != float64(503) {
		t.Fatalf("fault_applied entries: %+v", applied)
	}
}

func TestRTCFaults(t *testing.T) {
	t.Run("drop", func(t *testing.T) {
		e := startAdmin(t, nil, signal.Options{})
		alice := e.joined(t, "r", "alice")
		e.fault(t, `{"target":"rtc","action":"drop","match":{"identity":"alice"},"count":1}`)
		bob := e.joined(t, "r", "bob")
		bob.send(map[string]any{"type": "publish_track", "trackKind": "video", "trackName": "cam"})
		// participant_connected of bob was dropped: the next is his track.
		if m := alice.next(); m["type"] != "track_subscribed" {
			t.Fatalf("alice got %v, want the dropped participant_connected skipped", m)
		}
		e.waitEvent(t, journal.TypeFaultApplied, "r", "alice")
	})
	t.Run("latency", func(t *testing.T) {
		e := startAdmin(t, nil, signal.Options{})
		alice := e.joined(t, "r", "alice")
		e.fault(t, `{"target":"rtc","action":"latency","latency_ms":150,"match":{"identity":"alice"}}`)
		start := time.Now()
		alice.send(map[string]any{"type": "ping"})
		alice.expect("pong")
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("pong after %v, want at least 150ms", d)
		}
	})
	t.Run("close", func(t *testing.T) {
		e := startAdmin(t, nil, signal.Options{})
		alice := e.joined(t, "r", "alice")
		bob := e.joined(t, "r", "bob")
		e.fault(t, `{"target":"rtc","action":"close","close_code":4001,"match":{"room":"r","identity":"alice"}}`)
		if code, _ := alice.closed(); code != 4001 {
			t.Fatalf("alice close code %d, want 4001", code)
		}
		if m := bob.expect("participant_disconnected"); m["reason"] != "closed" {
			t.Fatalf("bob saw %v", m)
		}
		ev := e.waitEvent(t, journal.TypeConnectionClosed, "r", "alice")
		if d := ev["detail"].(map[string]any); d["code"] != float64(4001) || d["by"] != "server" {
			t.Fatalf("journal: %v", ev)
		}
	})
	t.Run("abort", func(t *testing.T) {
		e := startAdmin(t, nil, signal.Options{})
		alice := e.joined(t, "r", "alice")
		e.fault(t, `{"target":"rtc","action":"abort","match":{"identity":"alice"}}`)
		_ = alice.c.SetReadDeadline(time.Now().Add(wait))
		_, _, err := alice.c.ReadMessage()
		var ce *websocket.CloseError
		var ne net.Error
		if err == nil || (errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure) || (errors.As(err, &ne) && ne.Timeout()) {
			t.Fatalf("read after abort: %v, want the connection gone without a close frame", err)
		}
		e.waitEvent(t, journal.TypeFaultApplied, "r", "alice")
	})
	t.Run("silence", func(t *testing.T) {
		e := startAdmin(t, nil, signal.Options{})
		alice := e.joined(t, "r", "alice")
		pongs := make(chan struct{}, 4)
		alice.c.SetPongHandler(func(string) error { pongs <- struct{}{}; return nil })
		// Before the rule, a WebSocket ping gets its pong.
		_ = alice.c.WriteControl(websocket.PingMessage, []byte("1"), time.Now().Add(wait))
		alice.send(map[string]any{"type": "ping"})
		alice.expect("pong")
		select {
		case <-pongs:
		default:
			t.Fatal("no pong before the silence rule")
		}
		e.fault(t, `{"target":"rtc","action":"silence","match":{"identity":"alice"}}`)
		_ = alice.c.WriteControl(websocket.PingMessage, []byte("2"), time.Now().Add(wait))
		alice.send(map[string]any{"type": "ping"})
		// The client's own pong wait runs out.
		clientPongWait := 300 * time.Millisecond
		_ = alice.c.SetReadDeadline(time.Now().Add(clientPongWait))
		_, b, err := alice.c.ReadMessage()
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read under silence: %s %v, want the client's timeout", b, err)
		}
		if len(pongs) != 0 {
			t.Fatal("a WebSocket pong came through the silence")
		}
		e.waitEvent(t, journal.TypeFaultApplied, "r", "alice")
	})
}

func TestJSONResume(t *testing.T) {
	t.Run("within the window", func(t *testing.T) {
		e := startAdmin(t, nil, signal.Options{ResumeWindow: wait})
		bob := e.joined(t, "r", "bob")
		alice := e.rtc.connect(t)
		alice.send(map[string]any{"type": "join_room", "roomName": "r", "resumable": true, "participant": map[string]any{"identity": "alice"}})
		joined := alice.expect("room_joined")
		sid, key := obj(t, joined, "participant")["sid"].(string), joined["resumeKey"]
		bob.expect("participant_connected")
		alice.send(map[string]any{"type": "publish_track", "trackKind": "audio"})
		alice.expect("track_published")
		bob.expect("track_subscribed")

		_ = alice.c.NetConn().Close() // network loss, no close frame
		e.waitEvent(t, journal.TypeConnectionClosed, "r", "alice")
		if r := e.do(t, "GET", "/api/rooms/r", "", nil); !strings.Contains(r.raw, `"alice"`) {
			t.Fatalf("alice should still be listed: %s", r.raw)
		}

		again := e.rtc.connect(t)
		again.send(map[string]any{"type": "resume", "participantSid": sid, "resumeKey": key})
		m := again.expect("resumed")
		if p := obj(t, m, "participant"); p["sid"] != sid || len(p["tracks"].([]any)) != 1 || p["state"] != "ACTIVE" {
			t.Fatalf("resumed: %v", m)
		}
		e.waitEvent(t, journal.TypeParticipantResumed, "r", "alice")
		// Bob never saw alice leave: his next message is her new track.
		again.send(map[string]any{"type": "publish_track", "trackKind": "video"})
		again.expect("track_published")
		if m := bob.next(); m["type"] != "track_subscribed" {
			t.Fatalf("bob got %v", m)
		}
	})
	t.Run("window runs out", func(t *testing.T) {
		e := startAdmin(t, nil, signal.Options{ResumeWindow: 50 * time.Millisecond})
		bob := e.joined(t, "r", "bob")
		alice := e.rtc.connect(t)
		alice.send(map[string]any{"type": "join_room", "roomName": "r", "resumable": true, "participant": map[string]any{"identity": "alice"}})
		joined := alice.expect("room_joined")
		sid, key := obj(t, joined, "participant")["sid"].(string), joined["resumeKey"]
		bob.expect("participant_connected")
		_ = alice.c.NetConn().Close()
		if m := bob.expect("participant_disconnected"); m["reason"] != "timeout" {
			t.Fatalf("bob saw %v", m)
		}
		again := e.rtc.connect(t)
		again.send(map[string]any{"type": "resume", "participantSid": sid, "resumeKey": key})
		again.expectError("not_found")
		again.send(map[string]any{"type": "resume"})
		again.expectError("invalid_argument")
	})
	t.Run("not resumable", func(t *testing.T) {
		e := startAdmin(t, nil, signal.Options{ResumeWindow: wait})
		bob := e.joined(t, "r", "bob")
		alice := e.joined(t, "r", "alice")
		bob.expect("participant_connected")
		_ = alice.c.NetConn().Close()
		if m := bob.expect("participant_disconnected"); m["reason"] != "closed" {
			t.Fatalf("bob saw %v", m)
		}
	})
}

func TestHTTPFaultsSpareTheDashboard(t *testing.T) {
	e := startAdmin(t, nil, signal.Options{})
	e.fault(t, `{"target":"http","action":"status","status":503}`)
	if r := e.do(t, http.MethodGet, "/health", "", nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("/health under a match-all rule: %d", r.status)
	}
	for _, path := range []string{"/", "/dashboard/app.css"} {
		if r := e.do(t, http.MethodGet, path, "", map[string]string{"Accept": "text/html"}); r.status != http.StatusOK {
			t.Errorf("%s under a match-all rule: %d %s", path, r.status, r.raw)
		}
	}
}
