// Command obsfs-csi is obsfs's Kubernetes CSI driver (package csi): the
// Identity, Controller and Node services on a unix socket. Node plugins
// mount volumes by running the obsfs command line, so obsfs must be on the
// node image too (see deploy/).
//
//	obsfs-csi --endpoint unix:///csi/csi.sock --node-id $(NODE_NAME) [--url https://obs.…] [--options use_path_request_style]
//
// Credentials never come from flags or files: each request's secret
// carries them. On SIGTERM or SIGINT the driver stops serving; published
// volumes stay mounted (their obsfs daemons run in sessions of their own)
// and a restarted driver adopts them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/obsfs/obsfs/csi"
)

var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := pflag.NewFlagSet("obsfs-csi", pflag.ContinueOnError)
	fl.SetOutput(stderr)
	endpoint := fl.String("endpoint", "unix:///csi/csi.sock", "CSI endpoint (unix socket)")
	var cfg csi.Config
	fl.StringVar(&cfg.Name, "driver-name", csi.DefaultName, "CSI driver name (CSIDriver object, StorageClass provisioner)")
	fl.StringVar(&cfg.NodeID, "node-id", os.Getenv("NODE_NAME"), "this node's id (default $NODE_NAME); empty for a controller-only instance")
	fl.StringVar(&cfg.Obsfs, "obsfs", "obsfs", "path of the obsfs binary that mounts volumes")
	fl.StringVar(&cfg.URL, "url", "", "default OBS endpoint, when neither the secret nor the volume names one")
	fl.StringVar(&cfg.Options, "options", "", "obsfs -o options added to every mount (e.g. use_path_request_style,signature=v4)")
	fl.StringVar(&cfg.Region, "region", "", "region of the buckets provision=bucket creates")
	fl.DurationVar(&cfg.Timeout, "mount-timeout", 2*time.Minute, "time one mount may take to go live")
	podsDir := fl.String("pods-dir", "/var/lib/kubelet/pods", "at start, detach dead obsfs mounts under this directory (\"\" = skip)")
	levelName := fl.String("log-level", "info", "log level: debug, info, warn, error")
	showVersion := fl.Bool("version", false, "print the version")
	if err := fl.Parse(args); err != nil {
		fmt.Fprintln(stderr, "obsfs-csi:", err)
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "obsfs-csi", version)
		return 0
	}
	level, err := zapcore.ParseLevel(*levelName)
	if err != nil {
		fmt.Fprintln(stderr, "obsfs-csi: --log-level:", err)
		return 2
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.OutputPaths, zc.ErrorOutputPaths = []string{"stderr"}, []string{"stderr"}
	log, err := zc.Build()
	if err != nil {
		fmt.Fprintln(stderr, "obsfs-csi:", err)
		return 1
	}
	defer func() { _ = log.Sync() }()
	cfg.Version, cfg.Logger = version, log
	d, err := csi.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "obsfs-csi:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := d.Serve(ctx, *endpoint, *podsDir); err != nil {
		fmt.Fprintln(stderr, "obsfs-csi:", err)
		return 1
	}
	return 0
}
