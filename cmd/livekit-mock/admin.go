package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
)

const adminUsage = `usage: livekit-mock admin <command>

  reset [--what rooms,ratelimit,journal,faults,stats]   empty the server (everything by default)
  events [--follow] [--room R] [--identity I] [--type T[,T]] [--since N] [--limit N]
                                                       print journal entries, one JSON object a line
  faults list                                          print the fault rules
  faults add '<rule JSON>' | [--target http|rtc --action A --route P --room R --identity I
             --latency-ms N --jitter-ms N --status N --close-code N --probability P --count N --id ID]
  faults delete <id>                                   delete one rule
  faults clear                                         delete every rule

The server is $LIVEKIT_MOCK_URL (default http://127.0.0.1:$PORT). With JWT_SECRET set
(production mode), requests carry a caller bearer minted with it.
`

// adminClient talks to /__admin.
type adminClient struct {
	base   string
	bearer string
	hc     *http.Client
}

func newAdminClient(getenv func(string) string) (*adminClient, error) {
	base := getenv("LIVEKIT_MOCK_URL")
	if base == "" {
		port := getenv("PORT")
		if port == "" {
			port = "7880"
		}
		base = "http://127.0.0.1:" + port
	}
	c := &adminClient{base: strings.TrimRight(base, "/"), hc: &http.Client{}}
	if secret := getenv("JWT_SECRET"); secret != "" {
		tok, err := auth.MintCaller(secret, "livekit-mock-cli", 10*time.Minute, time.Now())
		if err != nil {
			return nil, err
		}
		c.bearer = tok
	}
	return c, nil
}

// call sends one request and returns the body of a 2xx answer; other
// statuses become an error with the server's sentence.
func (c *adminClient) call(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		_ = json.Unmarshal(out, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(out))
		}
		return nil, exitError{code: 1, msg: fmt.Sprintf("%s %s: %d %s", method, path, resp.StatusCode, e.Error)}
	}
	return out, nil
}

func adminCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: adminUsage}
	}
	if wantsHelp(args) {
		fmt.Fprint(stdout, adminUsage)
		return nil
	}
	c, err := newAdminClient(getenv)
	if err != nil {
		return err
	}
	switch args[0] {
	case "reset":
		return adminReset(ctx, c, args[1:], stdout, stderr)
	case "events":
		return adminEvents(ctx, c, args[1:], stdout, stderr)
	case "faults":
		return adminFaults(ctx, c, args[1:], stdout, stderr)
	}
	return exitError{code: 2, msg: fmt.Sprintf("unknown admin command %q\n%s", args[0], adminUsage)}
}

func printJSON(w io.Writer, b []byte) error {
	var v any
	if json.Unmarshal(b, &v) != nil {
		_, err := w.Write(b)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func adminReset(ctx context.Context, c *adminClient, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin reset", flag.ContinueOnError)
	what := fs.String("what", "", "comma-separated: rooms, ratelimit, journal, faults, stats (default all)")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	body := map[string]any{}
	if *what != "" {
		body["what"] = strings.Split(*what, ",")
	}
	out, err := c.call(ctx, http.MethodPost, "/__admin/reset", body)
	if err != nil {
		return err
	}
	return printJSON(stdout, out)
}

func adminEvents(ctx context.Context, c *adminClient, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin events", flag.ContinueOnError)
	follow := fs.Bool("follow", false, "stream new entries until interrupted (with --since: the held ones after it first)")
	room := fs.String("room", "", "only this room")
	identity := fs.String("identity", "", "only this identity")
	typ := fs.String("type", "", "only these types, comma-separated")
	since := fs.Uint64("since", 0, "only entries after this sequence number")
	limit := fs.Int("limit", 0, "at most this many entries (without --follow)")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"room": *room, "identity": *identity, "type": *typ} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !*follow {
		if *since > 0 {
			q.Set("since", fmt.Sprint(*since))
		}
		if *limit > 0 {
			q.Set("limit", fmt.Sprint(*limit))
		}
		out, err := c.call(ctx, http.MethodGet, "/__admin/events?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		var list struct{ Events []json.RawMessage }
		if err := json.Unmarshal(out, &list); err != nil {
			return err
		}
		for _, e := range list.Events {
			fmt.Fprintln(stdout, string(e))
		}
		return nil
	}
	sinceSet := false
	fs.Visit(func(f *flag.Flag) { sinceSet = sinceSet || f.Name == "since" })
	if !sinceSet {
		// The stream starts with the next entry.
		return followEvents(ctx, c, q, nil, stdout)
	}
	return followEvents(ctx, c, q, since, stdout)
}

// followEvents prints the SSE stream's entries until ctx ends or the server
// closes the stream: those after since first, or only new ones (nil).
func followEvents(ctx context.Context, c *adminClient, q url.Values, since *uint64, stdout io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/__admin/events/stream?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if since != nil {
		// The stream resumes after an id of this boot; learn the boot id first.
		out, err := c.call(ctx, http.MethodGet, "/__admin/events?limit=1", nil)
		if err != nil {
			return err
		}
		var info struct{ BootID string }
		_ = json.Unmarshal(out, &info)
		req.Header.Set("Last-Event-ID", fmt.Sprintf("%s:%d", info.BootID, *since))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return exitError{code: 1, msg: fmt.Sprintf("GET /__admin/events/stream: %d %s", resp.StatusCode, strings.TrimSpace(string(b)))}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			fmt.Fprintln(stdout, data)
		}
	}
	if ctx.Err() != nil {
		return nil // interrupted: a normal end
	}
	return sc.Err()
}

const faultsUsage = `usage: livekit-mock admin faults <command>

  list                  print the fault rules
  add '<rule JSON>'     add a rule given as JSON, or with flags ('admin faults add --help')
  delete <id>           delete one rule
  clear                 delete every rule
`

func adminFaults(ctx context.Context, c *adminClient, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: faultsUsage}
	}
	if wantsHelp(args) {
		fmt.Fprint(stdout, faultsUsage)
		return nil
	}
	if args[0] != "add" && helpFlag(args[1:]) {
		fmt.Fprint(stdout, faultsUsage)
		return nil
	}
	switch args[0] {
	case "list":
		out, err := c.call(ctx, http.MethodGet, "/__admin/faults", nil)
		if err != nil {
			return err
		}
		return printJSON(stdout, out)
	case "clear":
		out, err := c.call(ctx, http.MethodDelete, "/__admin/faults", nil)
		if err != nil {
			return err
		}
		return printJSON(stdout, out)
	case "delete":
		if len(args) != 2 {
			return exitError{code: 2, msg: "usage: livekit-mock admin faults delete <id>"}
		}
		out, err := c.call(ctx, http.MethodDelete, "/__admin/faults/"+url.PathEscape(args[1]), nil)
		if err != nil {
			return err
		}
		return printJSON(stdout, out)
	case "add":
		rule, err := faultRule(args[1:], stdout, stderr)
		if err != nil {
			return err
		}
		out, err := c.call(ctx, http.MethodPost, "/__admin/faults", rule)
		if err != nil {
			return err
		}
		return printJSON(stdout, out)
	}
	return exitError{code: 2, msg: fmt.Sprintf("unknown faults command %q (list, add, delete, clear)", args[0])}
}

// faultRule reads a rule from one JSON argument or from flags; the server
// validates it.
func faultRule(args []string, stdout, stderr io.Writer) (any, error) {
	if len(args) == 1 && strings.HasPrefix(strings.TrimSpace(args[0]), "{") {
		var v map[string]any
		if err := json.Unmarshal([]byte(args[0]), &v); err != nil {
			return nil, exitError{code: 2, msg: "the rule is not a JSON object: " + err.Error()}
		}
		return v, nil
	}
	fs := flag.NewFlagSet("admin faults add", flag.ContinueOnError)
	id := fs.String("id", "", "rule id (default: assigned)")
	target := fs.String("target", "", "http or rtc")
	action := fs.String("action", "", "latency, status (http); latency, drop, close, abort, silence (rtc)")
	route := fs.String("route", "", "http: path, or prefix ending in *")
	room := fs.String("room", "", "rtc: room")
	identity := fs.String("identity", "", "rtc: participant identity")
	latency := fs.Int("latency-ms", 0, "latency in milliseconds")
	jitter := fs.Int("jitter-ms", 0, "random extra latency up to this")
	status := fs.Int("status", 0, "http status to answer")
	closeCode := fs.Int("close-code", 0, "close code (default 1011)")
	prob := fs.Float64("probability", 0, "chance of applying, 0-1 (default 1)")
	count := fs.Int("count", 0, "applications before the rule stops (default: until deleted)")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return nil, err
	}
	rule := map[string]any{"target": *target, "action": *action}
	match := map[string]any{}
	for k, v := range map[string]string{"route": *route, "room": *room, "identity": *identity} {
		if v != "" {
			match[k] = v
		}
	}
	if len(match) > 0 {
		rule["match"] = match
	}
	if *id != "" {
		rule["id"] = *id
	}
	for k, v := range map[string]int{"latency_ms": *latency, "jitter_ms": *jitter, "status": *status, "close_code": *closeCode, "count": *count} {
		if v != 0 {
			rule[k] = v
		}
	}
	if *prob != 0 {
		rule["probability"] = *prob
	}
	return rule, nil
}
