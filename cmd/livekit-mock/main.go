// Command livekit-mock is a stand-in for a LiveKit server: tokens, the /rtc
// WebSocket in LiveKit's protocol and in a JSON dialect, and test control.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second one forces the exit.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is the whole program with the world passed in, so tests can start the
// real server on port 0. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "token" || args[0] == "healthcheck" || args[0] == "admin" || args[0] == "version" || args[0] == "help") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, getenv, stdout, stderr, nil)
	case "token":
		err = tokenCommand(args, getenv, stdout, stderr)
	case "healthcheck":
		err = healthcheck(ctx, args, getenv, stdout)
	case "admin":
		err = adminCommand(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version)
	case "help":
		fmt.Fprint(stdout, usage)
	}
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	default:
		fmt.Fprintln(stderr, "livekit-mock:", err)
		return 1
	}
}

// exitError carries an exit code other than 1, or a message already shaped.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

const usage = `livekit-mock: a stand-in for a LiveKit server.

Usage:
  livekit-mock [serve] [flags]          run the server (see 'livekit-mock serve --help')
  livekit-mock token create [flags]     print a token, like 'lk token create'
  livekit-mock token verify <jwt>       print a token's claims, or why it is invalid
  livekit-mock healthcheck              exit 0 when the server on $PORT answers /health
  livekit-mock admin reset|events|faults   test control of a running server (see 'livekit-mock admin help')
  livekit-mock version                  print the version
`
