package integration

// make install, as an admin runs it: the files land under DESTDIR/PREFIX,
// the systemd examples pass systemd-analyze verify, and the installed
// binary mounts through every door mount(8) offers: the mount.obsfs helper
// (type obsfs) and mount.fuse3 (type fuse.obsfs), with mount(8)'s cleaned
// PATH. mount(8) itself runs in a private mount namespace in which the
// install tree is laid over /usr/local/bin and /sbin, so nothing is
// installed on the machine.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMakeInstall(t *testing.T) {
	requireFUSE(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := moduleRoot()
	must(t, err)
	prefix := t.TempDir()
	sh(t, root, "make", "-o", "build", "install", "PREFIX="+prefix, "SBINDIR="+prefix+"/sbin", "OBSFS_BIN="+obsfsBin())
	for _, f := range []string{"bin/obsfs", "sbin/mount.obsfs", "share/man/man8/obsfs.8", "share/doc/obsfs/LICENSE",
		"share/doc/obsfs/examples/obsfs@.service", "share/doc/obsfs/examples/mnt-obs.mount"} {
		if !fileExists(filepath.Join(prefix, f)) {
			t.Errorf("make install did not install %s", f)
		}
	}
	helper, err := os.ReadFile(filepath.Join(prefix, "sbin/mount.obsfs"))
	must(t, err)
	if !strings.Contains(string(helper), "obsfs="+prefix+"/bin/obsfs") {
		t.Errorf("mount.obsfs does not call the installed binary by its path:\n%s", helper)
	}
	if v := sh(t, "", filepath.Join(prefix, "bin/obsfs"), "--version"); !strings.Contains(v, "commit ") {
		t.Errorf("--version = %q, want the version and the commit", v)
	}

	t.Run("systemd-analyze", func(t *testing.T) {
		if _, err := exec.LookPath("systemd-analyze"); err != nil {
			t.Skip("systemd-analyze is not installed")
		}
		dir := t.TempDir()
		examples := filepath.Join(prefix, "share/doc/obsfs/examples")
		svc, err := os.ReadFile(filepath.Join(examples, "obsfs@.service"))
		must(t, err)
		mnt, err := os.ReadFile(filepath.Join(examples, "mnt-obs.mount"))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, "obsfs@data.service"), svc, 0o644))
		must(t, os.WriteFile(filepath.Join(dir, "mnt-obs.mount"), mnt, 0o644))
		r := runCmd(dir, nil, "systemd-analyze", "verify", "--man=no", "./obsfs@data.service", "./mnt-obs.mount")
		if r.Code != 0 || strings.TrimSpace(r.Stderr) != "" {
			t.Errorf("systemd-analyze verify: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
	})

	e := newEnv(t)
	e.putObject(t, "hello.txt", []byte("hello"), nil)
	cleanEnv := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}

	t.Run("mount.obsfs", func(t *testing.T) {
		mnt := t.TempDir()
		t.Cleanup(func() { unmountDaemon(t, mnt) })
		// mount(8)'s argv for "mount -t obsfs BUCKET MNT -o OPTS".
		shEnv(t, "", cleanEnv, filepath.Join(prefix, "sbin/mount.obsfs"), e.Bucket, mnt, "-o", "rw,"+e.Options("_netdev"), "-t", "obsfs")
		useFstabMount(t, e, mnt, []string{"umount", mnt})
	})

	t.Run("mount(8)", func(t *testing.T) {
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Skip("unshare is not installed")
		}
		for _, typ := range []string{"obsfs", "fuse.obsfs"} {
			mnt := t.TempDir()
			// One shell in a private mount namespace: lay the install tree
			// over the system directories, mount, read, write, unmount.
			// $1 prefix, $2 type, $3 bucket, $4 mount point, $5 options.
			script := strings.Join([]string{
				"set -e",
				`mount -t overlay overlay -o "lowerdir=$1/sbin:/usr/sbin" /usr/sbin`,
				`mount --bind "$1/bin" /usr/local/bin`,
				`mount -t "$2" "$3" "$4" -o "$5"`,
				`cat "$4/hello.txt"`,
				`echo "from-$2" > "$4/$2.txt"`,
				`umount "$4"`,
			}, "\n")
			r := runCmd("", cleanEnv, "unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
				prefix, typ, e.Bucket, mnt, e.Options("_netdev"))
			if r.Code != 0 || r.Stdout != "hello" {
				t.Errorf("mount -t %s in a namespace with the install tree: exit %d %v stdout %q\n%s", typ, r.Code, r.Err, r.Stdout, r.Stderr)
				continue
			}
			if got, _ := e.getObject(t, typ+".txt"); string(got) != "from-"+typ+"\n" {
				t.Errorf("mount -t %s: object %s.txt = %q (umount returns after the upload)", typ, typ, got)
			}
		}
	})
}
