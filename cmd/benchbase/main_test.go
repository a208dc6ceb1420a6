package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
)

// The baseline must do the real work: its tokens verify like the mock's.
func TestTokenVerifies(t *testing.T) {
	h := tokenHandler("devkey", []byte("secret"))
	tests := []struct {
		body   string
		status int
	}{
		{`{"roomName":"r","participantName":"Alice","participantIdentity":"alice"}`, http.StatusOK},
		{`{"roomName":"r"}`, http.StatusBadRequest},
		{`{"roomName":`, http.StatusBadRequest},
		{`{"roomName":"r","participantName":"` + strings.Repeat("a", 2000) + `"}`, http.StatusBadRequest},
	}
	for _, tc := range tests {
		w := httptest.NewRecorder()
		h(w, httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(tc.body)))
		if w.Code != tc.status {
			t.Fatalf("%.40s: status %d, want %d", tc.body, w.Code, tc.status)
		}
		if tc.status != http.StatusOK {
			continue
		}
		var resp struct{ Token string }
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		claims, err := auth.NewVerifier(map[string]string{"devkey": "secret"}, time.Now).Verify(resp.Token)
		if err != nil {
			t.Fatalf("baseline token does not verify: %v", err)
		}
		if claims.Identity != "alice" || claims.Video == nil || claims.Video.Room != "r" || !claims.Video.RoomJoin {
			t.Fatalf("claims %+v", claims)
		}
	}
}

// BenchmarkToken is the baseline of httpapi's BenchmarkTokenEndpoint.
func BenchmarkToken(b *testing.B) {
	h := tokenHandler("devkey", []byte("secret"))
	const body = `{"roomName":"bench-room","participantName":"Alice","participantIdentity":"alice"}`
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h(w, httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body)))
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
