package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The caller bearer printed by `livekit-mock token create --caller` opens the
// production-mode token service (SPEC §5.4); without it the answer is 401.
func TestCallerTokenOpensProductionTokenService(t *testing.T) {
	env := map[string]string{
		"ENVIRONMENT":        "production",
		"LIVEKIT_API_KEY":    "prodkey",
		"LIVEKIT_API_SECRET": strings.Repeat("s", 40),
		"JWT_SECRET":         strings.Repeat("j", 40),
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"token", "create", "--caller"}, envOf(env), &out, &errb); code != 0 {
		t.Fatalf("token create --caller: %d %s", code, errb.String())
	}
	bearer := strings.TrimSpace(out.String())

	base, _, stop := startServe(t, env)
	defer func() {
		http.DefaultClient.CloseIdleConnections()
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	call := func(auth string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, base+"/token/join", strings.NewReader(`{"room_name":"r","participant_name":"u"}`))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if st, body := call(""); st != 401 || body["code"] != "unauthenticated" {
		t.Errorf("without a bearer: %d %v", st, body)
	}
	if st, body := call("Bearer " + bearer); st != 200 || body["token"] == nil {
		t.Errorf("with the CLI's caller bearer: %d %v", st, body)
	}
}

// The wiring of build.go: /token/room reserves in the real registry, whose
// events and counts reach /stats and /metrics.
func TestTokenRoomWiredToRegistryAndFigures(t *testing.T) {
	base, _, stop := startServe(t, nil)
	defer func() {
		http.DefaultClient.CloseIdleConnections()
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	resp, err := http.Post(base+"/token/room", "application/json", strings.NewReader(`{"room_name":"wired","participant_name":"u"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/token/room: %d", resp.StatusCode)
	}
	if st, body := get("/api/rooms/wired"); st != 200 || !strings.Contains(body, `"numParticipants":0`) {
		t.Errorf("/api/rooms/wired: %d %s", st, body)
	}
	var stats struct {
		Rooms  int `json:"rooms"`
		Tokens struct {
			Total int `json:"generated_total"`
		} `json:"tokens"`
	}
	st, body := get("/stats")
	if err := json.Unmarshal([]byte(body), &stats); err != nil || st != 200 || stats.Rooms != 1 || stats.Tokens.Total != 1 {
		t.Errorf("/stats: %d %s", st, body)
	}
	if st, body := get("/metrics"); st != 200 || !strings.Contains(body, `livekit_mock_room_events_total{kind="room_started"} 1`) ||
		!strings.Contains(body, "livekit_mock_rooms 1") {
		t.Errorf("/metrics: %d", st)
	}
	if st, body := get("/livekit/status"); st != 200 || !strings.Contains(body, `"accepting":true`) {
		t.Errorf("/livekit/status: %d %s", st, body)
	}
}
