package main

// The emulator the benchmark talks to: bin/obs-emulator as a separate
// process (so its CPU is not charged to the client side of the direct
// limit), or in-process when the binary is missing. Request counts come
// from GET /-/stats either way.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/obsfs/obsfs/obsclient/obstest"
)

const (
	benchBucket    = "bench-bucket"
	benchAccessKey = "BENCHACCESSKEY000001"
	benchSecretKey = "benchSecretKey0123456789abcdefghijklmno"
	benchRegion    = "cn-north-4"
)

// emulator is a running emulator.
type emulator struct {
	URL   string
	Kind  string // "bin/obs-emulator" or "in-process"
	close func()
}

func (e *emulator) Close() { e.close() }

// startEmulator starts the binary from cfg.BinDir, or the in-process server.
func startEmulator(ctx context.Context, cfg config, root string) (*emulator, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	bin := filepath.Join(cfg.BinDir, "obs-emulator")
	if _, err := os.Stat(bin); err != nil || cfg.InProc {
		s := obstest.New(obstest.Options{AccessKey: benchAccessKey, SecretKey: benchSecretKey,
			Buckets: []string{benchBucket}, Root: root, Region: benchRegion,
			Link: obstest.Link{Latency: cfg.Latency, Bandwidth: cfg.Bandwidth}})
		return &emulator{URL: s.URL, Kind: "in-process", close: s.Close}, nil
	}
	return startEmulatorBinary(ctx, bin, root, "--latency", cfg.Latency.String(), "--bandwidth", strconv.FormatInt(cfg.Bandwidth, 10))
}

// startEmulatorBinary runs obs-emulator and reads its "listening on" line.
func startEmulatorBinary(ctx context.Context, bin, root string, extra ...string) (*emulator, error) {
	args := append([]string{"--listen", "127.0.0.1:0", "--access-key", benchAccessKey,
		"--secret-key", benchSecretKey, "--bucket", benchBucket, "--root", root, "--region", benchRegion}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // no orphan if the bench dies
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "obs-emulator listening on "); ok {
				urlc <- strings.TrimSpace(u)
			}
		}
		close(urlc)
	}()
	select {
	case u, ok := <-urlc:
		if !ok {
			stop()
			return nil, fmt.Errorf("%s exited: %s", bin, strings.TrimSpace(stderr.String()))
		}
		return &emulator{URL: u, Kind: bin, close: stop}, nil
	case <-time.After(15 * time.Second):
	case <-ctx.Done():
	}
	stop()
	return nil, errors.New("obs-emulator did not announce its address in 15s")
}

// opStats mirrors obstest.OpStats on the wire.
type opStats = obstest.OpStats

// stats is a snapshot of GET /-/stats.
type stats map[string]opStats

// Stats fetches the counters.
func (e *emulator) Stats() (stats, error) {
	resp, err := http.Get(e.URL + "/-/stats")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET /-/stats: %s %s", resp.Status, b)
	}
	var s stats
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// sub returns a-b per operation.
func (a stats) sub(b stats) stats {
	out := stats{}
	for op, x := range a {
		y := b[op]
		if n := x.Requests - y.Requests; n != 0 {
			out[op] = opStats{Requests: n, Errors: x.Errors - y.Errors, BytesIn: x.BytesIn - y.BytesIn, BytesOut: x.BytesOut - y.BytesOut}
		}
	}
	return out
}
