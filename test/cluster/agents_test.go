package cluster_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/auth"
)

var issuer = auth.NewIssuer("devkey", "secret", nil)

func token(t *testing.T, c auth.Claims) string {
	t.Helper()
	tok, _, err := issuer.Mint(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func workerFrame(t *testing.T, conn *websocket.Conn) *livekit.ServerMessage {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, b, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("worker read: %v", err)
	}
	var m livekit.ServerMessage
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func workerSend(t *testing.T, conn *websocket.Conn, m *livekit.WorkerMessage) {
	t.Helper()
	b, _ := proto.Marshal(m)
	if err := conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		t.Fatal(err)
	}
}

func createRoom(t *testing.T, c *http.Client, in *instance, name string) {
	t.Helper()
	req, _ := http.NewRequest("POST", in.base+"/twirp/livekit.RoomService/CreateRoom", strings.NewReader(`{"name":"`+name+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token(t, auth.Claims{Identity: "admin", Video: &auth.VideoGrant{RoomCreate: true}}))
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CreateRoom on %s: %v %v", in.id, err, resp)
	}
	resp.Body.Close()
}

// A worker connected to b serves a room homed on a: a offers the job to b,
// b to its worker; the assignment comes from b; a room closing on a ends
// the job on b.
func TestAgentWorkerOnAnotherInstance(t *testing.T) {
	t.Parallel()
	bin := needTools(t)
	rds := startRedis(t)
	a := startInstance(t, bin, "a", rds.url(), "RATE_LIMIT_MAX=0")
	b := startInstance(t, bin, "b", rds.url(), "RATE_LIMIT_MAX=0")
	c := client(t)

	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(b.base, "http")+"/agent",
		http.Header{"Authorization": {"Bearer " + token(t, auth.Claims{Video: &auth.VideoGrant{Agent: true}})}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	workerSend(t, conn, &livekit.WorkerMessage{Message: &livekit.WorkerMessage_Register{Register: &livekit.RegisterWorkerRequest{}}})
	if workerFrame(t, conn).GetRegister() == nil {
		t.Fatal("no register answer")
	}

	// Rooms made on a before b's heartbeat published the worker find none
	// (agent_job_failed on a); the first after it is offered through b.
	var room string
	waitUntil(t, 10*time.Second, "a room on a offered to b's worker", func() bool {
		room = fmt.Sprintf("r%d", time.Now().UnixNano())
		createRoom(t, c, a, room)
		time.Sleep(300 * time.Millisecond)
		failed := do(t, c, "GET", a.base+"/__admin/events?type=agent_job_failed&room="+room, "")
		return len(failed.body["events"].([]any)) == 0
	})
	offer := workerFrame(t, conn).GetAvailability().GetJob()
	if offer.GetRoom().GetName() != room {
		t.Fatalf("offer: %v", offer)
	}
	workerSend(t, conn, &livekit.WorkerMessage{Message: &livekit.WorkerMessage_Availability{Availability: &livekit.AvailabilityResponse{
		JobId: offer.Id, Available: true}}})
	as := workerFrame(t, conn).GetAssignment()
	if as.GetJob().GetId() != offer.Id || as.Token == "" {
		t.Fatalf("assignment: %v", as)
	}
	waitUntil(t, 5*time.Second, "a records the job as assigned on b", func() bool {
		ev := do(t, c, "GET", a.base+"/__admin/events?type=agent_job_assigned&room="+room, "")
		list := ev.body["events"].([]any)
		return len(list) == 1 && list[0].(map[string]any)["detail"].(map[string]any)["instance"] == b.base
	})

	// Closing the room on a terminates the job on b's worker.
	req, _ := http.NewRequest("POST", a.base+"/twirp/livekit.RoomService/DeleteRoom", strings.NewReader(`{"room":"`+room+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token(t, auth.Claims{Identity: "admin", Video: &auth.VideoGrant{RoomCreate: true}}))
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("DeleteRoom: %v %v", err, resp)
	}
	resp.Body.Close()
	if term := workerFrame(t, conn).GetTermination(); term.GetJobId() != offer.Id {
		t.Fatalf("termination: %v", term)
	}

	// The internal calls want an instance's token.
	if got := do(t, c, "POST", a.base+"/__cluster/agents/offer", `{"ID":"AJ_x"}`); got.status != 401 {
		t.Fatalf("offer without a token: %d %s", got.status, got.raw)
	}
}
