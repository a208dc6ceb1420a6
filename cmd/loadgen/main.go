// Command loadgen drives a running livekit-mock (JSON dialect of /rtc) or the
// benchbase baseline (its /ws hub) over loopback and prints what it measured.
//
//	loadgen hold    -url http://127.0.0.1:7880 -dialect json -n 10000 -rooms 100 -pid PID
//	loadgen fanout  -url … -dialect json -rooms 20 -participants 50 -rate 10 -duration 10s
//	loadgen churn   -url … -dialect json -workers 50 -duration 5s [-reconnect]
//	loadgen startup -bin bin/livekit-mock -n 10
//
// Every mode ends by itself (bounded counts and durations) and only talks to
// 127.0.0.1. Each prints a human summary and one machine-readable line
// starting with "RESULT" (key=value pairs) for scripts/bench.sh.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"
)

const usage = `usage: loadgen <hold|fanout|churn|startup> [flags]; loadgen <mode> -h lists the flags`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "hold":
		err = runHold(os.Args[2:])
	case "fanout":
		err = runFanout(os.Args[2:])
	case "churn":
		err = runChurn(os.Args[2:])
	case "startup":
		err = runStartup(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// target is the server under load.
type target struct {
	base    *url.URL // http://127.0.0.1:port
	dialect dialect
}

// commonFlags registers -url and -dialect on fs.
func commonFlags(fs *flag.FlagSet) (u, d *string) {
	u = fs.String("url", "http://127.0.0.1:7880", "server base URL (127.0.0.1 only)")
	d = fs.String("dialect", "json", "json (livekit-mock /rtc) or base (benchbase /ws)")
	return u, d
}

func newTarget(rawURL, dialectName string) (*target, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	host, _, err := net.SplitHostPort(u.Host)
	if err != nil || host != "127.0.0.1" {
		return nil, fmt.Errorf("-url must be http://127.0.0.1:<port>, got %q", rawURL)
	}
	d, ok := dialects[dialectName]
	if !ok {
		return nil, fmt.Errorf("-dialect must be json or base, got %q", dialectName)
	}
	return &target{base: u, dialect: d}, nil
}

// wsURL is the WebSocket URL of the dialect's endpoint for room.
func (t *target) wsURL(room string) string {
	u := *t.base
	u.Scheme = "ws"
	if t.base.Scheme == "https" {
		u.Scheme = "wss"
	}
	path, query := t.dialect.endpoint(room)
	u.Path, u.RawQuery = path, query
	return u.String()
}

// rssKiB reads VmRSS of pid from /proc.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib); err != nil {
				return 0, err
			}
			return kib, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// percentile of sorted values (nearest rank); 0 when empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }
