// Command testprogress runs `go test -json …` and prints what a person
// watching needs: a line when a package's tests start, a line when they end
// (with the slowest test), the full output of every failing test, a line
// every 30 s of silence naming what is still running, and a summary.
//
//	go run ./scripts/testprogress go test -race -count=1 -json ./...
//
// Its exit status is the command's, or 1 when the command exited 0 but a
// test or a build failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"time"
)

// event is one line of test2json output (go doc test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output, build-fail
	Test       string
	Elapsed    float64
	Output     string
}

// pkgState is what the printer keeps about one package while it runs.
type pkgState struct {
	started   time.Time
	announced bool                // its "run" line is printed
	output    []string            // package-level output (no test)
	tests     map[string][]string // output of each test still running
	slowest   string
	slowAt    float64
}

type printer struct {
	out     io.Writer
	module  string // module path of ./go.mod, left out of package names
	begin   time.Time
	last    time.Time // when something was last printed
	running map[string]*pkgState
	ok      int
	failed  []string
	skipped int
	timing  []pkgTime
}

type pkgTime struct {
	pkg     string
	elapsed float64
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: testprogress go test -json [flags] [packages]")
		return 2
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(stderr, "testprogress:", err)
		return 2
	}
	p := &printer{out: stdout, begin: time.Now(), running: map[string]*pkgState{}, module: modulePath()}
	p.say("%s", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "testprogress:", err)
		return 2
	}

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				done = true
				break
			}
			p.line(line)
		case now := <-tick.C:
			if now.Sub(p.last) >= 30*time.Second {
				p.heartbeat(now)
			}
		}
	}
	waitErr := cmd.Wait()
	p.summary()
	if waitErr != nil {
		if ee, ok := waitErr.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		fmt.Fprintln(stderr, "testprogress:", waitErr)
		return 1
	}
	if len(p.failed) > 0 {
		return 1
	}
	return 0
}

func (p *printer) say(format string, a ...any) {
	p.last = time.Now()
	fmt.Fprintf(p.out, "[%s] %s\n", clock(p.last.Sub(p.begin)), fmt.Sprintf(format, a...))
}

func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// line handles one line of the command's output; a line that is not an
// event (a message of go itself) is printed as it is.
func (p *printer) line(line string) {
	var e event
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil {
		p.last = time.Now()
		fmt.Fprintln(p.out, line)
		return
	}
	switch e.Action {
	case "build-output":
		p.last = time.Now()
		fmt.Fprint(p.out, e.Output)
		return
	case "build-fail":
		p.say("FAIL  %s (build failed)", p.short(e.ImportPath))
		return
	}
	if e.Package == "" {
		return
	}
	e.Package = p.short(e.Package)
	st := p.running[e.Package]
	if st == nil {
		st = &pkgState{started: time.Now(), tests: map[string][]string{}}
		p.running[e.Package] = st
	}
	switch {
	case e.Action == "run" && !st.announced:
		// Not at "start": a package without tests starts and ends at once.
		st.announced = true
		p.say("run   %s", e.Package)
	case e.Action == "output" && e.Test == "":
		st.output = append(st.output, e.Output)
	case e.Action == "output":
		st.tests[e.Test] = append(st.tests[e.Test], e.Output)
	case e.Test != "" && (e.Action == "pass" || e.Action == "skip"):
		delete(st.tests, e.Test)
		if !strings.Contains(e.Test, "/") && e.Elapsed > st.slowAt {
			st.slowest, st.slowAt = e.Test, e.Elapsed
		}
	case e.Test != "" && e.Action == "fail":
		// Subtests end before their parent: the parent's output holds
		// only its own lines, so print each failing test's as it ends.
		p.last = time.Now()
		for _, l := range st.tests[e.Test] {
			fmt.Fprint(p.out, "    ", l)
		}
		delete(st.tests, e.Test)
	case e.Action == "pass" || e.Action == "skip" || e.Action == "fail":
		p.finish(e, st)
	}
}

func (p *printer) finish(e event, st *pkgState) {
	delete(p.running, e.Package)
	switch e.Action {
	case "skip":
		p.skipped++
		return
	case "pass":
		p.ok++
		p.timing = append(p.timing, pkgTime{e.Package, e.Elapsed})
		slow := ""
		if st.slowest != "" {
			slow = fmt.Sprintf(" (slowest: %s %.1fs)", st.slowest, st.slowAt)
		}
		p.say("ok    %s %.1fs%s", e.Package, e.Elapsed, slow)
	case "fail":
		p.failed = append(p.failed, e.Package)
		p.timing = append(p.timing, pkgTime{e.Package, e.Elapsed})
		// Tests that never ended (a panic, a timeout) keep their output
		// here: print it too, then the package's own.
		names := make([]string, 0, len(st.tests))
		for name := range st.tests {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			for _, l := range st.tests[name] {
				fmt.Fprint(p.out, "    ", l)
			}
		}
		for _, l := range st.output {
			fmt.Fprint(p.out, "    ", l)
		}
		p.say("FAIL  %s %.1fs", e.Package, e.Elapsed)
	}
}

func (p *printer) heartbeat(now time.Time) {
	if len(p.running) == 0 {
		p.say("still building (%d packages done so far)", p.ok+len(p.failed))
		return
	}
	names := make([]string, 0, len(p.running))
	for name := range p.running {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s (%s)", name, clock(now.Sub(p.running[name].started))))
	}
	p.say("still running: %s", strings.Join(parts, ", "))
}

func (p *printer) summary() {
	sort.Slice(p.timing, func(i, j int) bool { return p.timing[i].elapsed > p.timing[j].elapsed })
	var slow []string
	for i, t := range p.timing {
		if i == 3 {
			break
		}
		slow = append(slow, fmt.Sprintf("%s %.0fs", t.pkg, t.elapsed))
	}
	p.say("%d packages ok, %d failed, %d without tests; slowest: %s",
		p.ok, len(p.failed), p.skipped, strings.Join(slow, ", "))
	for _, f := range p.failed {
		fmt.Fprintf(p.out, "FAIL %s\n", f)
	}
}

// short is a package path without the module path: "internal/rooms", or
// the module's last element for the module's root package.
func (p *printer) short(pkg string) string {
	if p.module == "" {
		return pkg
	}
	if pkg == p.module {
		return path.Base(pkg)
	}
	return strings.TrimPrefix(pkg, p.module+"/")
}

// modulePath is the module path of ./go.mod, or "" without one.
func modulePath() string {
	b, err := os.ReadFile("go.mod")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "module" {
			return f[1]
		}
	}
	return ""
}
