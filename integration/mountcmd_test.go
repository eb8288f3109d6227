package integration

// mount -t fuse.obsfs: mount(8) runs "/sbin/mount.fuse SOURCE MNT -o rw,OPTS
// -t fuse.obsfs", and mount.fuse3 runs "obsfs SOURCE MNT -o OPTS" through
// /bin/sh — the /etc/fstab path.
//
// mount(8) clears PATH before running the helper, so /bin/sh finds obsfs
// only in the shell's default PATH (/usr/local/sbin … /bin). The test
// therefore runs mount.fuse3 itself with exactly mount(8)'s argv and a PATH
// holding a symlink to the built obsfs; it runs mount(8) too when obsfs is
// installed in a system directory.

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// systemPath is the PATH /bin/sh uses when mount(8) has removed it.
const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func TestMountTypeFuseObsfs(t *testing.T) {
	requireFUSE(t)
	helper, err := exec.LookPath("mount.fuse3")
	if err != nil {
		if helper = "/sbin/mount.fuse3"; !fileExists(helper) {
			t.Skip("mount.fuse3 is not installed (package fuse3)")
		}
	}
	e := newEnv(t)
	e.putObject(t, "hello.txt", []byte("hello"), nil)

	t.Run("mount.fuse3", func(t *testing.T) {
		pathDir := t.TempDir()
		must(t, os.Symlink(obsfsBin(), filepath.Join(pathDir, "obsfs")))
		env := []string{"PATH=" + pathDir + ":" + systemPath}
		mnt := t.TempDir()
		t.Cleanup(func() { unmountDaemon(t, mnt) })
		shEnv(t, "", env, helper, e.Bucket, mnt, "-o", "rw,"+e.Options("_netdev"), "-t", "fuse.obsfs")
		useFstabMount(t, e, mnt, []string{"umount", mnt})
	})
	t.Run("mount(8)", func(t *testing.T) {
		installed := ""
		for _, d := range filepath.SplitList(systemPath) {
			if fileExists(filepath.Join(d, "obsfs")) {
				installed = filepath.Join(d, "obsfs")
			}
		}
		if installed == "" {
			t.Skip("obsfs is not installed in a system directory: mount(8) clears PATH, so mount.fuse3 cannot find bin/obsfs")
		}
		t.Logf("mount(8) will run %s (not necessarily this build)", installed)
		mnt := t.TempDir()
		t.Cleanup(func() { unmountDaemon(t, mnt) })
		sh(t, "", "mount", "-t", "fuse.obsfs", e.Bucket, mnt, "-o", e.Options("_netdev"))
		useFstabMount(t, e, mnt, []string{"umount", mnt})
	})
}

// useFstabMount checks a mount made through mount.fuse3, then unmounts it
// with unmountArgv and waits for the daemon.
func useFstabMount(t *testing.T, e *Env, mnt string, unmountArgv []string) {
	t.Helper()
	me, ok := findMount(mnt)
	if !ok || me.FSType != "fuse.obsfs" {
		t.Fatalf("mountinfo %+v (found %v), want type fuse.obsfs", me, ok)
	}
	t.Logf("mountinfo: type %s source %q options %s", me.FSType, me.Source, me.Options)
	if got, err := os.ReadFile(filepath.Join(mnt, "hello.txt")); err != nil || string(got) != "hello" {
		t.Errorf("read through the mount: %q, %v", got, err)
	}
	must(t, os.WriteFile(filepath.Join(mnt, "back.txt"), []byte("back"), 0o644))
	if got, _ := e.getObject(t, "back.txt"); string(got) != "back" {
		t.Errorf("object back.txt = %q", got)
	}
	if len(daemonPIDs(mnt)) != 1 {
		t.Errorf("want one obsfs daemon serving %s, found %v", mnt, daemonPIDs(mnt))
	}
	sh(t, "", unmountArgv...)
	if isMountpoint(mnt) {
		t.Errorf("still mounted after %v", unmountArgv)
	}
	unmountDaemon(t, mnt)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
