package httpapi

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/signal"
)

// dropped joins room r as alice with "resumable": true (on an upgrade
// carrying query, and with join's extra fields), drops her TCP connection
// without a close frame and returns her sid and the room_joined message.
func dropped(t *testing.T, e *adminEnv, query string, extra map[string]any) (sid string, joined map[string]any) {
	t.Helper()
	c, _, err := e.rtc.dial(t, query, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := map[string]any{"type": "join_room", "roomName": "r", "resumable": true, "participant": map[string]any{"identity": "alice"}}
	for k, v := range extra {
		msg[k] = v
	}
	c.send(msg)
	joined = c.expect("room_joined")
	sid = obj(t, joined, "participant")["sid"].(string)
	_ = c.c.NetConn().Close()
	e.waitEvent(t, journal.TypeConnectionClosed, "r", "alice")
	return sid, joined
}

// resumeAnswer opens a new /rtc (with query on the upgrade), sends msg and
// returns the client and the raw answer.
func resumeAnswer(t *testing.T, e *adminEnv, query string, msg map[string]any) (*client, string) {
	t.Helper()
	c, _, err := e.rtc.dial(t, query, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(msg)
	_, b, err := c.c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return c, string(b)
}

// The takeover of issue #16: a dropped resumable participant's sid is
// public (/api/rooms), so a resume must prove it comes from the same client.
func TestJSONResumeNeedsProof(t *testing.T) {
	e := startAdmin(t, nil, signal.Options{ResumeWindow: wait})
	bob := e.joined(t, "r", "bob")
	sid, joined := dropped(t, e, "", nil)
	key, _ := joined["resumeKey"].(string)
	if len(key) < 22 { // 128 bits in base64url
		t.Fatalf("room_joined has no resume key of 128 bits or more: %v", joined)
	}
	bob.expect("participant_connected")
	if r := e.do(t, "GET", "/api/rooms/r", "", nil); !strings.Contains(r.raw, sid) || strings.Contains(r.raw, key) {
		t.Fatalf("/api/rooms/r should list alice's sid (development) and never her key: %s", r.raw)
	}

	_, unknown := resumeAnswer(t, e, "", map[string]any{"type": "resume", "participantSid": "PA_unknown"})
	if !strings.Contains(unknown, `"not_found"`) {
		t.Fatalf("unknown sid: %s", unknown)
	}
	otherKey := strings.Repeat("A", len(key))
	tokenForBob := e.rtc.token(t, "r", "bob", nil)
	tokenForAlice := e.rtc.token(t, "r", "alice", nil)
	for name, c := range map[string]struct {
		query string
		msg   map[string]any
	}{
		"no key":         {"", map[string]any{"type": "resume", "participantSid": sid}},
		"empty key":      {"", map[string]any{"type": "resume", "participantSid": sid, "resumeKey": ""}},
		"wrong key":      {"", map[string]any{"type": "resume", "participantSid": sid, "resumeKey": otherKey}},
		"key not string": {"", map[string]any{"type": "resume", "participantSid": sid, "resumeKey": 7}},
		"prefix of key":  {"", map[string]any{"type": "resume", "participantSid": sid, "resumeKey": key[:len(key)-1]}},
		// alice joined without a token: a token (anyone may mint one in
		// development) proves nothing.
		"token for alice, join had none": {"", map[string]any{"type": "resume", "participantSid": sid, "token": tokenForAlice}},
		"upgrade token for alice":        {"access_token=" + url.QueryEscape(tokenForAlice), map[string]any{"type": "resume", "participantSid": sid}},
		"key, but upgrade token for bob": {"access_token=" + url.QueryEscape(tokenForBob), map[string]any{"type": "resume", "participantSid": sid, "resumeKey": key}},
		"bad token":                      {"", map[string]any{"type": "resume", "participantSid": sid, "token": "a.b.c"}},
	} {
		cl, got := resumeAnswer(t, e, c.query, c.msg)
		if got != unknown {
			t.Errorf("%s: %s, want the unknown sid's answer %s", name, got, unknown)
		}
		cl.send(map[string]any{"type": "send_data", "payload": "hi"})
		cl.expectError("not_joined")
	}

	for _, path := range []string{"/api/rooms", "/api/rooms/r", "/__admin/events"} {
		if r := e.do(t, "GET", path, "", nil); r.status != 200 || strings.Contains(r.raw, key) {
			t.Errorf("%s shows the resume key: %d %s", path, r.status, r.raw)
		}
	}

	// The key works, whatever else comes with it that proves nothing.
	again, got := resumeAnswer(t, e, "", map[string]any{"type": "resume", "participantSid": sid, "resumeKey": key, "token": "a.b.c"})
	if !strings.Contains(got, `"type":"resumed"`) {
		t.Fatalf("resume with the key: %s", got)
	}
	again.send(map[string]any{"type": "send_data", "payload": "back"})
	if m := bob.expect("data_received"); m["from"] != "alice" || m["payload"] != "back" {
		t.Fatalf("bob got %v", m)
	}
}

// A join that carried a token may be resumed with a token for the same
// identity and room, instead of the key.
func TestJSONResumeWithToken(t *testing.T) {
	e := startAdmin(t, nil, signal.Options{ResumeWindow: wait})
	tokenForAlice := e.rtc.token(t, "r", "alice", nil)
	otherRoom := e.rtc.token(t, "elsewhere", "alice", nil)

	sid, _ := dropped(t, e, "access_token="+url.QueryEscape(tokenForAlice), nil)
	_, unknown := resumeAnswer(t, e, "", map[string]any{"type": "resume", "participantSid": "PA_unknown"})
	if _, got := resumeAnswer(t, e, "", map[string]any{"type": "resume", "participantSid": sid, "token": otherRoom}); got != unknown {
		t.Errorf("token for another room: %s, want %s", got, unknown)
	}
	if _, got := resumeAnswer(t, e, "access_token="+url.QueryEscape(tokenForAlice), map[string]any{"type": "resume", "participantSid": sid}); !strings.Contains(got, `"type":"resumed"`) {
		t.Fatalf("resume with the upgrade's token: %s", got)
	}

	e2 := startAdmin(t, nil, signal.Options{ResumeWindow: wait})
	tok2 := e2.rtc.token(t, "r", "alice", nil)
	sid2, joined := dropped(t, e2, "", map[string]any{"token": tok2})
	if joined["resumeKey"] == nil {
		t.Errorf("room_joined without a resume key: %v", joined)
	}
	if _, got := resumeAnswer(t, e2, "", map[string]any{"type": "resume", "participantSid": sid2, "token": tok2}); !strings.Contains(got, `"type":"resumed"`) {
		t.Fatalf("resume with a token in the message: %s", got)
	}
}

// In production a caller without the caller bearer sees rooms and
// participants, but no participant sids.
func TestRoomsHideParticipantSidsFromAnonymousInProduction(t *testing.T) {
	e := startAdmin(t, prodEnv(nil), signal.Options{})
	alice := e.joined(t, "r", "alice")
	alice.send(map[string]any{"type": "publish_track", "trackKind": "audio"})
	alice.expect("track_published")
	bearer := map[string]string{"Authorization": "Bearer " + callerToken(t, prodJWTSecret, time.Hour, time.Now())}
	for _, path := range []string{"/api/rooms", "/api/rooms/r"} {
		anon := e.do(t, "GET", path, "", nil)
		if anon.status != 200 || !strings.Contains(anon.raw, `"identity":"alice"`) || !strings.Contains(anon.raw, `"sid":"TR_`) {
			t.Errorf("%s without a bearer: %d %s", path, anon.status, anon.raw)
		}
		if strings.Contains(anon.raw, `"PA_`) {
			t.Errorf("%s without a bearer lists a participant sid: %s", path, anon.raw)
		}
		if known := e.do(t, "GET", path, "", bearer); known.status != 200 || !strings.Contains(known.raw, `"sid":"PA_`) {
			t.Errorf("%s with the caller bearer: %d %s", path, known.status, known.raw)
		}
	}
}
