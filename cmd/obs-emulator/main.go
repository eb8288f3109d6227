// Command obs-emulator serves the obstest OBS emulator on a TCP address, for
// tests and benchmarks that run obsfs (or s3fs, rclone, …) as a subprocess.
//
//	obs-emulator --listen 127.0.0.1:0 --access-key AK --secret-key SK --bucket b1 [--bucket b2] [--root DIR [--persist]]
//	             [--region R] [--security-token T] [--fs-bucket NAME] [--domain obs.example.test]
//	             [--versioned] [--restore-delay 10s] [--owner-id ID] [--any-region] [-v]
//	             [--latency 20ms] [--bandwidth 100MB]
//
// Once ready it prints exactly one line to stdout,
// "obs-emulator listening on http://127.0.0.1:PORT", and serves until SIGINT
// or SIGTERM. Stats are at GET /-/stats, fault injection at /-/faults, the
// simulated link (latency, bandwidth; obstest/link.go) at /-/link.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"github.com/obsfs/obsfs/obsclient/obstest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "obs-emulator:", err)
		os.Exit(1)
	}
}

// run parses flags, starts the server and blocks until a signal.
func run(args []string) error {
	fs := pflag.NewFlagSet("obs-emulator", pflag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on (port 0 picks a free port)")
	var opts obstest.Options
	fs.StringVar(&opts.AccessKey, "access-key", "", "access key id accepted in signatures")
	fs.StringVar(&opts.SecretKey, "secret-key", "", "secret key")
	fs.StringVar(&opts.SecurityToken, "security-token", "", "security token signed requests must carry (temporary credentials)")
	fs.StringArrayVar(&opts.Buckets, "bucket", nil, "bucket to serve (repeatable)")
	fs.StringArrayVar(&opts.FSBuckets, "fs-bucket", nil, "parallel-file-system bucket to serve (repeatable)")
	fs.StringVar(&opts.Root, "root", "", "directory for object bodies (default: memory)")
	fs.BoolVar(&opts.Persist, "persist", false, "keep the whole bucket state under --root, so a restart (even after SIGKILL) on the same root serves the same buckets; costs a state write per changing request")
	fs.StringVar(&opts.Region, "region", "cn-north-4", "region reported by the buckets")
	fs.StringArrayVar(&opts.Domains, "domain", nil, "endpoint host name; <bucket>.<domain> is virtual-hosted (repeatable)")
	fs.StringVar(&opts.OwnerID, "owner-id", "", "owner (domain) id shown in ACLs and listings")
	fs.BoolVar(&opts.AnyRegion, "any-region", false, "accept V4 signatures scoped to any region (default: --region only)")
	fs.BoolVar(&opts.Versioned, "versioned", false, "enable versioning on every bucket at start")
	fs.DurationVar(&opts.RestoreDelay, "restore-delay", 0, "time a restore of a COLD object takes")
	fs.DurationVar(&opts.Link.Latency, "latency", 0, "simulated network: added before every request is served (e.g. 20ms)")
	bandwidth := fs.String("bandwidth", "0", "simulated network: bytes per second per connection and direction (e.g. 100MB; 0 = unlimited)")
	verbose := fs.BoolP("verbose", "v", false, "log every request to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	bw, err := humanize.ParseBytes(*bandwidth)
	if err != nil {
		return fmt.Errorf("--bandwidth: %v", err)
	}
	opts.Link.Bandwidth = int64(bw)
	if opts.Persist && opts.Root == "" {
		return errors.New("--persist needs --root")
	}
	if len(opts.Buckets)+len(opts.FSBuckets) == 0 {
		return errors.New("at least one --bucket or --fs-bucket is required")
	}
	if *verbose {
		logger := log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds)
		opts.Logf = logger.Printf
	}
	return serve(*listen, opts)
}

// serve listens, announces the URL and shuts down cleanly on a signal.
func serve(addr string, opts obstest.Options) error {
	// Catch signals before announcing readiness, so a parent that signals
	// right after reading the line always gets a clean shutdown.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := obstest.NewUnstarted(opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ln = srv.WrapListener(ln)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Printf("obs-emulator listening on http://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(shutCtx)
}
