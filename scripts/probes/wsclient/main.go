// Command wsclient is the small WebSocket client of the probe scripts: it
// opens one JSON-dialect connection to /rtc, misbehaves in one way and checks
// how the server ends the connection (security.md §9 F10–F14).
//
//	go run ./scripts/probes/wsclient -url ws://127.0.0.1:7880/rtc -mode flood
//
// Exit status: 0 when the server answered as expected, 1 when it did not, 77
// when the server has no /rtc to probe.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

type result struct {
	closeCode int // 0: no close seen
	reason    string
	err       error
	types     []string // "type" of every text message read
}

func main() {
	url := flag.String("url", "ws://127.0.0.1:7880/rtc", "WebSocket URL of the server's /rtc")
	mode := flag.String("mode", "flood", "flood | oversize | bigheader | badutf8 | binaryping")
	n := flag.Int("n", 1000, "flood: messages to send")
	per := flag.Duration("per", time.Second, "flood: spread the messages over this long")
	size := flag.Int("size", 65536+1, "oversize: frame size in bytes")
	expect := flag.Int("expect", 0, "expected close code (default: the mode's)")
	wait := flag.Duration("wait", 5*time.Second, "how long to wait for the server's answer")
	flag.Parse()

	want := *expect
	if want == 0 {
		want = map[string]int{"flood": 1008, "oversize": 1009, "bigheader": 1009, "badutf8": 1007}[*mode]
	}
	os.Exit(run(*url, *mode, *n, *per, *size, want, *wait))
}

func run(url, mode string, n int, per time.Duration, size, want int, wait time.Duration) int {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(url, nil)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			fmt.Printf("SKIP  %s: %s answers 404, the server has no /rtc yet\n", mode, url)
			return 77
		}
		fmt.Printf("FAIL  %s: could not connect to %s: %v\n", mode, url, err)
		return 1
	}
	defer conn.Close()

	done := make(chan result, 1)
	stop := make(chan struct{}) // closed once the reader has its answer
	go func() {
		var r result
		defer func() { close(stop); done <- r }()
		_ = conn.SetReadDeadline(time.Now().Add(wait + per))
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					r.closeCode, r.reason = ce.Code, ce.Text
				} else {
					r.err = err
				}
				return
			}
			t := typeOf(msg)
			r.types = append(r.types, t)
			if mode == "binaryping" && t == "pong" {
				return
			}
		}
	}()

	sent := 0
	desc := ""
	switch mode {
	case "flood":
		desc = fmt.Sprintf("flood of %d pings in %s", n, per)
		gap := per / time.Duration(max(n, 1))
		tick := time.NewTicker(max(gap, time.Microsecond))
	loop:
		for i := 0; i < n; i++ {
			if conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) != nil {
				break
			}
			sent++
			select {
			case <-stop:
				break loop
			case <-tick.C:
			}
		}
		tick.Stop()
	case "oversize":
		desc = fmt.Sprintf("text frame of %d bytes", size)
		body := []byte(`{"type":"ping","pad":"` + strings.Repeat("a", max(size-24, 0)) + `"}`)
		_ = conn.WriteMessage(websocket.TextMessage, body[:min(size, len(body))])
	case "bigheader":
		desc = "frame header announcing 2^62 bytes"
		// FIN+text, MASK bit with 127 (64-bit length), the length, a mask key,
		// and a few payload bytes: the server must refuse without allocating.
		var hdr bytes.Buffer
		hdr.Write([]byte{0x81, 0x80 | 127})
		_ = binary.Write(&hdr, binary.BigEndian, uint64(1)<<62)
		hdr.Write([]byte{1, 2, 3, 4, 'x', 'y'})
		_, _ = conn.NetConn().Write(hdr.Bytes())
	case "badutf8":
		desc = "text frame with invalid UTF-8 (0xC3 0x28)"
		_ = conn.WriteMessage(websocket.TextMessage, []byte{0xC3, 0x28})
	case "binaryping":
		desc = `binary frame holding {"type":"ping"}`
		_ = conn.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping"}`))
	default:
		fmt.Printf("FAIL  unknown mode %q\n", mode)
		return 2
	}

	var r result
	select {
	case r = <-done:
	case <-time.After(wait):
		_ = conn.Close()
		r = <-done
	}
	if mode == "binaryping" {
		got := "no pong"
		for _, t := range r.types {
			if t == "pong" {
				got = "pong"
			}
		}
		return report(got == "pong", mode, desc, "pong", got)
	}
	got := fmt.Sprintf("close %d %q", r.closeCode, r.reason)
	if r.closeCode == 0 {
		got = fmt.Sprintf("no close frame (%v)", r.err)
	}
	if mode == "flood" {
		got += fmt.Sprintf(" after %d messages sent", sent)
	}
	return report(r.closeCode == want, mode, desc, fmt.Sprintf("close %d", want), got)
}

// report prints one line with what was expected and what came, and returns
// the exit status.
func report(okay bool, mode, desc, want, got string) int {
	if okay {
		fmt.Printf("ok    %-10s %s: expected %s, got %s\n", mode, desc, want, got)
		return 0
	}
	fmt.Printf("FAIL  %-10s %s: expected %s, got %s\n", mode, desc, want, got)
	return 1
}

// typeOf reads the "type" of a JSON message without a full decode.
func typeOf(msg []byte) string {
	i := bytes.Index(msg, []byte(`"type":"`))
	if i < 0 {
		return "?"
	}
	rest := msg[i+8:]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return string(rest[:j])
	}
	return "?"
}
