package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// stream is go test -json output of two packages: one passes, one has a
// failing subtest, plus a package without tests and a failed build.
const stream = `{"Action":"start","Package":"m/a"}
{"Action":"run","Package":"m/a","Test":"TestFast"}
{"Action":"output","Package":"m/a","Test":"TestFast","Output":"=== RUN   TestFast\n"}
{"Action":"pass","Package":"m/a","Test":"TestFast","Elapsed":0.1}
{"Action":"run","Package":"m/a","Test":"TestSlow"}
{"Action":"output","Package":"m/a","Test":"TestSlow","Output":"noise of a passing test\n"}
{"Action":"pass","Package":"m/a","Test":"TestSlow","Elapsed":2.5}
{"Action":"output","Package":"m/a","Output":"ok  \tm/a\t2.6s\n"}
{"Action":"pass","Package":"m/a","Elapsed":2.6}
{"Action":"run","Package":"m","Test":"TestRoot"}
{"Action":"pass","Package":"m","Test":"TestRoot","Elapsed":0.04}
{"Action":"pass","Package":"m","Elapsed":0.1}
{"Action":"start","Package":"m/none"}
{"Action":"output","Package":"m/none","Output":"?   \tm/none\t[no test files]\n"}
{"Action":"skip","Package":"m/none","Elapsed":0}
{"ImportPath":"m/broken [m/broken.test]","Action":"build-output","Output":"broken.go:3:1: syntax error\n"}
{"ImportPath":"m/broken [m/broken.test]","Action":"build-fail"}
{"Action":"start","Package":"m/b"}
{"Action":"run","Package":"m/b","Test":"TestParent"}
{"Action":"run","Package":"m/b","Test":"TestParent/child"}
{"Action":"output","Package":"m/b","Test":"TestParent/child","Output":"    b_test.go:9: want 1, got 2\n"}
{"Action":"fail","Package":"m/b","Test":"TestParent/child","Elapsed":0}
{"Action":"fail","Package":"m/b","Test":"TestParent","Elapsed":0}
{"Action":"run","Package":"m/b","Test":"TestHangs"}
{"Action":"output","Package":"m/b","Test":"TestHangs","Output":"panic: test timed out after 10m0s\n"}
{"Action":"output","Package":"m/b","Output":"FAIL\tm/b\t0.2s\n"}
{"Action":"fail","Package":"m/b","Elapsed":0.2}
`

func TestPrinter(t *testing.T) {
	var out bytes.Buffer
	p := &printer{out: &out, begin: time.Now(), running: map[string]*pkgState{}, module: "m"}
	for _, l := range strings.Split(strings.TrimSpace(stream), "\n") {
		p.line(l)
	}
	p.summary()
	got := out.String()
	for _, want := range []string{
		"run   a\n",
		"ok    a 2.6s (slowest: TestSlow 2.5s)\n",
		"broken.go:3:1: syntax error\n",
		"FAIL  broken [m/broken.test] (build failed)\n",
		"    b_test.go:9: want 1, got 2\n",
		"    panic: test timed out after 10m0s\n",
		"FAIL  b 0.2s\n",
		"ok    m 0.1s (slowest: TestRoot 0.0s)\n",
		"2 packages ok, 1 failed, 1 without tests; slowest: a 3s, b 0s, m 0s\n",
		"FAIL b\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"noise of a passing test", "run   none", "[no test files]"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("output has %q:\n%s", unwanted, got)
		}
	}
}

func TestExitStatus(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	var out, errOut bytes.Buffer
	if code := run([]string{sh, "-c", "exit 3"}, &out, &errOut); code != 3 {
		t.Errorf("command exiting 3: status %d, want 3", code)
	}
	failing := `echo '{"Action":"fail","Package":"m/b","Elapsed":0.2}'`
	if code := run([]string{sh, "-c", failing}, &out, &errOut); code != 1 {
		t.Errorf("a failed package under a command exiting 0: status %d, want 1", code)
	}
	if code := run([]string{sh, "-c", "true"}, &out, &errOut); code != 0 {
		t.Errorf("command exiting 0 with nothing failed: status %d, want 0", code)
	}
}

func TestHeartbeatNamesWhatStillRuns(t *testing.T) {
	var out bytes.Buffer
	begin := time.Now()
	p := &printer{out: &out, begin: begin, running: map[string]*pkgState{}, module: "m"}
	p.heartbeat(begin.Add(40 * time.Second))
	p.line(`{"Action":"start","Package":"m/slow"}`)
	p.running["slow"].started = begin
	p.heartbeat(begin.Add(95 * time.Second))
	got := out.String()
	for _, want := range []string{"still building (0 packages done so far)\n", "still running: slow (1:35)\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
