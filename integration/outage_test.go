package integration

// Outages of the server seen through the built binaries (fs/SEMANTICS.md
// tenets 18, 19, 46): bin/obs-emulator runs as a process with --persist,
// so the test can kill it (SIGKILL), freeze it (SIGSTOP) and restart it on
// the same port and root, and find the same bucket.
//
//   - the server is down ~30 s while cp closes its file: close waits
//     (retry_budget) and succeeds once the server is back;
//   - the server is frozen: a stat or ls waiting on it ends when killed
//     (FUSE interrupt), and the mount works again after SIGCONT;
//   - the server is killed and restarted in the middle of a copy of a
//     multipart-sized file: the copy completes, no upload is left.
//
// Timing assertions are only "it ended within a generous bound".

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/obstest"
)

// emuProc is bin/obs-emulator as a process with a persistent root.
type emuProc struct {
	t    *testing.T
	root string
	addr string // 127.0.0.1:PORT, fixed after the first start
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// newOutageEnv starts the emulator process and an Env pointing at it.
func newOutageEnv(t *testing.T) (*Env, *emuProc) {
	t.Helper()
	requireFUSE(t)
	p := &emuProc{t: t, root: t.TempDir(), addr: "127.0.0.1:0", log: filepath.Join(t.TempDir(), "emulator.log")}
	p.start()
	t.Cleanup(p.stop)
	e := &Env{URL: "http://" + p.addr, Bucket: testBucket, Passwd: writePasswd(t, testAccessKey, testSecretKey, 0o600)}
	return e, p
}

// start runs the emulator and waits for its "listening on" line.
func (p *emuProc) start() {
	p.t.Helper()
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer logf.Close()
	p.cmd = exec.Command(emulatorBin(), "--listen", p.addr, "--access-key", testAccessKey, "--secret-key", testSecretKey,
		"--bucket", testBucket, "--root", p.root, "--persist")
	p.cmd.Stderr = logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	var lastErr error
	for try := 0; try < 50; try++ { // the old listener's port may take a moment
		if try > 0 {
			p.cmd = exec.Command(p.cmd.Path, p.cmd.Args[1:]...)
			p.cmd.Stderr, p.cmd.SysProcAttr = logf, &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if out, err = p.cmd.StdoutPipe(); err != nil {
				p.t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := p.cmd.Start(); err != nil {
			p.t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			lastErr = err
			_ = p.cmd.Wait()
			continue
		}
		url, ok := strings.CutPrefix(strings.TrimSpace(line), "obs-emulator listening on http://")
		if !ok {
			p.t.Fatalf("emulator said %q", line)
		}
		p.addr = url
		p.done = make(chan struct{})
		go func(c *exec.Cmd, d chan struct{}) { _ = c.Wait(); close(d) }(p.cmd, p.done)
		return
	}
	b, _ := os.ReadFile(p.log)
	p.t.Fatalf("emulator did not start on %s: %v\n%s", p.addr, lastErr, b)
}

// kill ends the emulator with SIGKILL (nothing is flushed at exit).
func (p *emuProc) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}

func (p *emuProc) stop() { p.kill() }

func (p *emuProc) signal(s syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatal(err)
	}
}

// refused reports whether nothing listens on the emulator's port.
func (p *emuProc) refused() bool {
	c, err := net.DialTimeout("tcp", p.addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err != nil
}

// uploadsLeft lists the multipart uploads in progress.
func (e *Env) uploadsLeft(t *testing.T) int {
	t.Helper()
	res, err := e.Client(t).ListMultipartUploads(context.Background(), obsclient.ListUploadsOptions{})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	return len(res.Uploads)
}

// TestOutageServerDownDuringCopy: cp copies a stream into the mount; half
// way the server is killed, cp writes the rest and closes while the server
// is down (~30 s), and the server comes back (same port, same state): cp's
// close waits through the outage and succeeds, the object is whole, and no
// upload is left behind. Without a retry budget close fails with EIO after
// ~1 s of retries.
func TestOutageServerDownDuringCopy(t *testing.T) {
	e, emu := newOutageEnv(t)
	m := e.Mount(t)
	e.putObject(t, "before", []byte("existing"), nil)
	for _, tc := range []struct {
		name string
		size int
	}{{"small", 300_000}, {"multipart", 40 * MiB}} {
		t.Run(tc.name, func(t *testing.T) {
			if emu.cmd == nil {
				emu.start()
			}
			want := content("outage-"+tc.name, tc.size)
			cp := exec.Command("cp", "/dev/stdin", m.Path(tc.name))
			in, err := cp.StdinPipe()
			must(t, err)
			var stderr strings.Builder
			cp.Stderr = &stderr
			must(t, cp.Start())
			cpDone := make(chan error, 1)
			go func() { cpDone <- cp.Wait() }()
			half := len(want) / 2
			if _, err := in.Write(want[:half]); err != nil {
				t.Fatalf("writing to cp: %v (%s)", err, stderr.String())
			}
			emu.kill()
			if !emu.refused() {
				t.Fatal("the emulator still answers after SIGKILL")
			}
			if _, err := in.Write(want[half:]); err != nil {
				t.Fatalf("writing to cp: %v (%s)", err, stderr.String())
			}
			must(t, in.Close()) // cp closes its target now, with the server down
			select {
			case err := <-cpDone:
				t.Fatalf("cp ended while the server was down: %v %s", err, stderr.String())
			case <-time.After(30 * time.Second):
			}
			emu.start()
			back := time.Now()
			select {
			case err := <-cpDone:
				if err != nil {
					t.Fatalf("cp failed across the outage: %v %s", err, stderr.String())
				}
				t.Logf("cp finished %v after the server came back", time.Since(back).Round(time.Millisecond))
			case <-time.After(3 * time.Minute):
				t.Fatal("cp did not finish after the server came back")
			}
			got, _ := e.getObject(t, tc.name)
			if string(got) != string(want) {
				t.Fatalf("object after the outage: %d bytes, want %d (bytes differ or lost)", len(got), len(want))
			}
			if n := e.uploadsLeft(t); n != 0 {
				t.Fatalf("%d multipart uploads left behind", n)
			}
			checkFile(t, m.Path(tc.name), want, "read back through the mount")
		})
	}
	// The restarted emulator kept what was there before the first kill.
	if got, _ := e.getObject(t, "before"); string(got) != "existing" {
		t.Fatalf("object from before the outages: %q", got)
	}
}

// TestOutageFrozenServerKillable: with the server frozen (SIGSTOP), a stat
// and an ls of names the mount must ask the server about hang, and SIGKILL
// ends them (the FUSE interrupt cancels the wait); after SIGCONT the mount
// answers again. Before, the process stayed in D state until the request
// timed out (4 × 60 s).
func TestOutageFrozenServerKillable(t *testing.T) {
	e, emu := newOutageEnv(t)
	m := e.Mount(t)
	must(t, os.MkdirAll(m.Path("dir"), 0o755))
	must(t, os.WriteFile(m.Path("dir/file"), []byte("x"), 0o644))
	e.putObject(t, "other/x", []byte("y"), nil) // a directory this mount never listed
	emu.signal(syscall.SIGSTOP)
	defer emu.signal(syscall.SIGCONT)
	for _, argv := range [][]string{
		{"stat", m.Path("never-seen")},
		{"ls", "-l", m.Path("other")},
		{"cat", m.Path("other/x")},
	} {
		t.Run(argv[0], func(t *testing.T) {
			cmd := exec.Command(argv[0], argv[1:]...)
			must(t, cmd.Start())
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				t.Fatalf("%s ended although the server is frozen: %v", strings.Join(argv, " "), err)
			case <-time.After(2 * time.Second): // it waits on the server now
			}
			must(t, cmd.Process.Kill())
			killed := time.Now()
			select {
			case <-done:
				t.Logf("%s ended %v after SIGKILL", argv[0], time.Since(killed).Round(time.Millisecond))
			case <-time.After(30 * time.Second):
				t.Fatalf("%s did not end within 30 s of SIGKILL (D state: waiting on the frozen server)", strings.Join(argv, " "))
			}
		})
	}
	emu.signal(syscall.SIGCONT)
	if got := sh(t, "", "cat", m.Path("other/x")); got != "y" {
		t.Fatalf("after SIGCONT: cat = %q", got)
	}
	if _, err := os.Stat(m.Path("never-seen")); !os.IsNotExist(err) {
		t.Fatalf("after SIGCONT: stat never-seen = %v", err)
	}
}

// TestOutageRestartMidCopy: the server is killed and restarted at once,
// several times, while a large file is copied in: the copy succeeds and
// the object is byte-exact.
func TestOutageRestartMidCopy(t *testing.T) {
	e, emu := newOutageEnv(t)
	m := e.Mount(t)
	src := filepath.Join(t.TempDir(), "src")
	want := content("restart", 48*MiB)
	must(t, os.WriteFile(src, want, 0o644))
	cp := exec.Command("dd", "if="+src, "of="+m.Path("big"), "bs=1M", "status=none")
	var stderr strings.Builder
	cp.Stderr = &stderr
	must(t, cp.Start())
	cpDone := make(chan error, 1)
	go func() { cpDone <- cp.Wait() }()
	for i := 0; i < 3; i++ {
		time.Sleep(300 * time.Millisecond)
		emu.kill()
		time.Sleep(2 * time.Second)
		emu.start()
	}
	select {
	case err := <-cpDone:
		if err != nil {
			t.Fatalf("dd failed across restarts: %v %s", err, stderr.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("dd did not finish")
	}
	got, _ := e.getObject(t, "big")
	if string(got) != string(want) {
		t.Fatalf("object after restarts: %d bytes, want %d", len(got), len(want))
	}
	if n := e.uploadsLeft(t); n != 0 {
		t.Fatalf("%d multipart uploads left behind", n)
	}
}

// TestUnmountReturnsBeforeFinalUpload: fusermount3 -u returns at once,
// while obsfs still commits the file whose earlier close failed; obsfs
// exits (status 0) only once that upload landed. So a script that must
// know the data is in the bucket waits for the obsfs process, not for
// fusermount3 (SEMANTICS.md tenet 22).
func TestUnmountReturnsBeforeFinalUpload(t *testing.T) {
	e := newEnv(t)
	m := e.Mount(t, "retry_budget=0", "retries=0")
	must(t, e.Srv.InjectFault(obstest.Fault{Op: "PutObject", KeyPrefix: "late", Kind: obstest.FaultStatus500, Count: -1}))
	if err := os.WriteFile(m.Path("late"), []byte("committed at unmount"), 0o644); err == nil {
		t.Fatal("close succeeded although the PUT failed")
	}
	e.Srv.ClearFaults()
	must(t, e.Srv.InjectFault(obstest.Fault{Op: "PutObject", KeyPrefix: "late", Kind: obstest.FaultDelay, Delay: 5 * time.Second}))
	sh(t, "", "fusermount3", "-u", m.Dir)
	m.mounted = false
	if _, ok := e.headObject(t, "late"); ok {
		t.Log("the upload landed before fusermount3 returned (a background retry won the race)")
	} else if !processAlive(m.PID()) {
		t.Fatal("obsfs exited without committing the file")
	}
	select {
	case <-m.exited:
		if m.waitErr != nil {
			t.Fatalf("obsfs exit: %v", m.waitErr)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("obsfs did not exit after the unmount")
	}
	if got, _ := e.getObject(t, "late"); string(got) != "committed at unmount" {
		t.Fatalf("object after obsfs exited: %q", got)
	}
}
