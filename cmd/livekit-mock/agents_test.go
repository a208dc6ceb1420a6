package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/auth"
)

// The /agent endpoint end to end: an in-process fake worker speaking the
// protobuf protocol against the real server.

var testIssuer = auth.NewIssuer("devkey", "secret", nil)

func mintTest(t *testing.T, c auth.Claims) string {
	t.Helper()
	tok, _, err := testIssuer.Mint(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fakeWorker is a worker connection; every read has a deadline.
type fakeWorker struct {
	t    *testing.T
	conn *websocket.Conn
	id   string
}

func dialWorker(t *testing.T, base string, name string) *fakeWorker {
	t.Helper()
	tok := mintTest(t, auth.Claims{Video: &auth.VideoGrant{Agent: true}})
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL(base)+"/agent", http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatalf("dial /agent: %v (%v)", err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	w := &fakeWorker{t: t, conn: conn}
	w.send(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_Register{Register: &livekit.RegisterWorkerRequest{
		AgentName: name, Version: "test"}}})
	reg := w.next().GetRegister()
	if reg == nil || !strings.HasPrefix(reg.WorkerId, "AW_") || reg.ServerInfo.GetAgentProtocol() != 1 {
		t.Fatalf("first message is not the register answer: %v", reg)
	}
	w.id = reg.WorkerId
	return w
}

func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") }

func (w *fakeWorker) send(m *livekit.WorkerMessage) {
	w.t.Helper()
	b, _ := proto.Marshal(m)
	if err := w.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *fakeWorker) next() *livekit.ServerMessage {
	w.t.Helper()
	_ = w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	mt, b, err := w.conn.ReadMessage()
	if err != nil {
		w.t.Fatalf("worker read: %v", err)
	}
	var m livekit.ServerMessage
	if mt != websocket.BinaryMessage || proto.Unmarshal(b, &m) != nil {
		w.t.Fatalf("not a ServerMessage frame (type %d)", mt)
	}
	return &m
}

func (w *fakeWorker) answer(jobID string, available bool) {
	w.send(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_Availability{Availability: &livekit.AvailabilityResponse{
		JobId: jobID, Available: available, ParticipantIdentity: "agent-" + jobID}}})
}

// twirp calls an AgentDispatchService or RoomService method with JSON.
func twirp(t *testing.T, base, service, method, room string, body any) (int, map[string]any) {
	t.Helper()
	tok := mintTest(t, auth.Claims{Identity: "admin", Video: &auth.VideoGrant{RoomAdmin: true, RoomCreate: true, Room: room}})
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+"/twirp/livekit."+service+"/"+method, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func journalEvents(t *testing.T, base, typ, room string) []map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/__admin/events?" + url.Values{"type": {typ}, "room": {room}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Events []map[string]any }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out.Events
}

func TestAgentEndpointRefusals(t *testing.T) {
	base, _, stop := startServe(t, nil)
	defer stop()
	for _, tc := range []struct {
		name, auth string
		status     int
	}{
		{"no token", "", 401},
		{"no agent grant", "Bearer " + mintTest(t, auth.Claims{Identity: "u", Video: &auth.VideoGrant{RoomJoin: true, Room: "r"}}), 401},
		{"bad token", "Bearer abc.def.ghi", 401},
	} {
		h := http.Header{}
		if tc.auth != "" {
			h.Set("Authorization", tc.auth)
		}
		_, resp, err := websocket.DefaultDialer.Dial(wsURL(base)+"/agent", h)
		if err == nil || resp == nil || resp.StatusCode != tc.status {
			t.Fatalf("%s: %v %v", tc.name, err, resp)
		}
		body, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(body), "abc.def") {
			t.Fatalf("%s: the token is echoed: %s", tc.name, body)
		}
	}
	// A GET that is no upgrade, with a good token: 404 as LiveKit.
	req, _ := http.NewRequest("GET", base+"/agent", nil)
	req.Header.Set("Authorization", "Bearer "+mintTest(t, auth.Claims{Video: &auth.VideoGrant{Agent: true}}))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("plain GET: %v %v", err, resp)
	}
	resp.Body.Close()

	// Bad frames get a clear close.
	tok := mintTest(t, auth.Claims{Video: &auth.VideoGrant{Agent: true}})
	for _, tc := range []struct {
		name string
		mt   int
		data []byte
		code int
	}{
		{"text frame", websocket.TextMessage, []byte(`{"register":{}}`), 1003},
		{"not protobuf", websocket.BinaryMessage, []byte{0xff, 0xff, 0xff}, 1007},
		{"update before register", websocket.BinaryMessage, mustMarshal(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_UpdateWorker{UpdateWorker: &livekit.UpdateWorkerStatus{Load: 0.5}}}), 1008},
		{"unknown job type", websocket.BinaryMessage, mustMarshal(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_Register{Register: &livekit.RegisterWorkerRequest{Type: 9}}}), 1008},
	} {
		conn, _, err := websocket.DefaultDialer.Dial(wsURL(base)+"/agent?access_token="+tok, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_ = conn.WriteMessage(tc.mt, tc.data)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err = conn.ReadMessage()
		var ce *websocket.CloseError
		if !asClose(err, &ce) || ce.Code != tc.code || ce.Text == "" {
			t.Fatalf("%s: %v", tc.name, err)
		}
		conn.Close()
	}
	// Refusals are journaled like /rtc's.
	if ev := waitJournal(t, base, "connection_refused", ""); ev["detail"].(map[string]any)["route"] != "/agent" {
		t.Fatalf("journal: %v", ev)
	}
	// Workers are servers: an Origin header changes nothing (the token is the check).
	h := http.Header{"Origin": {"http://elsewhere.example"}, "Authorization": {"Bearer " + tok}}
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL(base)+"/agent", h)
	if err != nil {
		t.Fatalf("upgrade with an Origin: %v %v", err, resp)
	}
	conn.Close()
	// The server still serves workers.
	dialWorker(t, base, "")
}

func asClose(err error, ce **websocket.CloseError) bool {
	c, ok := err.(*websocket.CloseError)
	*ce = c
	return ok
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func TestAgentDispatchEndToEnd(t *testing.T) {
	base, _, stop := startServe(t, nil)
	defer stop()

	// A room made before any worker: no agent, and the journal says why.
	if st, _ := twirp(t, base, "RoomService", "CreateRoom", "", map[string]any{"name": "early"}); st != 200 {
		t.Fatalf("CreateRoom: %d", st)
	}
	if ev := waitJournal(t, base, "agent_job_failed", "early"); ev["detail"].(map[string]any)["reason"] != "no worker" {
		t.Fatalf("journal: %v", ev)
	}

	unnamed := dialWorker(t, base, "")
	named := dialWorker(t, base, "interviewer")

	// CreateRoom: the room job is offered at once to the unnamed worker.
	if st, _ := twirp(t, base, "RoomService", "CreateRoom", "", map[string]any{"name": "auto"}); st != 200 {
		t.Fatal(st)
	}
	offer := unnamed.next().GetAvailability()
	job := offer.GetJob()
	if job.GetRoom().GetName() != "auto" || !strings.HasPrefix(job.Id, "AJ_") || !strings.HasPrefix(job.DispatchId, "AD_") || job.AgentName != "" {
		t.Fatalf("offer: %v", offer)
	}
	unnamed.answer(job.Id, true)
	as := unnamed.next().GetAssignment()
	if as.GetJob().GetId() != job.Id || as.Token == "" || as.Url != nil {
		t.Fatalf("assignment: %v", as)
	}
	claims, err := auth.NewVerifier(map[string]string{"devkey": "secret"}, nil).Verify(as.Token)
	if err != nil || claims.Kind != "agent" || !claims.Video.Agent || claims.Video.Room != "auto" ||
		claims.Identity != "agent-"+job.Id || claims.Attributes["lk.agent.name"] != "" {
		t.Fatalf("agent token: %+v %v", claims, err)
	}
	// The test-control API and /metrics know the worker and its job.
	var view struct {
		Workers []struct {
			ID   string
			Jobs int
		}
		Rooms []struct {
			Room       string
			Dispatches []struct {
				Jobs []struct{ ID, Status, Worker string }
			}
		}
	}
	getJSON(t, base+"/__admin/agents", &view)
	if len(view.Workers) != 2 || len(view.Rooms) != 2 || view.Rooms[0].Room != "auto" ||
		view.Rooms[0].Dispatches[0].Jobs[0].ID != job.Id || view.Rooms[0].Dispatches[0].Jobs[0].Status != "running" {
		t.Fatalf("/__admin/agents: %+v", view)
	}
	if m := getText(t, base+"/metrics"); !strings.Contains(m, "livekit_mock_agent_workers 2") || !strings.Contains(m, "livekit_mock_agent_jobs 1") {
		t.Fatal("/metrics lacks the agent gauges")
	}
	st, list := twirp(t, base, "AgentDispatchService", "ListDispatch", "auto", map[string]any{"room": "auto"})
	ds, _ := list["agent_dispatches"].([]any)
	if st != 200 || len(ds) != 1 {
		t.Fatalf("ListDispatch: %d %v", st, list)
	}

	// A named dispatch on a room that does not exist creates it, which
	// then gets the default dispatch too.
	st, created := twirp(t, base, "AgentDispatchService", "CreateDispatch", "fresh", map[string]any{"room": "fresh", "agent_name": "interviewer", "metadata": "m"})
	if st != 200 || created["agent_name"] != "interviewer" || !strings.HasPrefix(created["id"].(string), "AD_") {
		t.Fatalf("CreateDispatch: %d %v", st, created)
	}
	namedJob := named.next().GetAvailability().GetJob()
	defJob := unnamed.next().GetAvailability().GetJob()
	if namedJob.GetRoom().GetName() != "fresh" || namedJob.Metadata != "m" || defJob.GetRoom().GetName() != "fresh" || defJob.AgentName != "" {
		t.Fatalf("offers: %v / %v", namedJob, defJob)
	}
	named.answer(namedJob.Id, true)
	unnamed.answer(defJob.Id, false) // declined, and no other worker: failed
	if named.next().GetAssignment() == nil {
		t.Fatal("no assignment")
	}
	// DeleteDispatch: the worker is told to end the job.
	st, _ = twirp(t, base, "AgentDispatchService", "DeleteDispatch", "fresh", map[string]any{"room": "fresh", "dispatch_id": created["id"]})
	if st != 200 {
		t.Fatal(st)
	}
	if term := named.next().GetTermination(); term.GetJobId() != namedJob.Id {
		t.Fatalf("termination: %v", term)
	}
	if st, body := twirp(t, base, "AgentDispatchService", "DeleteDispatch", "fresh", map[string]any{"room": "fresh", "dispatch_id": created["id"]}); st != 404 || body["code"] != "not_found" {
		t.Fatalf("second delete: %d %v", st, body)
	}
	// Another room's token cannot list these.
	if st, _ := twirp(t, base, "AgentDispatchService", "ListDispatch", "other", map[string]any{"room": "fresh"}); st != 401 {
		t.Fatalf("ListDispatch with another room's grant: %d", st)
	}

	// Closing the room terminates its job.
	if st, _ := twirp(t, base, "RoomService", "DeleteRoom", "auto", map[string]any{"room": "auto"}); st != 200 {
		t.Fatal(st)
	}
	if term := unnamed.next().GetTermination(); term.GetJobId() != job.Id {
		t.Fatalf("termination: %v", term)
	}
	// A worker ping gets a pong.
	unnamed.send(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_Ping{Ping: &livekit.WorkerPing{Timestamp: 42}}})
	if pong := unnamed.next().GetPong(); pong.GetLastTimestamp() != 42 {
		t.Fatalf("pong: %v", pong)
	}
	// The early room never got an offer; a worker that leaves is forgotten.
	if ev := journalEvents(t, base, "agent_job_offered", "early"); len(ev) != 0 {
		t.Fatalf("early room offered: %v", ev)
	}
	named.conn.Close()
	if left := waitJournal(t, base, "agent_worker_left", ""); left["detail"].(map[string]any)["worker"] != named.id {
		t.Fatalf("agent_worker_left: %v", left)
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(v) != nil {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
}

func getText(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitJournal waits for a journal entry through the test-control wait API.
func waitJournal(t *testing.T, base, typ, room string) map[string]any {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"type": typ, "room": room, "timeout_ms": 5000})
	resp, err := http.Post(base+"/__admin/events/wait", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != 200 {
		t.Fatalf("no %s in %q: %d %v", typ, room, resp.StatusCode, e)
	}
	return e
}

func TestAgentJobsEndOnResetWorkersStay(t *testing.T) {
	base, _, stop := startServe(t, nil)
	defer stop()
	w := dialWorker(t, base, "")
	if st, _ := twirp(t, base, "RoomService", "CreateRoom", "", map[string]any{"name": "r"}); st != 200 {
		t.Fatal(st)
	}
	job := w.next().GetAvailability().GetJob()
	w.answer(job.Id, true)
	if w.next().GetAssignment() == nil {
		t.Fatal("no assignment")
	}
	resp, err := http.Post(base+"/__admin/reset", "application/json", strings.NewReader(`{"what":["rooms"]}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("reset: %v %v", err, resp)
	}
	resp.Body.Close()
	if term := w.next().GetTermination(); term.GetJobId() != job.Id {
		t.Fatalf("termination: %v", term)
	}
	if ev := waitJournal(t, base, "agent_job_ended", "r"); ev["detail"].(map[string]any)["reason"] != "reset" {
		t.Fatalf("journal: %v", ev)
	}
	// The worker is still registered: the next room is offered to it.
	if st, _ := twirp(t, base, "RoomService", "CreateRoom", "", map[string]any{"name": "r2"}); st != 200 {
		t.Fatal(st)
	}
	if job2 := w.next().GetAvailability().GetJob(); job2.GetRoom().GetName() != "r2" {
		t.Fatalf("offer after reset: %v", job2)
	}
}
