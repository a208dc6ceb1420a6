package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/auth"
)

// readFrame reads one SignalResponse; nil when the socket closed.
func readFrame(t *testing.T, c *websocket.Conn) *livekit.SignalResponse {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	mt, data, err := c.ReadMessage()
	if err != nil {
		return nil
	}
	var sr livekit.SignalResponse
	if mt != websocket.BinaryMessage || proto.Unmarshal(data, &sr) != nil {
		t.Fatal("frame is not a binary SignalResponse")
	}
	return &sr
}

// Resumes through the whole HTTP layer: the session is found by the
// token's identity (and the sid the client names), as the real server does.
func TestLiveKitResumeOverHTTP(t *testing.T) {
	e := startLiveKit(t, nil)
	claims := func(id string) auth.Claims {
		return auth.Claims{Identity: id, Video: &auth.VideoGrant{RoomJoin: true, Room: "rr"}}
	}
	bob := e.mint(t, claims("bob"), time.Hour)
	mallory := e.mint(t, claims("mallory"), time.Hour)
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

	_, _, c := e.upgrade(t, "/rtc?protocol=17", bearer(bob))
	if c == nil {
		t.Fatal("join refused")
	}
	sid := readFrame(t, c).GetJoin().GetParticipant().GetSid()
	if !strings.HasPrefix(sid, "PA_") {
		t.Fatalf("sid %q", sid)
	}
	_ = c.UnderlyingConn().Close() // the network drops; no leave

	resume := "/rtc?protocol=17&reconnect=1&sid=" + sid
	// validate answers a resume as it would the upgrade.
	if status, _, body := e.get(t, strings.Replace(resume, "/rtc?", "/rtc/validate?", 1), bearer(bob)); status != 200 || body != "success" {
		t.Errorf("validate of a resume: %d %q", status, body)
	}

	cases := []struct {
		name   string
		tok    string
		path   string
		resume bool
	}{
		{"someone else's token", mallory, resume, false},
		{"the wrong sid", bob, "/rtc?protocol=17&reconnect=1&sid=PA_other", false},
		{"bob's token and sid", bob, resume, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, c := e.upgrade(t, tc.path, bearer(tc.tok))
			if c == nil {
				t.Fatalf("upgrade refused: %d %q", status, body)
			}
			first := readFrame(t, c)
			if !tc.resume {
				l := first.GetLeave()
				if l.GetReason() != livekit.DisconnectReason_STATE_MISMATCH || l.GetAction() != livekit.LeaveRequest_RECONNECT {
					t.Errorf("first frame %v, want leave STATE_MISMATCH/RECONNECT", first)
				}
				return
			}
			if first.GetReconnect() == nil {
				t.Fatalf("first frame %v, want reconnect", first)
			}
			if ps := readFrame(t, c).GetUpdate().GetParticipants(); len(ps) != 1 || ps[0].GetSid() != sid {
				t.Errorf("update after reconnect = %v, want bob with sid %s", ps, sid)
			}
			if status, _, body := e.get(t, "/api/rooms/rr", nil); status != 200 || strings.Count(body, `"identity":"bob"`) != 1 || !strings.Contains(body, sid) {
				t.Errorf("/api/rooms/rr: %d %s", status, body)
			}
		})
	}
}
