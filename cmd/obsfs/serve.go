package main

// The life of a mount, the same in the foreground and in the daemon:
//
//  1. checks, in the order a user fixes them: credentials (and SSE-C key),
//     mount point, fuse.conf, the use_cache directory, then HEAD bucket
//     with the real client; a signal meanwhile aborts the start;
//  2. mount (mount.go), and report readiness — in the daemon this is what
//     lets the parent exit 0;
//  3. serve until SIGTERM/SIGINT or an external unmount (fusermount3 -u);
//  4. flush dirty files within flushTimeout (a second signal gives up),
//     unmount if still mounted (lazily if busy), flush what came in
//     meanwhile, exit 0, or 1 if a flush failed.

import (
	"context"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Bounds of the shutdown.
var (
	flushTimeout   = 60 * time.Second // FS.Flush at exit
	unmountTimeout = 10 * time.Second // for the server loops after unmount
)

// mounted is a live mount, as mount.go returns it.
type mounted interface {
	Wait()                           // until the kernel connection ends
	Unmount() error                  // fusermount3 -u / umount
	Flush(ctx context.Context) error // upload everything dirty
}

// runForeground mounts and serves with logs on stderr (or the log file).
func runForeground(c *Config, getenv func(string) string, stderr io.Writer) int {
	log, closeLog, _, err := newLogger(c, false, stderr)
	if err != nil {
		return reportError(stderr, err)
	}
	defer closeLog()
	return serve(c, getenv, log, func(err error) {
		if err != nil {
			reportError(stderr, err)
		}
	}, func(string) {}) // warnings are logged, and the log is stderr or the logfile
}

// serve runs steps 1–4; ready is called once, with nil when the mount is
// live or with the error that stopped it. note shows a startup warning to
// the user who ran the mount (the daemon's parent prints it); every
// warning is logged too.
func serve(c *Config, getenv func(string) string, log *zap.Logger, ready func(error), note func(string)) int {
	defer func() { _ = log.Sync() }()
	// Catch signals before the mount is reported live: a SIGTERM right
	// after must unmount, not kill the process under a live mount.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	defer signal.Stop(sigs)
	applyMemoryLimit(c, getenv, log)
	for _, w := range startupWarnings(c) {
		log.Warn(w)
		note("warning: " + w)
	}
	logNoops(c, log)
	m, credSource, err := startInterruptibly(c, getenv, sigs, log)
	ready(err)
	if err != nil {
		if !c.Foreground || c.LogFile != "" { // else the log is stderr, which has the line already
			log.Error("mount failed", zap.String("mountpoint", c.Mountpoint), zap.Error(err))
		}
		return exitCode(err)
	}
	log.Info("mounted", configFields(c, credSource)...)
	defer releaseCacheDir()
	code := serveUntilExit(m, c.Mountpoint, sigs, log)
	delCache(c, log) // del_cache: also after the mount ends
	return code
}

// startupWarnings are the options that weaken security, said at mount time.
func startupWarnings(c *Config) []string {
	var w []string
	if !c.SSLVerify {
		w = append(w, "ssl_verify=false: the endpoint's TLS certificate is not verified; anyone on the network path can read and change the data (trust a private CA with -o cafile=FILE instead)")
	} else if c.SkipHostnameVerify {
		w = append(w, "ssl_verify_hostname=0: the endpoint's certificate is not checked against its host name")
	}
	return w
}

// logNoops says, for each s3fs option accepted as a no-op, why.
func logNoops(c *Config, log *zap.Logger) {
	for _, name := range c.noops {
		if o := lookupOption(name); o != nil {
			log.Info("option "+name+" accepted as a no-op: "+plain(o.noop), zap.String("option", name))
		}
	}
	if c.DelCache && c.CacheDir == "" {
		log.Info("option del_cache: no use_cache directory, so no disk cache to delete")
	}
}

// delCache empties the disk block cache for del_cache.
func delCache(c *Config, log *zap.Logger) {
	if !c.DelCache || c.CacheDir == "" {
		return
	}
	dir := filepath.Join(c.CacheDir, "blocks")
	if err := os.RemoveAll(dir); err != nil {
		log.Warn("del_cache: cannot delete the disk cache", zap.String("dir", dir), zap.Error(err))
		return
	}
	log.Info("del_cache: deleted the disk cache", zap.String("dir", dir))
}

// startInterruptibly runs startMount; a signal meanwhile cancels the HEAD
// in flight, undoes a mount that completed anyway, and fails the start.
func startInterruptibly(c *Config, getenv func(string) string, sigs <-chan os.Signal, log *zap.Logger) (mounted, string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var early os.Signal
	stop, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case early = <-sigs:
			cancel()
		case <-stop:
		}
	}()
	m, credSource, err := startMount(ctx, c, getenv, log)
	close(stop)
	<-watched
	if early == nil {
		return m, credSource, err
	}
	if err == nil {
		_ = m.Unmount()
	}
	return nil, "", failf(exitFailure, "interrupted (%v) before the mount was up", early)
}

// startMount runs the checks and mounts.
func startMount(ctx context.Context, c *Config, getenv func(string) string, log *zap.Logger) (m mounted, credSource string, err error) {
	creds, credSource, err := loadCredentials(c, getenv)
	if err != nil {
		return nil, "", err
	}
	sse, err := loadSSE(c.SSE)
	if err != nil {
		return nil, "", err
	}
	cleanStaleMount(c.Mountpoint, log)
	if err := checkMountpoint(c); err != nil {
		return nil, "", err
	}
	if err := checkAllowOther(c, os.Geteuid()); err != nil {
		return nil, "", err
	}
	if err := checkMountFlags(c, os.Geteuid()); err != nil {
		return nil, "", err
	}
	if err := prepareCacheDir(c); err != nil {
		return nil, "", err
	}
	if err := lockCacheDir(c); err != nil {
		return nil, "", err
	}
	defer func() {
		if err != nil {
			releaseCacheDir()
		}
	}()
	delCache(c, log)
	bucket, info, err := openBucket(ctx, c, creds, credSource, log)
	if err != nil {
		return nil, "", err
	}
	log.Debug("bucket", zap.String("location", info.Location), zap.Bool("parallel_fs", info.FileSystem))
	m, err = mountFS(c, bucket, sse, log)
	return m, credSource, err
}

// serveUntilExit waits for a signal or an external unmount, then flushes
// and unmounts. It returns the exit code.
func serveUntilExit(m mounted, mountpoint string, sigs <-chan os.Signal, log *zap.Logger) int {
	gone := make(chan struct{})
	go func() { m.Wait(); close(gone) }()
	select {
	case <-gone:
		log.Info("unmounted from outside; flushing")
		return flushAtExit(m, sigs, log)
	case s := <-sigs:
		log.Info("signal: flushing, then unmounting", zap.Stringer("signal", s))
		code := flushAtExit(m, sigs, log)
		unmountAtExit(m, mountpoint, gone, log)
		if code == exitOK { // writes that came in during the first flush
			code = flushAtExit(m, sigs, log)
		}
		return code
	}
}

// flushAtExit uploads what is dirty, within flushTimeout; a further signal
// abandons it.
func flushAtExit(m mounted, sigs <-chan os.Signal, log *zap.Logger) int {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	go func() {
		select {
		case s := <-sigs:
			log.Warn("second signal: abandoning the flush", zap.Stringer("signal", s))
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := m.Flush(ctx); err != nil {
		log.Error("flush at exit failed: the files not uploaded stay in the write journal; the next mount with the same cache directory commits them", zap.Error(err))
		return exitFailure
	}
	log.Info("flushed")
	return exitOK
}

// unmountAtExit unmounts, lazily if the mount is busy, and waits a bounded
// time for the server to stop.
func unmountAtExit(m mounted, mountpoint string, gone <-chan struct{}, log *zap.Logger) {
	if err := m.Unmount(); err != nil {
		log.Warn("unmount failed; detaching lazily", zap.Error(err))
		if err := lazyUnmount(mountpoint); err != nil {
			log.Error("lazy unmount failed", zap.Error(err))
		}
	}
	select {
	case <-gone:
		log.Info("unmounted")
	case <-time.After(unmountTimeout):
		log.Warn("server still busy after unmount; exiting anyway")
	}
}

// lazyUnmount detaches a busy mount (umount -l).
func lazyUnmount(mountpoint string) error {
	if os.Geteuid() == 0 {
		return syscall.Unmount(mountpoint, syscall.MNT_DETACH)
	}
	return exec.Command("fusermount3", "-u", "-z", mountpoint).Run()
}
