// Command obsfs mounts a Huawei OBS bucket (or a prefix of one) as a local
// directory through FUSE, configured like s3fs:
//
//	obsfs BUCKET[:/PREFIX] MOUNTPOINT -o url=https://obs.cn-north-4.myhuaweicloud.com,passwd_file=/etc/passwd-obsfs
//	mount -t fuse.obsfs BUCKET MOUNTPOINT -o url=…
//	BUCKET MOUNTPOINT fuse.obsfs _netdev,url=…,passwd_file=… 0 0    (/etc/fstab)
//
// The files of this command, one concept each:
//
//	options.go      the options table: name, kind, default, help, setter
//	values.go       value syntax (sizes, durations, booleans, URLs)
//	parse.go        argv → Config (pflag flags, -o lists, generic mount options)
//	help.go         --help and the README option table, both from the table
//	credentials.go  passwd files, environment, SSE-C key files
//	checks.go       startup checks: mount point, fuse.conf, HEAD bucket
//	serve.go        the life of a mount: check, mount, report, signals, flush
//	daemon.go       going to the background by re-exec (no fork)
//	logging.go      zap to stderr, a log file or syslog
//	mount.go        the one call into package fs
//
// Every startup failure is one line on stderr, "obsfs: …", and an exit code
// from the list below.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// version and commit are set at build time (Makefile):
// -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "unknown"
)

// Exit codes. Every failure before the mount is live prints one line.
const (
	exitOK          = 0
	exitFailure     = 1 // anything else: internal error, unexpected server answer, flush failed at exit
	exitUsage       = 2 // bad command line or -o option
	exitCredentials = 3 // credentials or SSE-C key missing, unreadable, malformed or too open
	exitMountpoint  = 4 // mount point missing, not a directory, not empty, stale
	exitEndpoint    = 5 // endpoint unreachable (DNS, connect, TLS, timeout)
	exitAccess      = 6 // access denied (403): wrong credentials or no permission on the bucket
	exitNoBucket    = 7 // bucket does not exist (404)
	exitMount       = 8 // the FUSE mount itself failed (/dev/fuse, fusermount3, allow_other)
	exitBusy        = 9 // the cache directory is locked by another mount (cachedir.go)
)

// exitError is an error that carries its exit code; its message is printed
// after "obsfs: ". err keeps the chain of the cause (failf's %w).
type exitError struct {
	code int
	msg  string
	err  error
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) Unwrap() error { return e.err }

// exitCode returns the code carried by err, exitFailure if none.
func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return exitFailure
}

// failf builds an exitError; a %w verb in format keeps the cause's chain.
func failf(code int, format string, a ...any) error {
	err := fmt.Errorf(format, a...)
	return &exitError{code: code, msg: err.Error(), err: errors.Unwrap(err)}
}

func main() {
	args, getenv := os.Args[1:], os.Getenv
	if os.Getenv(daemonEnv) != "" {
		// The daemon: its argv is redacted; the real one comes from the
		// parent (daemon.go).
		var err error
		if args, getenv, err = readHandoff(os.Getenv); err != nil {
			fmt.Fprintf(os.Stderr, "obsfs: %v\n", err)
			os.Exit(exitUsage)
		}
	}
	os.Exit(run(args, getenv, os.Stdout, os.Stderr))
}

// run is the whole command; it returns the exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	act, cfg, err := parseCommandLine(args, getenv)
	if err != nil {
		return reportError(stderr, err)
	}
	switch act {
	case actHelp:
		writeHelp(stdout)
		return exitOK
	case actHelpMarkdown:
		writeMarkdown(stdout)
		return exitOK
	case actHelpMan:
		writeMan(stdout)
		return exitOK
	case actVersion:
		fmt.Fprintf(stdout, "obsfs %s (commit %s, %s %s/%s)\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	}
	if fd := getenv(daemonEnv); fd != "" {
		return runDaemonChild(cfg, fd, getenv, stderr)
	}
	if !cfg.Foreground {
		return startDaemon(cfg, args, stderr)
	}
	return runForeground(cfg, getenv, stderr)
}

// reportError prints err as the one line "obsfs: …" and returns its code.
func reportError(w io.Writer, err error) int {
	fmt.Fprintf(w, "obsfs: %s\n", oneLine(err.Error()))
	return exitCode(err)
}
