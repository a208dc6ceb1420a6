package main

import (
	"context"
	"io"
	"strings"

	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/livekitmock"
)

// serve reads flags and environment into the library's Config, starts the
// server (livekitmock builds everything) and runs until ctx ends. ready, when
// not nil, receives the listen address once the server accepts.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	usageOut := stderr
	if helpFlag(args) {
		usageOut = stdout
	}
	settings, err := config.Parse(args, getenv, usageOut)
	if err == config.ErrHelp {
		return nil
	}
	if err == nil {
		_, err = config.FromSettings(settings) // bad values: exit 2, naming the variable
	}
	if err != nil {
		return exitError{code: 2, msg: "livekit-mock: " + err.Error()}
	}
	s, err := livekitmock.Start(ctx, livekitmock.Config{Settings: settings, Log: stderr})
	if err != nil {
		// Redis out of reach, a port taken, an instance id in use: the
		// configuration cannot run here (exit 2, as a bad value).
		return exitError{code: 2, msg: "livekit-mock: " + strings.TrimPrefix(err.Error(), "livekitmock: ")}
	}
	if ready != nil {
		ready <- strings.TrimPrefix(s.URL(), "http://")
	}
	<-s.Done()
	return s.Close()
}
