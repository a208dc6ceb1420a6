package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// notifyWriter signals each write, so a test waits on output, not on time.
type notifyWriter struct {
	buf   syncBuffer
	wrote chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func TestAdminCommand(t *testing.T) {
	base, _, stop := startServe(t, nil)
	defer func() { _ = stop() }()
	env := envOf(map[string]string{"LIVEKIT_MOCK_URL": base})
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"admin"}, args...), env, &out, &errb)
		return code, out.String(), errb.String()
	}

	if code, out, errs := cli("faults", "add", "--target", "http", "--action", "status", "--status", "503", "--route", "/health", "--count", "1", "--id", "down"); code != 0 || !strings.Contains(out, `"id": "down"`) {
		t.Fatalf("faults add: %d %s %s", code, out, errs)
	}
	if code, out, _ := cli("faults", "list"); code != 0 || !strings.Contains(out, `"status": 503`) {
		t.Fatalf("faults list: %d %s", code, out)
	}
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/health under the fault: %d", resp.StatusCode)
	}
	code, out, _ := cli("events", "--type", "fault_applied")
	var entry map[string]any
	if code != 0 || json.Unmarshal([]byte(strings.TrimSpace(out)), &entry) != nil || entry["type"] != "fault_applied" {
		t.Fatalf("events: %d %q", code, out)
	}
	if code, _, errs := cli("faults", "add", `{"target":"smtp"}`); code != 1 || !strings.Contains(errs, "target") {
		t.Fatalf("bad rule: %d %s", code, errs)
	}
	if code, _, errs := cli("faults", "delete", "nope"); code != 1 || !strings.Contains(errs, "Fault not found") {
		t.Fatalf("delete unknown: %d %s", code, errs)
	}
	if code, out, _ := cli("faults", "clear"); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("faults clear: %d %s", code, out)
	}
	if code, _, _ := cli("bogus"); code != 2 {
		t.Fatalf("unknown command exit %d", code)
	}

	// --follow prints entries as they come, until interrupted; --since 0
	// replays the held ones first, so the reset shows whenever it lands.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w := &notifyWriter{wrote: make(chan struct{}, 1)}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"admin", "events", "--follow", "--since", "0", "--type", "reset"}, env, w, io.Discard)
	}()
	if code, _, _ := cli("reset"); code != 0 {
		t.Fatalf("reset exit %d", code)
	}
	for !strings.Contains(w.buf.String(), `"type":"reset"`) {
		select {
		case <-w.wrote:
		case <-ctx.Done():
			t.Fatalf("follow printed %q", w.buf.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("follow exit %d", code)
	}
}
