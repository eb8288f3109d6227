package main

// Going to the background without fork (a forked Go process keeps only one
// thread): the parent re-executes /proc/self/exe with the same arguments —
// which hold no secrets, those come from files and the environment — plus
// OBSFS_DAEMON_FD=3 in the environment and the write end of a pipe as fd 3.
// The child starts in a new session (setsid), with stdio on /dev/null
// (stderr on the log file when there is one, so a panic is kept), goes to
// "/", runs every check, mounts, and writes one line to the pipe:
//
//	ok
//	CODE MESSAGE          e.g. "7 bucket \"x\" does not exist at https://…"
//
// The parent exits 0 only after "ok", i.e. once the mount is live; else it
// prints "obsfs: MESSAGE" and exits CODE. If the child dies without a word,
// or says nothing within daemonWait, the parent says so and exits 1.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemonEnv marks the re-executed child and names its report fd.
const daemonEnv = "OBSFS_DAEMON_FD"

// daemonWait bounds how long the parent waits for the child's report.
func daemonWait(c *Config) time.Duration { return headTimeout(c) + time.Minute }

// startDaemon is the parent: start the child and relay its verdict.
func startDaemon(c *Config, args []string, stderr io.Writer) int {
	r, w, err := os.Pipe()
	if err != nil {
		return reportError(stderr, err)
	}
	defer r.Close()
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        append([]string{os.Args[0]}, args...),
		Env:         append(os.Environ(), daemonEnv+"=3"),
		ExtraFiles:  []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if c.LogFile != "" {
		if f, err := os.OpenFile(c.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
			defer f.Close()
			cmd.Stderr = f
		}
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return reportError(stderr, fmt.Errorf("cannot start the background process: %w", err))
	}
	return relayVerdict(cmd, r, daemonWait(c), stderr)
}

// relayVerdict reads the child's line and turns it into the exit code.
func relayVerdict(cmd *exec.Cmd, r io.Reader, wait time.Duration, stderr io.Writer) int {
	line, err := readLineTimeout(r, wait)
	if line == "ok" {
		return exitOK
	}
	if code, msg, ok := parseVerdict(line); ok {
		waitChild(cmd, 5*time.Second)
		fmt.Fprintf(stderr, "obsfs: %s\n", msg)
		return code
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		_ = cmd.Process.Kill()
		fmt.Fprintf(stderr, "obsfs: the background process did not report within %v; see its log\n", wait)
		return exitFailure
	}
	state := waitChild(cmd, 5*time.Second)
	fmt.Fprintf(stderr, "obsfs: the background process exited before mounting (%s); see syslog or the logfile\n", state)
	return exitFailure
}

// readLineTimeout reads one line, giving up after wait.
func readLineTimeout(r io.Reader, wait time.Duration) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		ch <- result{strings.TrimSuffix(line, "\n"), err}
	}()
	select {
	case res := <-ch:
		return res.line, res.err
	case <-time.After(wait):
		return "", os.ErrDeadlineExceeded
	}
}

// parseVerdict splits "CODE MESSAGE".
func parseVerdict(line string) (code int, msg string, ok bool) {
	c, msg, found := strings.Cut(line, " ")
	code, err := strconv.Atoi(c)
	if !found || err != nil || code <= 0 || code > 125 {
		return 0, "", false
	}
	return code, msg, true
}

// waitChild reaps the child if it exits within d and describes its end.
func waitChild(cmd *exec.Cmd, d time.Duration) string {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			return "exit status 0"
		}
		return err.Error()
	case <-time.After(d):
		return "still running"
	}
}

// runDaemonChild is the child: detach, then serve and report on the pipe.
func runDaemonChild(c *Config, fdEnv string, getenv func(string) string, stderr io.Writer) int {
	_ = os.Unsetenv(daemonEnv)
	fd, err := strconv.Atoi(fdEnv)
	var st syscall.Stat_t
	if err != nil || fd < 3 || syscall.Fstat(fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		fmt.Fprintf(stderr, "obsfs: %s=%s is not a pipe from a parent obsfs; unset it\n", daemonEnv, fdEnv)
		return exitUsage
	}
	syscall.CloseOnExec(fd) // fusermount3 and other children must not hold it
	pipe := os.NewFile(uintptr(fd), "obsfs-ready")
	report := func(err error) {
		writeVerdict(pipe, err)
		_ = pipe.Close()
	}
	_, _ = syscall.Setsid() // already a session leader when started by startDaemon
	_ = os.Chdir("/")
	log, closeLog, err := newLogger(c, true, io.Discard)
	if err != nil {
		report(err)
		return exitCode(err)
	}
	defer closeLog()
	return serve(c, getenv, log, report)
}

// writeVerdict writes "ok" or "CODE MESSAGE" as one line.
func writeVerdict(w io.Writer, err error) {
	if err == nil {
		fmt.Fprintln(w, "ok")
		return
	}
	fmt.Fprintf(w, "%d %s\n", exitCode(err), oneLine(err.Error()))
}

// oneLine folds a multi-line message (fusermount3 output, …) into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")), " ")
}
