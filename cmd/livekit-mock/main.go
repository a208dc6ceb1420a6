// Command livekit-mock is a stand-in for a LiveKit server: tokens, the /rtc
// WebSocket in LiveKit's protocol and in a JSON dialect, and test control.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/livekitmock"
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
	} else if wantsHelp(args) { // the commands first, then the server's settings
		cmd = "help"
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
		if wantsHelp(args) {
			fmt.Fprintln(stdout, "usage: livekit-mock version\n\nPrints the version of LiveKit's protocol the server follows.")
			break
		}
		fmt.Fprintln(stdout, livekitmock.Version)
	case "help":
		fmt.Fprint(stdout, usage)
		fmt.Fprintln(stdout, "\nServer settings (serve), each a flag or an environment variable:")
		config.PrintSettings(stdout)
	}
	var ee exitError
	switch {
	case err == nil, errors.Is(err, helpShown{}):
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

Every command answers --help (or -h).
`

// wantsHelp reports whether a command's arguments ask for its usage.
func wantsHelp(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help")
}

// helpFlag reports whether args hold -h or --help before any "--".
func helpFlag(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

// parseFlags parses a subcommand's flags: --help prints them to stdout and
// ends the command with exit 0 (helpShown), a bad flag exits 2.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if helpFlag(args) {
		fs.SetOutput(stdout)
	}
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return helpShown{}
	case err != nil:
		return exitError{code: 2}
	}
	return nil
}

// helpShown ends a command whose usage was asked for and printed: exit 0.
type helpShown struct{}

func (helpShown) Error() string { return "usage printed" }
