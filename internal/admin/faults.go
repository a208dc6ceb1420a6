package admin

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/journal"
)

// Fault targets and actions (SPEC §10, after Toxiproxy's toxics).
const (
	TargetHTTP = "http"
	TargetRTC  = "rtc"

	ActionLatency = "latency"
	ActionStatus  = "status"
	ActionDrop    = "drop"
	ActionClose   = "close"
	ActionAbort   = "abort"
	ActionSilence = "silence"
)

// Limits of a rule's numbers.
const (
	MaxLatencyMS     = 60_000
	DefaultCloseCode = 1011 // "internal error": clients treat it as a failure and reconnect
	maxRules         = 256
)

// Match selects what a rule applies to; empty fields match anything.
// Route (http only) is a path, or a prefix ending in "*". Room and Identity
// are for rtc rules.
type Match struct {
	Route    string `json:"route,omitempty"`
	Room     string `json:"room,omitempty"`
	Identity string `json:"identity,omitempty"`
}

// Rule is one fault rule. Count 0 means until deleted; Probability 0 means 1.
type Rule struct {
	ID          string  `json:"id"`
	Target      string  `json:"target"`
	Match       Match   `json:"match"`
	Action      string  `json:"action"`
	LatencyMS   int     `json:"latency_ms,omitempty"`
	JitterMS    int     `json:"jitter_ms,omitempty"`
	Status      int     `json:"status,omitempty"`
	CloseCode   int     `json:"close_code,omitempty"`
	Probability float64 `json:"probability,omitempty"`
	Count       int     `json:"count,omitempty"`
	// Applied counts the applications so far (read-only).
	Applied int `json:"applied"`
}

// ValidationError names the field of a bad rule or request and its rule.
type ValidationError struct{ Field, Rule string }

func (e *ValidationError) Error() string { return e.Field + " " + e.Rule }

func invalid(field, rule string) error { return &ValidationError{Field: field, Rule: rule} }

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// validate checks r and fills its defaults.
func (r *Rule) validate() error {
	if r.ID != "" && !idPattern.MatchString(r.ID) {
		return invalid("id", "must be 1-64 characters of A-Z a-z 0-9 _ . -")
	}
	allowed := map[string][]string{
		TargetHTTP: {ActionLatency, ActionStatus},
		TargetRTC:  {ActionLatency, ActionDrop, ActionClose, ActionAbort, ActionSilence},
	}
	acts, ok := allowed[r.Target]
	if !ok {
		return invalid("target", `must be "http" or "rtc"`)
	}
	if !slices.Contains(acts, r.Action) {
		return invalid("action", fmt.Sprintf("must be one of %s for target %q", strings.Join(acts, ", "), r.Target))
	}
	switch r.Target {
	case TargetHTTP:
		if r.Match.Room != "" || r.Match.Identity != "" {
			return invalid("match", "of an http rule takes only route")
		}
		if rt := r.Match.Route; rt != "" && (!strings.HasPrefix(rt, "/") || len(rt) > 256) {
			return invalid("match.route", `must be a path starting with "/" (a trailing "*" matches a prefix), at most 256 bytes`)
		}
		if strings.HasPrefix(r.Match.Route, "/__admin") {
			return invalid("match.route", "must not name the test-control API")
		}
	case TargetRTC:
		if r.Match.Route != "" {
			return invalid("match.route", "applies to http rules only")
		}
	}
	if r.LatencyMS < 0 || r.LatencyMS > MaxLatencyMS {
		return invalid("latency_ms", fmt.Sprintf("must be from 0 to %d", MaxLatencyMS))
	}
	if r.JitterMS < 0 || r.JitterMS > MaxLatencyMS {
		return invalid("jitter_ms", fmt.Sprintf("must be from 0 to %d", MaxLatencyMS))
	}
	if r.Action == ActionLatency && r.LatencyMS == 0 && r.JitterMS == 0 {
		return invalid("latency_ms", "is required for a latency rule")
	}
	if r.Action == ActionStatus {
		if r.Status < 100 || r.Status > 599 {
			return invalid("status", "must be an HTTP status from 100 to 599")
		}
	} else if r.Status != 0 {
		return invalid("status", "applies to status rules only")
	}
	if r.Action == ActionClose {
		if r.CloseCode == 0 {
			r.CloseCode = DefaultCloseCode
		}
		if !sendableCloseCode(r.CloseCode) {
			return invalid("close_code", "must be a close code a server may send (1000-1003, 1007-1014, 3000-4999)")
		}
	} else if r.CloseCode != 0 {
		return invalid("close_code", "applies to close rules only")
	}
	if r.Probability < 0 || r.Probability > 1 {
		return invalid("probability", "must be from 0 to 1")
	}
	if r.Probability == 0 {
		r.Probability = 1
	}
	if r.Count < 0 {
		return invalid("count", "must be 0 (until deleted) or more")
	}
	return nil
}

func sendableCloseCode(c int) bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014, c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// rule is a Rule with its live state.
type rule struct {
	Rule
	silenced map[[2]string]bool // rtc silence: the participants it has silenced
}

// left reports whether the rule may still apply.
func (r *rule) left() bool { return r.Count == 0 || r.Applied < r.Count }

// Faults holds the fault rules and answers the HTTP middleware and the
// signalling sessions; each application is journaled as fault_applied.
type Faults struct {
	j    *journal.Journal
	rand func() float64

	mu    sync.Mutex // guards the fields below
	rules []*rule
	next  int
}

// NewFaults returns an empty rule set; rand (default math/rand/v2) draws
// probabilities and jitter.
func NewFaults(j *journal.Journal, rand func() float64) *Faults {
	if rand == nil {
		rand = defaultRand
	}
	return &Faults{j: j, rand: rand}
}

// Add validates r and adds it; a rule with the id of an existing one
// replaces it. It returns the stored rule.
func (f *Faults) Add(r Rule) (Rule, error) {
	r.Applied = 0
	if err := r.validate(); err != nil {
		return Rule{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.ID == "" {
		f.next++
		r.ID = "fault-" + strconv.Itoa(f.next)
	}
	nr := &rule{Rule: r, silenced: map[[2]string]bool{}}
	if i := slices.IndexFunc(f.rules, func(x *rule) bool { return x.ID == r.ID }); i >= 0 {
		f.rules[i] = nr
		return r, nil
	}
	if len(f.rules) >= maxRules {
		return Rule{}, invalid("faults", fmt.Sprintf("are at most %d; delete some first", maxRules))
	}
	f.rules = append(f.rules, nr)
	return r, nil
}

// List returns the rules in the order they were added.
func (f *Faults) List() []Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Rule, 0, len(f.rules))
	for _, r := range f.rules {
		out = append(out, r.Rule)
	}
	return out
}

// Delete removes the rule id; false when there is none.
func (f *Faults) Delete(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.rules)
	f.rules = slices.DeleteFunc(f.rules, func(x *rule) bool { return x.ID == id })
	return len(f.rules) < n
}

// Clear removes every rule and returns how many there were.
func (f *Faults) Clear() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.rules)
	f.rules = nil
	return n
}

// draw tells whether a rule fires this time (probability), and counts it.
// Called with f.mu held.
func (f *Faults) draw(r *rule) bool {
	if !r.left() || (r.Probability < 1 && f.rand() >= r.Probability) {
		return false
	}
	r.Applied++
	return true
}

func (f *Faults) delay(r *rule) time.Duration {
	d := time.Duration(r.LatencyMS) * time.Millisecond
	if r.JitterMS > 0 {
		d += time.Duration(f.rand() * float64(r.JitterMS) * float64(time.Millisecond))
	}
	return d
}

// applied journals one application.
func (f *Faults) applied(r *rule, room, identity string, extra map[string]any) {
	d := map[string]any{"id": r.ID, "target": r.Target, "action": r.Action}
	for k, v := range extra {
		d[k] = v
	}
	f.j.Record(journal.TypeFaultApplied, room, identity, d)
}

func routeMatches(pattern, path string) bool {
	if pattern == "" {
		return true
	}
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(path, p)
	}
	return pattern == path
}

func (m Match) rtc(room, identity string) bool {
	return (m.Room == "" || m.Room == room) && (m.Identity == "" || m.Identity == identity)
}

// HTTP tells the HTTP middleware what to do with a request to path: wait
// delay (latency rules add up), then answer status instead of the handler
// (the first status rule that fires; 0: none). /__admin is never touched.
func (f *Faults) HTTP(path string) (delay time.Duration, status int) {
	if path == "/__admin" || strings.HasPrefix(path, "/__admin/") {
		return 0, 0
	}
	type hit struct {
		r     *rule
		delay time.Duration
	}
	var hits []hit
	f.mu.Lock()
	for _, r := range f.rules {
		if r.Target != TargetHTTP || !routeMatches(r.Match.Route, path) {
			continue
		}
		if r.Action == ActionStatus && status != 0 {
			continue
		}
		if !f.draw(r) {
			continue
		}
		h := hit{r: r}
		if r.Action == ActionLatency {
			h.delay = f.delay(r)
			delay += h.delay
		} else {
			status = r.Status
		}
		hits = append(hits, h)
	}
	f.mu.Unlock()
	for _, h := range hits {
		extra := map[string]any{"route": path}
		if h.delay > 0 {
			extra["latency_ms"] = h.delay.Milliseconds()
		}
		if h.r.Action == ActionStatus {
			extra["status"] = h.r.Status
		}
		f.applied(h.r, "", "", extra)
	}
	return delay, status
}

// Outgoing implements signal.Faults: latency adds up, drop wins.
func (f *Faults) Outgoing(room, identity string) (delay time.Duration, drop bool) {
	var hits []*rule
	f.mu.Lock()
	for _, r := range f.rules {
		if r.Target != TargetRTC || (r.Action != ActionLatency && r.Action != ActionDrop) || !r.Match.rtc(room, identity) {
			continue
		}
		if !f.draw(r) {
			continue
		}
		if r.Action == ActionDrop {
			drop = true
		} else {
			delay += f.delay(r)
		}
		hits = append(hits, r)
	}
	f.mu.Unlock()
	for _, r := range hits {
		extra := map[string]any{}
		if r.Action == ActionLatency {
			extra["latency_ms"] = r.LatencyMS
		}
		f.applied(r, room, identity, extra)
	}
	return delay, drop
}

// Connection implements signal.Faults: the first close or abort rule that
// fires ends the session.
func (f *Faults) Connection(room, identity string) (closeCode int, abort bool) {
	f.mu.Lock()
	var hit *rule
	for _, r := range f.rules {
		if r.Target != TargetRTC || (r.Action != ActionClose && r.Action != ActionAbort) || !r.Match.rtc(room, identity) {
			continue
		}
		if f.draw(r) {
			hit = r
			break
		}
	}
	f.mu.Unlock()
	if hit == nil {
		return 0, false
	}
	if hit.Action == ActionAbort {
		f.applied(hit, room, identity, nil)
		return 0, true
	}
	f.applied(hit, room, identity, map[string]any{"close_code": hit.CloseCode})
	return hit.CloseCode, false
}

// Silenced implements signal.Faults: a silence rule silences each matching
// participant once (that is one application) and keeps it silent until the
// rule is deleted.
func (f *Faults) Silenced(room, identity string) bool {
	key := [2]string{room, identity}
	f.mu.Lock()
	var fresh *rule
	silent := false
	for _, r := range f.rules {
		if r.Target != TargetRTC || r.Action != ActionSilence || !r.Match.rtc(room, identity) {
			continue
		}
		if r.silenced[key] {
			silent = true
			break
		}
		if f.draw(r) {
			r.silenced[key] = true
			silent, fresh = true, r
			break
		}
	}
	f.mu.Unlock()
	if fresh != nil {
		f.applied(fresh, room, identity, nil)
	}
	return silent
}
