package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/admin"
	"github.com/livekit-mock/livekit-mock/internal/agents/scripted"
	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// The test-control API of SPEC §10 under /__admin, the journal's HTTP feed
// (journalHTTP) and the HTTP fault rules (faultHTTP).

const (
	adminBodyCap       = 64 << 10
	maxWait            = 60 * time.Second
	defaultWait        = 10 * time.Second
	defaultHeartbeat   = 15 * time.Second
	streamWriteWait    = 10 * time.Second
	defaultEventsLimit = 1000
	maxEventsLimit     = 100_000
	maxFakeTracks      = 16
	maxFakeFilePath    = 4096
	maxJournalFieldLen = 256
	streamBatch        = 256
	maxStreamsPerIP    = 16  // SSE followers per client IP
	maxStreams         = 256 // SSE followers in all
	codeFaultInjected  = "fault_injected"
	msgParticipantGone = "Participant not found"
	msgFaultNotFound   = "Fault not found"
	msgShuttingDown    = "Server is shutting down"
	msgTooManyStreams  = "Too many event streams"
)

// adminRoutes registers /__admin when ADMIN_API is on; otherwise every
// /__admin path falls to NoRoute (404 Endpoint not found).
func (a *api) adminRoutes(rt *routes, g group) {
	if a.Config == nil || !a.Config.AdminAPI || a.Admin == nil {
		return
	}
	body := adminBody()
	rt.handle(g, http.MethodPost, "/__admin/reset", body, a.handleAdminReset)
	rt.handle(g, http.MethodGet, "/__admin/events", a.handleAdminEvents)
	// An EventSource, which sends no headers, may present the bearer as
	// ?access_token=: streamToken runs before the group's caller check.
	rt.handle(group{name: g.name, mw: append([]gin.HandlerFunc{streamToken()}, g.mw...)}, http.MethodGet, "/__admin/events/stream", a.handleAdminStream)
	rt.handle(g, http.MethodPost, "/__admin/events/wait", body, a.handleAdminWait)
	rt.handle(g, http.MethodPost, "/__admin/rooms/:room/participants", body, a.handleAdminAddFake)
	rt.handle(g, http.MethodDelete, "/__admin/rooms/:room/participants/:identity", a.handleAdminRemove)
	rt.handle(g, http.MethodPost, "/__admin/rooms/:room/participants/:identity/say", body, a.handleAdminSay)
	rt.handle(g, http.MethodPost, "/__admin/faults", body, a.handleAdminAddFault)
	rt.handle(g, http.MethodGet, "/__admin/faults", a.handleAdminListFaults)
	rt.handle(g, http.MethodDelete, "/__admin/faults", a.handleAdminClearFaults)
	rt.handle(g, http.MethodDelete, "/__admin/faults/:id", a.handleAdminDeleteFault)
	if a.Agents != nil {
		rt.handle(g, http.MethodGet, "/__admin/agents", a.handleAdminAgents) // agents_admin.go
	}
}

// adminBody is jsonBody with a 64 KiB cap, except that a request with no
// body and no Content-Type counts as {} (curl -X POST .../reset).
func adminBody() gin.HandlerFunc {
	capped := jsonBody(adminBodyCap)
	return func(c *gin.Context) {
		r := c.Request
		if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
			c.Set(jsonBodyKey, map[string]json.RawMessage{})
			c.Next()
			return
		}
		capped(c)
	}
}

// streamToken lets an EventSource, which cannot set headers, present the
// production caller bearer as ?access_token= on the SSE stream.
func streamToken() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.GetHeader("Authorization") == "" {
			if tok := c.Query("access_token"); tok != "" {
				c.Request.Header.Set("Authorization", "Bearer "+tok)
			}
		}
		c.Next()
	}
}

// adminError maps the admin and rooms errors to SPEC §3.2 answers.
func adminError(c *gin.Context, err error) {
	var ve *admin.ValidationError
	switch {
	case errors.As(err, &ve):
		abortError(c, codeInvalidArgument, ve.Error())
	case errors.Is(err, rooms.ErrRoomNotFound):
		abortError(c, codeNotFound, msgRoomNotFound)
	case errors.Is(err, rooms.ErrParticipantNotFound):
		abortError(c, codeNotFound, msgParticipantGone)
	case errors.Is(err, rooms.ErrRoomFull):
		abortError(c, codePermissionDenied, "Room is full (MAX_PARTICIPANTS)")
	case errors.Is(err, rooms.ErrClosed), errors.Is(err, journal.ErrClosed):
		abortError(c, codeUnavailable, msgShuttingDown)
	case errors.Is(err, context.Canceled):
		c.Abort() // the caller went away
	default:
		renderError(c, err)
	}
}

func bad(field, rule string) error { return newError(codeInvalidArgument, field+" "+rule) }

// strings reads an optional array of strings.
func (f fields) strings(key string) ([]string, bool, error) {
	raw, ok := f[key]
	if !ok {
		return nil, false, nil
	}
	var out []string
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &out) != nil {
		return nil, true, bad(key, "must be an array of strings")
	}
	return out, true, nil
}

// objects reads an optional array of objects.
func (f fields) objects(key string) ([]fields, error) {
	raw, ok := f[key]
	if !ok {
		return nil, nil
	}
	var list []map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
		return nil, bad(key, "must be an array of objects")
	}
	out := make([]fields, len(list))
	for i, m := range list {
		if m == nil {
			return nil, bad(fmt.Sprintf("%s[%d]", key, i), "must be an object")
		}
		out[i] = fields(m)
	}
	return out, nil
}

// stringMap reads an optional object of strings.
func (f fields) stringMap(key string) (map[string]string, error) {
	raw, ok := f[key]
	if !ok {
		return nil, nil
	}
	var m map[string]string
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil, bad(key, "must be an object of strings")
	}
	return m, nil
}

// number reads an optional number within [lo, hi].
func (f fields) number(key string, lo, hi float64) (float64, error) {
	raw, ok := f[key]
	if !ok {
		return 0, nil
	}
	var n float64
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) || json.Unmarshal(raw, &n) != nil ||
		math.IsNaN(n) || n < lo || n > hi {
		return 0, bad(key, fmt.Sprintf("must be a number from %g to %g", lo, hi))
	}
	return n, nil
}

// prefixed names a nested field in an apiError.
func prefixed(prefix string, err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.code == codeInvalidArgument {
		return newError(codeInvalidArgument, prefix+ae.msg)
	}
	return err
}

// --- reset ---

func (a *api) handleAdminReset(c *gin.Context) {
	what, _, err := bodyFields(c).strings("what")
	if err != nil {
		renderError(c, err)
		return
	}
	res, err := a.Admin.Reset(c.Request.Context(), what)
	var ve *admin.ValidationError
	if errors.As(err, &ve) {
		adminError(c, err)
		return
	}
	if err != nil {
		a.Logger.Warn("admin reset incomplete", "err", err)
	}
	c.JSON(http.StatusOK, gin.H{
		"ok": err == nil, "what": res.What, "rooms": res.Rooms, "sessions": res.Sessions,
		"faults": res.Faults, "seq": res.Seq, "bootId": a.Admin.Journal().BootID(),
	})
}

// --- journal ---

// eventFilter reads room, identity, type (comma-separated) and since from
// the query string.
func eventFilter(c *gin.Context) (journal.Filter, error) {
	f := journal.Filter{Room: c.Query("room"), Identity: c.Query("identity")}
	if len(f.Room) > maxJournalFieldLen || len(f.Identity) > maxJournalFieldLen {
		return f, bad("room and identity", fmt.Sprintf("must be at most %d bytes", maxJournalFieldLen))
	}
	if t := c.Query("type"); t != "" {
		for _, s := range strings.Split(t, ",") {
			s = strings.TrimSpace(s)
			if !journal.KnownType(s) {
				return f, bad("type", "must be journal event types, comma-separated (room_started, participant_joined, …)")
			}
			f.Types = append(f.Types, s)
		}
	}
	if s := c.Query("since"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return f, bad("since", "must be a sequence number (a whole number from 0)")
		}
		f.Since = n
	}
	return f, nil
}

func (a *api) handleAdminEvents(c *gin.Context) {
	f, err := eventFilter(c)
	if err != nil {
		renderError(c, err)
		return
	}
	limit := defaultEventsLimit
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxEventsLimit {
			renderError(c, bad("limit", fmt.Sprintf("must be a whole number from 1 to %d", maxEventsLimit)))
			return
		}
		limit = n
	}
	j := a.Admin.Journal()
	events := j.Query(f, limit)
	if events == nil {
		events = []journal.Entry{}
	}
	c.JSON(http.StatusOK, gin.H{"events": events, "bootId": j.BootID(), "lastSeq": j.Seq()})
}

// streamCaps counts the SSE followers per client IP and in all.
type streamCaps struct {
	perIP, total int

	mu    sync.Mutex
	byIP  map[string]int
	count int
}

func newStreamCaps(perIP, total int) *streamCaps {
	if perIP <= 0 {
		perIP = maxStreamsPerIP
	}
	if total <= 0 {
		total = maxStreams
	}
	return &streamCaps{perIP: perIP, total: total, byIP: map[string]int{}}
}

// acquire takes a place for ip, or reports that a cap is reached; release
// gives the place back.
func (s *streamCaps) acquire(ip string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count >= s.total || s.byIP[ip] >= s.perIP {
		return nil, false
	}
	s.count++
	s.byIP[ip]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.count--
		if s.byIP[ip]--; s.byIP[ip] == 0 {
			delete(s.byIP, ip)
		}
	}, true
}

// resumeFrom reads Last-Event-ID ("<boot id>:<seq>"): this boot's id resumes
// after seq, another boot's (or a malformed one) replays the whole ring.
func resumeFrom(id, boot string) uint64 {
	b, seq, ok := strings.Cut(strings.TrimSpace(id), ":")
	if !ok || b != boot {
		return 0
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func (a *api) handleAdminStream(c *gin.Context) {
	f, err := eventFilter(c)
	if err != nil {
		renderError(c, err)
		return
	}
	release, ok := a.streams.acquire(c.ClientIP())
	if !ok {
		abortError(c, codeTooManyConnection, msgTooManyStreams)
		return
	}
	defer release()
	j := a.Admin.Journal()
	boot := j.BootID()
	// A new stream starts at the tail; a resume replays after its id.
	f.Since = j.Seq()
	if id := c.GetHeader("Last-Event-ID"); id != "" {
		f.Since = resumeFrom(id, boot)
	} else if id := c.Query("lastEventId"); id != "" {
		f.Since = resumeFrom(id, boot)
	}
	heartbeat := a.AdminHeartbeat
	if heartbeat <= 0 {
		heartbeat = defaultHeartbeat
	}
	w := c.Writer
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	c.Abort()

	var buf bytes.Buffer
	send := func() bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteWait))
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err == nil && rc.Flush() == nil
	}
	fmt.Fprintf(&buf, "retry: 1000\n: connected to journal %s\n\n", boot)
	if !send() {
		return
	}
	fl := j.Follow(f)
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	ctx := c.Request.Context()
	for {
		entries, wake := fl.Poll(streamBatch)
		for _, e := range entries {
			data, _ := json.Marshal(e)
			fmt.Fprintf(&buf, "id: %s:%d\ndata: %s\n\n", boot, e.Seq, data)
		}
		if len(entries) > 0 && !send() {
			return
		}
		if len(entries) == streamBatch {
			continue
		}
		if j.Closed() {
			return // shutdown ends the stream
		}
		select {
		case <-wake:
		case <-tick.C:
			buf.WriteString(": heartbeat\n\n")
			if !send() {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

func (a *api) handleAdminWait(c *gin.Context) {
	body := bodyFields(c)
	var f journal.Filter
	typ, has, err := body.str("type")
	if err == nil && (!has || !journal.KnownType(typ)) {
		err = bad("type", "is required and must be a journal event type (participant_joined, track_published, …)")
	}
	if err == nil {
		f.Types = []string{typ}
		f.Room, _, err = body.str("room")
	}
	if err == nil {
		f.Identity, _, err = body.str("identity")
	}
	var since, timeoutMS int64
	if err == nil {
		since, err = body.integer("since", 0, 0, 1<<53, "sequence numbers")
	}
	if err == nil {
		timeoutMS, err = body.integer("timeout_ms", defaultWait.Milliseconds(), 1, 24*3600*1000, "milliseconds")
	}
	if err != nil {
		renderError(c, err)
		return
	}
	f.Since = uint64(since)
	timeout := min(time.Duration(timeoutMS)*time.Millisecond, maxWait)
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(timeout + streamWriteWait))
	ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
	defer cancel()
	e, err := a.Admin.Journal().Wait(ctx, f)
	switch {
	case err == nil:
		c.JSON(http.StatusOK, e)
	case errors.Is(err, context.DeadlineExceeded) && c.Request.Context().Err() == nil:
		abortError(c, codeTimeout, fmt.Sprintf("No matching %s event within %d ms", typ, timeout.Milliseconds()))
	default:
		adminError(c, err)
	}
}

// --- fake participants ---

func (a *api) fakeOf(c *gin.Context) (admin.Fake, error) {
	p := a.Names
	body := bodyFields(c)
	fk := admin.Fake{Room: c.Param("room")}
	if err := p.Room("room", fk.Room); err != nil {
		return fk, newError(codeInvalidArgument, err.Error())
	}
	var err error
	var has bool
	if fk.Identity, has, err = body.str("identity"); err != nil {
		return fk, err
	}
	if !has {
		return fk, bad("identity", "is required")
	}
	if fk.Name, _, err = body.str("name"); err != nil {
		return fk, err
	}
	if fk.Metadata, _, err = body.str("metadata"); err != nil {
		return fk, err
	}
	if fk.Attributes, err = body.stringMap("attributes"); err != nil {
		return fk, err
	}
	for _, e := range []error{
		p.Identity("identity", fk.Identity), p.DisplayName("name", fk.Name),
		p.Metadata("metadata", fk.Metadata), p.Attributes("attributes", fk.Attributes),
	} {
		if e != nil {
			return fk, newError(codeInvalidArgument, e.Error())
		}
	}
	if fk.Agent, err = agentOf(body); err != nil {
		return fk, err
	}
	tracks, err := body.objects("tracks")
	if err != nil {
		return fk, err
	}
	if len(tracks) > maxFakeTracks {
		return fk, bad("tracks", fmt.Sprintf("must hold at most %d tracks", maxFakeTracks))
	}
	for i, t := range tracks {
		at := fmt.Sprintf("tracks[%d].", i)
		var tr admin.FakeTrack
		if tr.Kind, _, err = t.str("kind"); err != nil {
			return fk, prefixed(at, err)
		}
		if tr.Kind != rooms.KindAudio && tr.Kind != rooms.KindVideo {
			return fk, bad(at+"kind", `must be "audio" or "video"`)
		}
		if tr.Name, _, err = t.str("name"); err != nil {
			return fk, prefixed(at, err)
		}
		if e := p.DisplayName(at+"name", tr.Name); e != nil {
			return fk, newError(codeInvalidArgument, e.Error())
		}
		if tr.Source, _, err = t.str("source"); err != nil {
			return fk, prefixed(at, err)
		}
		if tr.Source != "" && !slices.Contains(rooms.Sources(), tr.Source) {
			return fk, bad(at+"source", "must be one of "+strings.Join(rooms.Sources(), ", "))
		}
		if tr.File, _, err = t.str("file"); err != nil {
			return fk, prefixed(at, err)
		}
		if len(tr.File) > maxFakeFilePath || strings.ContainsRune(tr.File, 0) {
			return fk, bad(at+"file", fmt.Sprintf("must be a path of at most %d bytes", maxFakeFilePath))
		}
		fk.Tracks = append(fk.Tracks, tr)
	}
	data, has, err := body.object("data")
	if err != nil || !has {
		return fk, err
	}
	every, err := data.integer("every_ms", 0, admin.MinDataEvery.Milliseconds(), 3_600_000, "milliseconds")
	if err == nil && !data.has("every_ms") {
		err = newError(codeInvalidArgument, "every_ms is required")
	}
	if err != nil {
		return fk, prefixed("data.", err)
	}
	d := &admin.FakeData{Every: time.Duration(every) * time.Millisecond}
	if d.Payload, _, err = data.str("payload"); err != nil {
		return fk, prefixed("data.", err)
	}
	if d.Topic, _, err = data.str("topic"); err != nil {
		return fk, prefixed("data.", err)
	}
	if e := p.DisplayName("data.topic", d.Topic); e != nil {
		return fk, newError(codeInvalidArgument, e.Error())
	}
	fk.Data = d
	return fk, nil
}

// agentOf reads "kind" and "agent": a fake of kind agent runs the script in
// "agent" (the built-in assistant's when there is none).
func agentOf(body fields) (*scripted.Script, error) {
	kind, _, err := body.str("kind")
	if err != nil {
		return nil, err
	}
	switch kind {
	case "", "standard":
		if body.has("agent") {
			return nil, bad("agent", `needs "kind": "agent"`)
		}
		return nil, nil
	case "agent":
	default:
		return nil, bad("kind", `must be "standard" or "agent"`)
	}
	raw, ok := body["agent"]
	if !ok {
		s := scripted.Builtin()
		return &s, nil
	}
	s, err := scripted.Parse(raw)
	var fe *scripted.FieldError
	if errors.As(err, &fe) {
		field := "agent"
		if fe.Field != "" {
			field += "." + fe.Field
		}
		return nil, bad(field, fe.Rule)
	}
	if err != nil {
		return nil, bad("agent", "must be a script object")
	}
	return &s, nil
}

type adminTrack struct {
	Sid    string `json:"sid"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Source string `json:"source"`
	Muted  bool   `json:"muted"`
}

type adminParticipant struct {
	Sid        string            `json:"sid"`
	Identity   string            `json:"identity"`
	Name       string            `json:"name"`
	Metadata   string            `json:"metadata"`
	Attributes map[string]string `json:"attributes"`
	State      string            `json:"state"`
	Dialect    string            `json:"dialect"`
	Kind       string            `json:"kind,omitempty"`
	JoinedAt   string            `json:"joinedAt"`
	Tracks     []adminTrack      `json:"tracks"`
}

func adminParticipantOf(p rooms.ParticipantInfo) adminParticipant {
	out := adminParticipant{
		Sid: p.Sid, Identity: p.Identity, Name: p.Name, Metadata: p.Metadata, Attributes: p.Attributes,
		State: p.State.String(), Dialect: p.Dialect, Kind: p.Kind, JoinedAt: timestamp(p.JoinedAt), Tracks: []adminTrack{},
	}
	if out.Attributes == nil {
		out.Attributes = map[string]string{}
	}
	for _, t := range p.Tracks {
		out.Tracks = append(out.Tracks, adminTrack{Sid: t.Sid, Kind: t.Kind, Name: t.Name, Source: t.Source, Muted: t.Muted})
	}
	return out
}

func (a *api) handleAdminAddFake(c *gin.Context) {
	fk, err := a.fakeOf(c)
	if err != nil {
		renderError(c, err)
		return
	}
	info, err := a.Admin.AddFake(c.Request.Context(), fk)
	if err != nil {
		adminError(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"room": fk.Room, "participant": adminParticipantOf(info)})
}

// roomAndIdentity reads the :room and :identity of a participant's path,
// refusing names outside the policy (400).
func (a *api) roomAndIdentity(c *gin.Context) (room, identity string, ok bool) {
	room, identity = c.Param("room"), c.Param("identity")
	if err := a.Names.Room("room", room); err != nil {
		abortError(c, codeInvalidArgument, err.Error())
		return "", "", false
	}
	if err := a.Names.Identity("identity", identity); err != nil {
		abortError(c, codeInvalidArgument, err.Error())
		return "", "", false
	}
	return room, identity, true
}

// handleAdminSay makes a scripted agent speak now.
func (a *api) handleAdminSay(c *gin.Context) {
	room, identity, ok := a.roomAndIdentity(c)
	if !ok {
		return
	}
	text, has, err := bodyFields(c).str("text")
	if err != nil {
		renderError(c, err)
		return
	}
	if !has || text == "" {
		abortError(c, codeInvalidArgument, "text is required")
		return
	}
	if err := a.Admin.Say(c.Request.Context(), room, identity, text); err != nil {
		if errors.Is(err, admin.ErrNotAgent) {
			abortError(c, codeInvalidArgument, "identity is not a scripted agent")
			return
		}
		adminError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"room": room, "identity": identity, "text": text})
}

func (a *api) handleAdminRemove(c *gin.Context) {
	room, identity, ok := a.roomAndIdentity(c)
	if !ok {
		return
	}
	if err := a.Admin.RemoveParticipant(c.Request.Context(), room, identity); err != nil {
		adminError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"removed": true, "room": room, "identity": identity})
}

// --- faults ---

func (a *api) ruleOf(c *gin.Context) (admin.Rule, error) {
	body := bodyFields(c)
	var r admin.Rule
	var err error
	if r.ID, _, err = body.str("id"); err != nil {
		return r, err
	}
	if r.Target, _, err = body.str("target"); err != nil {
		return r, err
	}
	if r.Action, _, err = body.str("action"); err != nil {
		return r, err
	}
	m, _, err := body.object("match")
	if err != nil {
		return r, err
	}
	if r.Match.Route, _, err = m.str("route"); err != nil {
		return r, prefixed("match.", err)
	}
	if r.Match.Room, _, err = m.str("room"); err != nil {
		return r, prefixed("match.", err)
	}
	if r.Match.Identity, _, err = m.str("identity"); err != nil {
		return r, prefixed("match.", err)
	}
	if r.Match.Room != "" {
		if e := a.Names.Room("match.room", r.Match.Room); e != nil {
			return r, newError(codeInvalidArgument, e.Error())
		}
	}
	if r.Match.Identity != "" {
		if e := a.Names.Identity("match.identity", r.Match.Identity); e != nil {
			return r, newError(codeInvalidArgument, e.Error())
		}
	}
	ints := []struct {
		key     string
		dst     *int
		lo, hi  int64
		unitDoc string
	}{
		{"latency_ms", &r.LatencyMS, 0, admin.MaxLatencyMS, "milliseconds"},
		{"jitter_ms", &r.JitterMS, 0, admin.MaxLatencyMS, "milliseconds"},
		{"status", &r.Status, 100, 599, "HTTP status"},
		{"close_code", &r.CloseCode, 1000, 4999, "close code"},
		{"count", &r.Count, 0, 1_000_000_000, "applications"},
	}
	for _, it := range ints {
		n, err := body.integer(it.key, 0, it.lo, it.hi, it.unitDoc)
		if err != nil {
			return r, err
		}
		*it.dst = int(n)
	}
	if r.Probability, err = body.number("probability", 0, 1); err != nil {
		return r, err
	}
	return r, nil
}

func (a *api) handleAdminAddFault(c *gin.Context) {
	r, err := a.ruleOf(c)
	if err != nil {
		renderError(c, err)
		return
	}
	out, err := a.Admin.AddFault(r)
	if err != nil {
		adminError(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

func (a *api) handleAdminListFaults(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"faults": a.Admin.Faults().List()})
}

func (a *api) handleAdminClearFaults(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"deleted": a.Admin.Faults().Clear()})
}

func (a *api) handleAdminDeleteFault(c *gin.Context) {
	if !a.Admin.Faults().Delete(c.Param("id")) {
		abortError(c, codeNotFound, msgFaultNotFound)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deleted": 1})
}

// --- HTTP faults ---

// faultHTTP applies the http fault rules: latency before the handler, then
// an injected status instead of it. /__admin and the dashboard's own page and
// assets are never faulted: the page is where faults are cleared from.
func faultHTTP(ad *admin.Admin) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ad == nil || groupOf(c) == groupPage {
			c.Next()
			return
		}
		delay, status := ad.Faults().HTTP(c.Request.URL.Path)
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-c.Request.Context().Done():
				t.Stop()
				c.Abort()
				return
			}
		}
		if status == 0 {
			c.Next()
			return
		}
		if status < 200 || status == http.StatusNoContent || status == http.StatusNotModified {
			c.AbortWithStatus(status)
			return
		}
		c.Header("Content-Type", "application/json; charset=utf-8")
		c.AbortWithStatusJSON(status, gin.H{"error": fmt.Sprintf("Fault injected by the test-control API (status %d)", status), "code": codeFaultInjected})
	}
}

// --- the journal's HTTP feed ---

// clip bounds a caller-supplied string kept in the journal.
func clip(s string) string {
	if len(s) > maxJournalFieldLen {
		return strings.ToValidUTF8(s[:maxJournalFieldLen], "")
	}
	return s
}

// firstString returns the first of keys holding a JSON string in m.
func firstString(m map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		var s string
		if raw, ok := m[k]; ok && json.Unmarshal(raw, &s) == nil && s != "" {
			return clip(s)
		}
	}
	return ""
}

// journalHTTP records tokens minted and refused (mint routes and
// /token/validate) and upgrades refused on /rtc. Rate-limit hits and origin
// refusals are recorded where they happen (routes.go's callbacks).
func journalHTTP(j *journal.Journal) gin.HandlerFunc {
	return func(c *gin.Context) {
		if j == nil {
			c.Next()
			return
		}
		path := c.Request.URL.Path
		group := groupOf(c)
		c.Next()
		status := c.Writer.Status()
		switch {
		case group == groupMint && status != http.StatusTooManyRequests:
			if m, ok := c.Get(mintedKey); ok && status == http.StatusOK {
				mi, _ := m.(minted)
				j.Record(journal.TypeTokenMinted, clip(mi.room), clip(mi.identity),
					map[string]any{"route": path, "expiresAt": mi.expiresAt, "ip": c.ClientIP()})
				return
			}
			var ans answered
			if v, ok := c.Get(errorKey); ok {
				ans, _ = v.(answered)
			}
			if ans.code == codeOriginNotAllowed {
				return // journaled as origin_refused
			}
			req := bodyFields(c)
			j.Record(journal.TypeTokenRefused,
				firstString(req, "roomName", "room_name"),
				firstString(req, "participantIdentity", "participant_identity"),
				map[string]any{"route": path, "status": status, "code": ans.code, "reason": ans.msg, "ip": c.ClientIP()})
		case path == "/token/validate" && status == http.StatusOK:
			if v, ok := c.Get(validationKey); ok {
				if code, _ := v.(string); code != "" {
					j.Record(journal.TypeTokenRefused, "", "", map[string]any{"route": path, "code": code, "ip": c.ClientIP()})
				}
			}
		case (group == groupRTC || group == groupAgent) && status >= 400:
			j.Record(journal.TypeConnectionRefused, "", "", map[string]any{"route": path, "status": status, "ip": c.ClientIP()})
		}
	}
}
