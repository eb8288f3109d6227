package main

// Going to the background without fork (a forked Go process keeps only one
// thread): the parent re-executes its own binary (os.Executable, so the
// daemon's name in ps and pgrep is "obsfs", not "exe") with OBSFS_DAEMON_FD=3
// and OBSFS_DAEMON_ARGS_FD=4 in the environment, the write end of the
// readiness pipe as fd 3 and the read end of a hand-off pipe as fd 4.
//
// Secrets never reach the daemon's /proc/PID/cmdline (world-readable) or
// /proc/PID/environ: its argv is the command line with URL passwords
// redacted (proxy=http://user:xxxxx@host), its environment lacks the
// credential variables (OBS_ACCESS_KEY_ID, …) and proxy variables with a
// password, and the real arguments and those variables come through the
// hand-off pipe as one JSON document, read before anything else (main.go).
//
// The child starts in a new session (setsid), with stdio on /dev/null
// (stderr on the log file when there is one, so a panic is kept), goes to
// "/", runs every check, mounts, and writes lines to the readiness pipe:
//
//	note MESSAGE          zero or more: printed by the parent as "obsfs: MESSAGE"
//	                      once the mount is live (a failure stays one line)
//	ok                    the mount is live
//	CODE MESSAGE          e.g. "7 bucket \"x\" does not exist at https://…"
//
// The parent exits 0 only after "ok", i.e. once the mount is live; else it
// prints "obsfs: MESSAGE" and exits CODE. If the child dies without a word,
// or says nothing within daemonWait, the parent says so and exits 1.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemonEnv marks the re-executed child and names its report fd;
// daemonArgsEnv names the hand-off fd.
const (
	daemonEnv     = "OBSFS_DAEMON_FD"
	daemonArgsEnv = "OBSFS_DAEMON_ARGS_FD"
)

// handoff is what the parent sends the child through the hand-off pipe.
type handoff struct {
	Args []string          // the real command line (without the program name)
	Env  map[string]string // credential variables withheld from the child's environment
}

// daemonWait bounds how long the parent waits for the child's report.
func daemonWait(c *Config) time.Duration { return headTimeout(c) + time.Minute }

// secretEnv reports whether an environment variable holds credentials
// (the envKeys names).
func secretEnv(name string) bool {
	for _, k := range envKeys {
		if slices.Contains(k[:], name) {
			return true
		}
	}
	return false
}

// proxyEnv are the proxy variables Go's HTTP client reads; one whose URL
// holds a password is handed off too, and set again in the child's
// process-local environment (os.Setenv does not reach /proc/PID/environ).
var proxyEnv = []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"}

// splitDaemonEnv splits the parent's environment into the daemon's (with
// the daemon markers) and the variables withheld from it.
func splitDaemonEnv(environ []string) (env []string, withheld map[string]string) {
	env = []string{daemonEnv + "=3", daemonArgsEnv + "=4"}
	withheld = map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case secretEnv(k), slices.Contains(proxyEnv, k) && strings.Contains(v, "@"):
			withheld[k] = v
		case k != daemonEnv && k != daemonArgsEnv:
			env = append(env, kv)
		}
	}
	return env, withheld
}

// daemonExecutable is the binary to re-execute: its real path, so that the
// kernel names the process after it; /proc/self/exe if that is gone.
func daemonExecutable() string {
	exe, err := os.Executable()
	if err != nil || strings.HasSuffix(exe, " (deleted)") {
		return "/proc/self/exe"
	}
	return exe
}

// startDaemon is the parent: start the child and relay its verdict.
func startDaemon(c *Config, args []string, stderr io.Writer) int {
	r, w, err := os.Pipe()
	if err != nil {
		return reportError(stderr, err)
	}
	defer r.Close()
	hr, hw, err := os.Pipe()
	if err != nil {
		w.Close()
		return reportError(stderr, err)
	}
	env, withheld := splitDaemonEnv(os.Environ())
	ho := handoff{Args: args, Env: withheld}
	shown := []string{"obsfs"}
	for _, a := range args {
		shown = append(shown, redactURLs(a))
	}
	cmd := &exec.Cmd{
		Path:        daemonExecutable(),
		Args:        shown,
		Env:         env,
		ExtraFiles:  []*os.File{w, hr},
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
	hr.Close()
	if err != nil {
		hw.Close()
		return reportError(stderr, fmt.Errorf("cannot start the background process: %w", err))
	}
	_ = json.NewEncoder(hw).Encode(ho) // a child that died early is reported below
	hw.Close()
	return relayVerdict(cmd, r, daemonWait(c), stderr)
}

// readHandoff is the child's first act: the real arguments and the
// withheld credentials, from the fd named by OBSFS_DAEMON_ARGS_FD.
func readHandoff(getenv func(string) string) (args []string, env func(string) string, err error) {
	fd, err := strconv.Atoi(getenv(daemonArgsEnv))
	if err != nil || fd < 3 {
		return nil, nil, fmt.Errorf("%s=%q is not a hand-off fd from a parent obsfs", daemonArgsEnv, getenv(daemonArgsEnv))
	}
	_ = os.Unsetenv(daemonArgsEnv)
	f := os.NewFile(uintptr(fd), "obsfs-handoff")
	defer f.Close()
	var ho handoff
	if err := json.NewDecoder(f).Decode(&ho); err != nil {
		return nil, nil, fmt.Errorf("reading the arguments from the parent obsfs: %v", err)
	}
	for k, v := range ho.Env {
		if slices.Contains(proxyEnv, k) {
			_ = os.Setenv(k, v) // for http.ProxyFromEnvironment
		}
	}
	return ho.Args, func(k string) string {
		if v, ok := ho.Env[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}

// relayVerdict reads the child's lines and turns them into the exit code.
func relayVerdict(cmd *exec.Cmd, r io.Reader, wait time.Duration, stderr io.Writer) int {
	lines := make(chan string)
	go func() {
		defer close(lines)
		br := bufio.NewReader(r)
		for {
			line, err := br.ReadString('\n')
			if line != "" || err == nil {
				lines <- strings.TrimSuffix(line, "\n")
			}
			if err != nil {
				return
			}
		}
	}()
	deadline := time.After(wait)
	var notes []string // printed once the mount is live: a failure is one line
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				state := waitChild(cmd, 5*time.Second)
				fmt.Fprintf(stderr, "obsfs: the background process exited before mounting (%s); see syslog or the logfile\n", state)
				return exitFailure
			}
			if note, isNote := strings.CutPrefix(line, "note "); isNote {
				notes = append(notes, note)
				continue
			}
			if line == "ok" {
				for _, n := range notes {
					fmt.Fprintf(stderr, "obsfs: %s\n", n)
				}
				return exitOK
			}
			if code, msg, ok := parseVerdict(line); ok {
				waitChild(cmd, 5*time.Second)
				fmt.Fprintf(stderr, "obsfs: %s\n", msg)
				return code
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			fmt.Fprintf(stderr, "obsfs: the background process did not report within %v; see its log\n", wait)
			return exitFailure
		}
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
	note := func(msg string) { fmt.Fprintf(pipe, "note %s\n", oneLine(msg)) }
	_, _ = syscall.Setsid() // already a session leader when started by startDaemon
	_ = os.Chdir("/")
	log, closeLog, logNote, err := newLogger(c, true, io.Discard)
	if err != nil {
		report(err)
		return exitCode(err)
	}
	defer closeLog()
	if logNote != "" {
		note(logNote)
	}
	return serve(c, getenv, log, report, note)
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
