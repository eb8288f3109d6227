package main

// The mounters: obsfs, and s3fs and rclone when installed, all in the
// foreground as children of this program so their pid (for peak RSS) and
// exit are ours. A mount is ready when it appears in /proc/self/mountinfo.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// mounter mounts the bench bucket with one tool.
type mounter struct {
	Name string
	// argv and env for mounting on dir.
	command func(dir string) (argv, env []string)
	// why it is unavailable ("" = available).
	missing string
}

// Every mount gets a fresh cache directory, so a "cold" row is cold even for
// a tool that keeps a disk cache across mounts.

// mounters returns the tools named in list (comma separated).
func (b *bench) mounters(list string) []mounter {
	var out []mounter
	for _, name := range strings.Split(list, ",") {
		m, ok := b.mounter(strings.TrimSpace(name))
		switch {
		case ok:
			out = append(out, m)
		case m.missing != "":
			fmt.Fprintf(b.out, "%s: %s, no rows\n", m.Name, m.missing)
		}
	}
	return out
}

func (b *bench) mounter(name string) (mounter, bool) {
	switch name {
	case "obsfs":
		bin := filepath.Join(b.cfg.BinDir, "obsfs")
		m := mounter{Name: name, command: func(dir string) ([]string, []string) {
			return []string{bin, benchBucket, dir, "-f", "-o", "url=" + b.emu.URL + ",passwd_file=" + b.passwd +
				",use_path_request_style"}, nil
		}}
		if _, err := os.Stat(bin); err != nil {
			m.missing = err.Error()
		}
		return m, true
	case "s3fs":
		m := mounter{Name: name, command: func(dir string) ([]string, []string) {
			return []string{"s3fs", benchBucket, dir, "-f", "-o", "url=" + b.emu.URL + ",use_path_request_style,passwd_file=" +
				b.passwd + ",endpoint=" + benchRegion + ",sigv4,dbglevel=warn"}, nil
		}}
		return m, installed(&m, "s3fs")
	case "rclone-off", "rclone-writes":
		mode := strings.TrimPrefix(name, "rclone-")
		m := mounter{Name: name, command: func(dir string) ([]string, []string) {
			return []string{"rclone", "mount", "emu:" + benchBucket, dir, "--vfs-cache-mode", mode,
					"--cache-dir", b.scratch("cache-" + filepath.Base(dir)), "--vfs-write-back", "0s"},
				[]string{"RCLONE_CONFIG_EMU_TYPE=s3", "RCLONE_CONFIG_EMU_PROVIDER=Other",
					"RCLONE_CONFIG_EMU_ACCESS_KEY_ID=" + benchAccessKey, "RCLONE_CONFIG_EMU_SECRET_ACCESS_KEY=" + benchSecretKey,
					"RCLONE_CONFIG_EMU_ENDPOINT=" + b.emu.URL, "RCLONE_CONFIG_EMU_REGION=" + benchRegion,
					"RCLONE_CONFIG_EMU_FORCE_PATH_STYLE=true", "RCLONE_CONFIG=" + filepath.Join(b.scratch("rclone"), "rclone.conf")}
		}}
		return m, installed(&m, "rclone")
	}
	fmt.Fprintf(os.Stderr, "bench: unknown tool %q ignored\n", name)
	return mounter{}, false
}

// withOption is m mounting with one more -o option (opt of the mount
// directory), under another name.
func (m mounter) withOption(name string, opt func(dir string) string) mounter {
	inner := m.command
	m.Name = name
	m.command = func(dir string) ([]string, []string) {
		argv, env := inner(dir)
		for i := range argv {
			if argv[i] == "-o" && i+1 < len(argv) {
				argv[i+1] += "," + opt(dir)
				break
			}
		}
		return argv, env
	}
	return m
}

// installed reports whether prog is on PATH; when not, m.missing says so
// and the tool is dropped.
func installed(m *mounter, prog string) bool {
	if _, err := exec.LookPath(prog); err != nil {
		m.missing = prog + " is not installed"
		return false
	}
	return true
}

// scratch returns a fresh directory under the work directory.
func (b *bench) scratch(name string) string {
	d := filepath.Join(b.work, name)
	_ = os.MkdirAll(d, 0o755)
	return d
}

// mount is one running mount.
type mount struct {
	Dir    string
	cmd    *exec.Cmd
	log    *bytes.Buffer
	exited chan struct{}
}

// mount mounts with m on a fresh directory and waits until it is up.
func (b *bench) mount(m mounter) (*mount, error) {
	if m.missing != "" {
		return nil, errors.New(m.missing)
	}
	b.seq++
	dir := b.scratch(fmt.Sprintf("mnt-%s-%d", strings.ReplaceAll(m.Name, " ", "-"), b.seq)) // mountinfo escapes spaces
	argv, env := m.command(dir)
	mt := &mount{Dir: dir, cmd: exec.Command(argv[0], argv[1:]...), log: &bytes.Buffer{}, exited: make(chan struct{})}
	mt.cmd.Env = append(cleanEnv(), env...)
	mt.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // unmounts if the bench dies
	mt.cmd.Stdout, mt.cmd.Stderr = mt.log, mt.log
	if err := mt.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = mt.cmd.Wait(); close(mt.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for !isMountpoint(dir) {
		select {
		case <-mt.exited:
			return nil, fmt.Errorf("%s exited: %s", argv[0], lastLine(mt.log.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			mt.kill()
			return nil, fmt.Errorf("%s: not mounted after 30s: %s", argv[0], lastLine(mt.log.String()))
		}
	}
	return mt, nil
}

// cleanEnv is this process's environment without variables that break the
// other mounters: AWS_CA_BUNDLE makes rclone's S3 backend fail at start
// ("unable to load custom CA bundle … unsupported transport").
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
			env = append(env, kv)
		}
	}
	return env
}

// PeakRSS is VmHWM of the mount process, in bytes.
func (mt *mount) PeakRSS() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", mt.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// CPU is the user+system CPU time the mount process has used so far
// (/proc/PID/stat utime+stime); 0 when it cannot be read.
func (mt *mount) CPU() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", mt.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from the ')'.
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// cpuPerGiB renders the mount process's CPU time per GiB moved.
func cpuPerGiB(cpu time.Duration, n int64) string {
	if cpu <= 0 || n <= 0 {
		return ""
	}
	return fmt.Sprintf("mount CPU %.2f s/GiB", cpu.Seconds()/(float64(n)/(1<<30)))
}

// Unmount unmounts and waits for the process (killing it after 60s).
func (mt *mount) Unmount() error {
	var err error
	for _, argv := range [][]string{{"fusermount3", "-u", mt.Dir}, {"umount", mt.Dir}, {"umount", "-l", mt.Dir}} {
		out, e := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if e == nil || !isMountpoint(mt.Dir) {
			err = nil
			break
		}
		err = fmt.Errorf("%s: %v: %s", argv[0], e, bytes.TrimSpace(out))
	}
	select {
	case <-mt.exited:
	case <-time.After(60 * time.Second):
		mt.kill()
		return errors.New("mount process did not exit 60s after unmount; killed")
	}
	return err
}

func (mt *mount) kill() {
	_ = mt.cmd.Process.Kill()
	_ = exec.Command("umount", "-l", mt.Dir).Run()
}

// isMountpoint reports whether dir is a FUSE mount in /proc/self/mountinfo.
func isMountpoint(dir string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f := strings.Fields(pre)
		if ok && len(f) >= 5 && f[4] == dir && strings.HasPrefix(post, "fuse") {
			return true
		}
	}
	return false
}

// lastLine is the last non-empty line of s, for one-line failure reasons.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
