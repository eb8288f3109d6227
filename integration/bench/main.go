// Command bench measures obsfs against the limit set by the same emulator
// reached directly, in one run, and prints one table (and JSON to
// $BENCH_OUT when set). It is a program, not a test: numbers are reported,
// never asserted.
//
//	go run ./integration/bench [-size 1GiB] [-files 10000] [-quick] [-modes loopback,link]
//
// Two modes, each a whole run with its own emulator: "loopback" as the
// machine gives it (microseconds per request, CPU-bound), and "link", where
// the emulator adds -latency to every request and paces every connection to
// -bandwidth (default 20 ms and 100 MB/s, a real region's round trip and
// per-connection rate), with smaller sizes (-link-size, -link-files,
// -link-small) since every request costs a round trip for every mounter.
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
	"strings"
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
	Mode       string        // "loopback" or "link" (set per run)
	Latency    time.Duration // link: per request
	Bandwidth  int64         // link: bytes/s per connection and direction
	Modes      string        // comma list of modes to run
	LinkSize   int64         // link mode: big object
	LinkFiles  int           // link mode: -files
	LinkSmall  int           // link mode: small files (create, tar, rsync)
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
	fs.StringVar(&cfg.Modes, "modes", "loopback,link", "modes to run: loopback (as is), link (latency and bandwidth added)")
	fs.DurationVar(&cfg.Latency, "latency", 20*time.Millisecond, "link mode: latency added to every request")
	bw := fs.String("bandwidth", "100MB", "link mode: bytes per second per connection and direction")
	linkSize := fs.String("link-size", "256MiB", "link mode: size of the big object")
	fs.IntVar(&cfg.LinkFiles, "link-files", 1000, "link mode: -files")
	fs.IntVar(&cfg.LinkSmall, "link-small", 200, "link mode: small files created, extracted and rsynced")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	for _, v := range []struct {
		s   string
		dst *int64
	}{{*bw, &cfg.Bandwidth}, {*linkSize, &cfg.LinkSize}} {
		n, err := humanize.ParseBytes(v.s)
		if err != nil {
			return cfg, err
		}
		*v.dst = int64(n)
	}
	for _, m := range strings.Split(cfg.Modes, ",") {
		if m != "loopback" && m != "link" {
			return cfg, fmt.Errorf("-modes: unknown mode %q (loopback, link)", m)
		}
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
	if !set["link-size"] {
		cfg.LinkSize = min(cfg.LinkSize, 32<<20)
	}
	if !set["link-files"] {
		cfg.LinkFiles = min(cfg.LinkFiles, 200)
	}
	if !set["link-small"] {
		cfg.LinkSmall = min(cfg.LinkSmall, 50)
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

// run performs the benchmark in each mode and prints a table per mode.
func run(ctx context.Context, cfg config, out io.Writer) error {
	var all []row
	for _, mode := range strings.Split(cfg.Modes, ",") {
		mc := cfg.forMode(mode)
		rows, err := runMode(ctx, mc, out)
		all = append(all, rows...)
		if err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	lastRows = all
	return writeJSON(os.Getenv("BENCH_OUT"), cfg, all)
}

// forMode is the configuration of one mode's run.
func (c config) forMode(mode string) config {
	c.Mode = mode
	if mode != "link" {
		c.Latency, c.Bandwidth = 0, 0
		return c
	}
	c.Size, c.Files = c.LinkSize, c.LinkFiles
	c.Dirs = min(c.Dirs, max(1, c.Files/10))
	c.StatFiles = min(c.StatFiles, c.Files)
	c.SmallFiles = c.LinkSmall
	return c
}

// runMode performs one mode's benchmark and prints its table.
func runMode(ctx context.Context, cfg config, out io.Writer) ([]row, error) {
	work := cfg.WorkDir
	if work != "" {
		work = filepath.Join(work, cfg.Mode) // each mode its own emulator root and trees
		if err := os.MkdirAll(work, 0o755); err != nil {
			return nil, err
		}
	} else {
		d, err := os.MkdirTemp("", "obsfs-bench-")
		if err != nil {
			return nil, err
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
		return nil, fmt.Errorf("emulator: %w", err)
	}
	defer emu.Close()
	link := "loopback as is"
	if cfg.Mode == "link" {
		link = fmt.Sprintf("link: %v per request, %s/s per connection", cfg.Latency, humanize.Bytes(uint64(cfg.Bandwidth)))
	}
	fmt.Fprintf(out, "obsfs bench [%s]: size %s, files %d in %d dirs, small files %d, emulator %s (%s)\n",
		link, humanize.IBytes(uint64(cfg.Size)), cfg.Files, cfg.Dirs, cfg.SmallFiles, emu.URL, emu.Kind)

	b := &bench{cfg: cfg, emu: emu, work: work, ctx: ctx, out: out}
	b.runAll()
	for i := range b.rows {
		b.rows[i].Mode = cfg.Mode
	}
	b.printTable(out)
	return b.rows, nil
}

// lastRows are the rows of the last run (for the smoke test).
var lastRows []row
