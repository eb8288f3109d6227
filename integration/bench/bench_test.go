package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsQuick(t *testing.T) {
	cfg, err := parseFlags([]string{"-quick", "-files", "500"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Size != 64<<20 || cfg.Files != 500 || cfg.StatFiles != 100 || cfg.Dirs != 50 {
		t.Errorf("-quick -files 500: %+v", cfg)
	}
	if _, err := parseFlags([]string{"-size", "lots"}); err == nil {
		t.Error("-size lots accepted")
	}
}

// TestSmoke runs the whole program with tiny sizes against obsfs only.
// It needs the built binaries and /dev/fuse, so it runs only when asked:
// OBSFS_BENCH_SMOKE=1 go test ./integration/bench
func TestSmoke(t *testing.T) {
	if os.Getenv("OBSFS_BENCH_SMOKE") == "" {
		t.Skip("set OBSFS_BENCH_SMOKE=1 to run the benchmark program on tiny sizes (needs bin/ and /dev/fuse)")
	}
	cfg, err := parseFlags([]string{"-quick", "-size", "8MiB", "-files", "100", "-rand-count", "30", "-rand-time", "2s",
		"-tools", "obsfs", "-workdir", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	if len(lastRows) < 20 {
		t.Errorf("only %d rows", len(lastRows))
	}
	for _, r := range lastRows {
		if r.Err != "" {
			t.Errorf("row %q (%s) failed: %s", r.Name, r.Tool, r.Err)
		}
	}
}
