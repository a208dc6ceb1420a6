package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Every command and subcommand answers --help and -h with exit 0 and lists
// what it takes on standard output; the top-level help shows the commands.
func TestEveryCommandAnswersHelp(t *testing.T) {
	for _, tc := range []struct {
		args string
		want []string
	}{
		{"--help", []string{"token create", "healthcheck", "admin reset", "--rtc-udp-port, RTC_UDP_PORT"}},
		{"help", []string{"token create", "--port, PORT"}},
		{"help --help", []string{"token create", "--port, PORT"}},
		{"serve --help", []string{"-port", "PORT", "Other commands"}},
		{"token --help", []string{"create", "verify <jwt>"}},
		{"token create --help", []string{"-room", "-grant", "replaces the whole default", "LiveKit's defaults apply"}},
		{"token verify --help", []string{"token verify <jwt>"}},
		{"healthcheck --help", []string{"/health", "LIVEKIT_MOCK_URL"}},
		{"admin --help", []string{"reset", "events", "faults add"}},
		{"admin reset --help", []string{"-what"}},
		{"admin events --help", []string{"-follow", "-room"}},
		{"admin faults --help", []string{"list", "delete <id>", "clear"}},
		{"admin faults add --help", []string{"-target", "-action", "-latency-ms"}},
		{"admin faults list --help", []string{"list", "delete <id>", "clear"}},
		{"admin faults clear --help", []string{"list", "delete <id>", "clear"}},
		{"admin faults delete --help", []string{"delete <id>"}},
		{"version --help", []string{"usage: livekit-mock version"}},
	} {
		for _, flag := range []string{"--help", "-h"} {
			args := strings.Fields(strings.Replace(tc.args, "--help", flag, 1))
			var out, errb bytes.Buffer
			// No server runs: help must not need one.
			env := envOf(map[string]string{"LIVEKIT_MOCK_URL": "http://127.0.0.1:1"})
			code := run(context.Background(), args, env, &out, &errb)
			if code != 0 {
				t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("%v: stdout lacks %q:\n%s", args, w, out.String())
				}
			}
		}
	}
}

// A command without its arguments still fails with its usage (exit 2).
func TestCommandsWithoutArgumentsShowUsage(t *testing.T) {
	for _, args := range [][]string{{"token"}, {"admin"}, {"admin", "faults"}, {"token", "create", "--bogus"}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, envOf(nil), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), "usage") && !strings.Contains(errb.String(), "flag provided but not defined") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
