package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	mi "github.com/obsfs/obsfs/internal/mountinfo"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCacheDirLock(t *testing.T) {
	c := &Config{CacheDir: t.TempDir(), Bucket: "bkt", Mountpoint: "/mnt/x"}
	require.NoError(t, lockCacheDir(c))
	first := heldLock
	heldLock = nil
	err := lockCacheDir(c)
	require.Error(t, err)
	assert.Equal(t, exitBusy, exitCode(err))
	assert.Contains(t, err.Error(), "in use by another obsfs mount (pid "+strconv.Itoa(os.Getpid())+")")
	heldLock = first
	releaseCacheDir()
	require.NoError(t, lockCacheDir(c), "free again once released")
	releaseCacheDir()
	assert.Equal(t, filepath.Join(c.CacheDir, "journal"), journalDir(c))
}

func TestDefaultJournalDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	a := journalDir(&Config{Bucket: "bkt", Mountpoint: "/mnt/a"})
	b := journalDir(&Config{Bucket: "bkt", Mountpoint: "/mnt/b"})
	assert.NotEqual(t, a, b, "one journal per mount point")
	assert.True(t, strings.HasPrefix(a, filepath.Join(os.TempDir(), "obsfs-"+strconv.Itoa(os.Geteuid()))))
	c := &Config{Bucket: "bkt", Mountpoint: "/mnt/a"}
	require.NoError(t, lockCacheDir(c))
	st, err := os.Stat(filepath.Dir(a))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	releaseCacheDir()
	_, err = os.Stat(a)
	assert.True(t, os.IsNotExist(err), "an empty default journal directory is removed")
	// Another user's (or a too open) directory is refused.
	require.NoError(t, os.Chmod(filepath.Dir(a), 0o777))
	err = lockCacheDir(c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a private directory")
}

func TestIsObsfsMount(t *testing.T) {
	info := "36 35 98:0 / /mnt/a\\040b rw,nosuid - fuse.obsfs obsfs:bkt rw\n" +
		"37 35 98:0 / /mnt/c rw - fuse.sshfs host: rw\n"
	assert.True(t, isObsfsMount(info, "/mnt/a b"))
	assert.False(t, isObsfsMount(info, "/mnt/c"))
	assert.False(t, isObsfsMount(info, "/mnt/a"))
	assert.Equal(t, "x\\04", mi.Unescape("x\\04"))
}
