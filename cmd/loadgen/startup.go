package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runStartup times exec → first 200 from /health over n fresh starts.
func runStartup(args []string) error {
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	bin := fs.String("bin", "bin/livekit-mock", "server binary")
	n := fs.Int("n", 10, "starts to time")
	env := fs.String("env", "", "extra environment, comma-separated K=V pairs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *n > 1000 {
		return fmt.Errorf("-n must be 1..1000")
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var times []time.Duration
	for i := 0; i < *n; i++ {
		d, err := startOnce(*bin, *env, client)
		if err != nil {
			return fmt.Errorf("start %d: %w", i+1, err)
		}
		times = append(times, d)
	}
	sortDurations(times)
	fmt.Printf("startup: %d starts, exec to first /health 200: min %s ms, median %s ms, max %s ms\n",
		*n, ms(times[0]), ms(percentile(times, 0.5)), ms(times[len(times)-1]))
	fmt.Printf("RESULT mode=startup n=%d min_ms=%s median_ms=%s max_ms=%s\n",
		*n, ms(times[0]), ms(percentile(times, 0.5)), ms(times[len(times)-1]))
	return nil
}

func startOnce(bin, env string, client *http.Client) (time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "BIND=127.0.0.1")
	for _, kv := range strings.Split(env, ",") {
		if kv = strings.TrimSpace(kv); kv != "" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	health := "http://127.0.0.1:" + strconv.Itoa(port) + "/health"
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var waitErr error
	exited := make(chan struct{}) // closed once the process is reaped
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		select {
		case <-exited:
			return 0, fmt.Errorf("server exited before answering /health: %v", waitErr)
		case <-ctx.Done():
			return 0, fmt.Errorf("no /health 200 within 5 s")
		case <-time.After(200 * time.Microsecond):
		}
	}
}

// freePort asks the kernel for a free loopback port (released before use; a
// rare collision only fails that start).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
