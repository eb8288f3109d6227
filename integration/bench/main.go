// Command bench measures obsfs against the limit set by the same emulator
// reached directly, in one run, and prints one table (and JSON to
// $BENCH_OUT when set). It is a program, not a test: numbers are reported,
// never asserted.
//
//	go run ./integration/bench [-size 1GiB] [-files 10000] [-quick]
//
// The emulator (bin/obs-emulator, or in-process when the binary is missing)
// keeps object bodies on local disk (--root). Objects are created with
// obsclient; the mounts are bin/obsfs and, when installed, s3fs and rclone
// on the same bucket. Every row is independent: a row that fails prints
// "failed: <reason>" and the run goes on.
//
// Each row carries a ratio to the limit measured in the same run: for rates
// value/limit, for durations limit/value, so 1.00 always means "as fast as
// talking to the store directly" and smaller is slower.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
)

// config is what the flags say.
type config struct {
	Size       int64         // big object
	Files      int           // objects of the ls -l directory and of the find tree
	Dirs       int           // directories of the find tree
	StatFiles  int           // stat twice
	SmallFiles int           // 4 KiB create+write+close
	SmallSize  int           // bytes of a small file
	Streams    int           // parallel ranged streams of the direct limit
	PartSize   int64         // direct multipart part size
	RandCount  int           // random reads per row, at most
	RandTime   time.Duration // and at most this long
	BinDir     string        // obsfs and obs-emulator
	Tools      string        // comma list: obsfs,s3fs,rclone-off,rclone-writes
	WorkDir    string        // emulator root, mountpoints, cache dirs
	InProc     bool          // in-process emulator even when the binary exists
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line; -quick shrinks every count.
func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	size := fs.String("size", "1GiB", "size of the big object (sequential and random reads, sequential write)")
	files := fs.Int("files", 10000, "objects in the ls -l directory and in the find tree")
	quick := fs.Bool("quick", false, "small sizes for a smoke run (64MiB, 1000 files)")
	cfg := config{Dirs: 100, StatFiles: 1000, SmallFiles: 1000, SmallSize: 4096, PartSize: 16 << 20}
	fs.IntVar(&cfg.Streams, "streams", 8, "parallel ranged streams of the direct read limit")
	fs.IntVar(&cfg.RandCount, "rand-count", 2000, "random reads per row, at most")
	fs.DurationVar(&cfg.RandTime, "rand-time", 10*time.Second, "time per random-read row, at most")
	fs.StringVar(&cfg.BinDir, "bin", "", "directory with obsfs and obs-emulator (default: <module>/bin)")
	fs.StringVar(&cfg.Tools, "tools", "obsfs,s3fs,rclone-off,rclone-writes", "mounters to measure (those not installed are skipped)")
	fs.StringVar(&cfg.WorkDir, "workdir", "", "scratch directory on local disk (default: a new one under $TMPDIR)")
	fs.BoolVar(&cfg.InProc, "inproc", false, "run the emulator in this process instead of bin/obs-emulator")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	n, err := humanize.ParseBytes(*size)
	if err != nil {
		return cfg, fmt.Errorf("-size: %v", err)
	}
	cfg.Size, cfg.Files = int64(n), *files
	if *quick {
		applyQuick(&cfg, fs)
	}
	if cfg.BinDir == "" {
		cfg.BinDir = defaultBinDir()
	}
	return cfg, validate(cfg)
}

// applyQuick shrinks what the user did not set explicitly.
func applyQuick(cfg *config, fs *flag.FlagSet) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["size"] {
		cfg.Size = 64 << 20
	}
	if !set["files"] {
		cfg.Files = 1000
	}
	if !set["rand-count"] {
		cfg.RandCount = 300
	}
	if !set["rand-time"] {
		cfg.RandTime = 3 * time.Second
	}
	cfg.Dirs = min(cfg.Dirs, max(1, cfg.Files/10))
	cfg.StatFiles = min(cfg.StatFiles, max(1, cfg.Files/5))
	cfg.SmallFiles = min(cfg.SmallFiles, max(1, cfg.Files/5))
}

func validate(cfg config) error {
	switch {
	case cfg.Size < 1<<20:
		return fmt.Errorf("-size %d: at least 1 MiB", cfg.Size)
	case cfg.Files < cfg.Dirs || cfg.Files < 1:
		return fmt.Errorf("-files %d: at least %d", cfg.Files, cfg.Dirs)
	case cfg.Streams < 1:
		return fmt.Errorf("-streams %d: at least 1", cfg.Streams)
	}
	return nil
}

// defaultBinDir is <module root>/bin, found from the working directory.
func defaultBinDir() string {
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "bin")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "bin")
		}
	}
}

// run performs the whole benchmark and prints the table.
func run(ctx context.Context, cfg config, out io.Writer) error {
	work := cfg.WorkDir
	if work == "" {
		d, err := os.MkdirTemp("", "obsfs-bench-")
		if err != nil {
			return err
		}
		defer func() {
			if err := os.RemoveAll(d); err != nil {
				fmt.Fprintln(os.Stderr, "bench: cleanup:", err)
			}
		}()
		work = d
	}
	emu, err := startEmulator(ctx, cfg, filepath.Join(work, "emulator"))
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	defer emu.Close()
	fmt.Fprintf(out, "obsfs bench: size %s, files %d in %d dirs, emulator %s (%s)\n",
		humanize.IBytes(uint64(cfg.Size)), cfg.Files, cfg.Dirs, emu.URL, emu.Kind)

	b := &bench{cfg: cfg, emu: emu, work: work, ctx: ctx, out: out}
	b.runAll()
	b.printTable(out)
	lastRows = b.rows
	return b.writeJSON(os.Getenv("BENCH_OUT"))
}

// lastRows are the rows of the last run (for the smoke test).
var lastRows []row
