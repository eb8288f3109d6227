package main

// cachedir.go: the write journal's directory, its lock, and the cleanup of
// a dead mount left by a crash.
//
// The crash journal (transfer/journal.go) lives in use_cache/journal, or,
// without use_cache, in $TMPDIR/obsfs-UID/HASH where HASH names the bucket,
// prefix and mount point, so a restart of the same mount finds it. A
// tmpfs /tmp does not survive a reboot: crash recovery across reboots
// needs use_cache on a persistent disk.
//
// Two mounts must never share one directory: each takes an exclusive flock
// on DIR/.lock (use_cache itself, or the default journal directory) for
// its lifetime; a second mount fails with exitBusy and one line naming the
// holder's pid. The kernel drops the lock when the holder dies, however it
// dies, so a crash never leaves a stale lock.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	mi "github.com/obsfs/obsfs/internal/mountinfo"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/obsfs/obsfs/fs"
	"github.com/obsfs/obsfs/transfer"
)

// recoverTimeout bounds the recovery at mount time; what is left is tried
// again by the next mount.
var recoverTimeout = 45 * time.Second

// journalDir is where the crash journal of the mount c lives.
func journalDir(c *Config) string {
	if c.CacheDir != "" {
		return filepath.Join(c.CacheDir, "journal")
	}
	h := sha256.Sum256([]byte(c.Bucket + "\x00" + c.Prefix + "\x00" + c.Mountpoint))
	return filepath.Join(os.TempDir(), "obsfs-"+strconv.Itoa(os.Geteuid()), hex.EncodeToString(h[:8]))
}

// lockDir is the directory a mount locks: use_cache, else its journal.
func lockDir(c *Config) string {
	if c.CacheDir != "" {
		return c.CacheDir
	}
	return journalDir(c)
}

// heldLock keeps the lock file open (and locked) for the process's life.
var heldLock *os.File

// lockCacheDir creates (0700) and locks the mount's cache directory.
func lockCacheDir(c *Config) error {
	dir := lockDir(c)
	if c.CacheDir == "" {
		if err := privateDir(filepath.Dir(dir)); err != nil {
			return failf(exitFailure, "journal directory: %v", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return failf(exitUsage, "cache directory: %v", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return failf(exitFailure, "cache directory lock: %v", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := make([]byte, 32)
		n, _ := f.ReadAt(holder, 0)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(holder[:n]))
			return failf(exitBusy, "cache directory %s is in use by another obsfs mount (pid %s); give each mount its own use_cache directory", dir, pid)
		}
		return failf(exitFailure, "cache directory lock: %v", err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	heldLock = f
	if c.CacheDir == "" {
		lockedDefault = dir
	}
	return nil
}

// atExit runs when the mount is over (set by mountFS).
var atExit func()

// lockedDefault is the default journal directory this process locked.
var lockedDefault string

// releaseCacheDir drops the lock (a failed start, or the end of serve, so
// the same process can mount again).
func releaseCacheDir() {
	if atExit != nil {
		atExit()
		atExit = nil
	}
	if heldLock != nil {
		if lockedDefault != "" { // leave no empty directory behind
			if ents, err := os.ReadDir(lockedDefault); err == nil && len(ents) == 1 && ents[0].Name() == ".lock" {
				_ = os.Remove(filepath.Join(lockedDefault, ".lock"))
				_ = os.Remove(lockedDefault)
			}
			lockedDefault = ""
		}
		_ = heldLock.Close()
		heldLock = nil
	}
}

// privateDir makes dir a directory of ours, mode 0700, refusing one that
// another user owns or a symlink (a shared /tmp).
func privateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is not a private directory of this user", dir)
	}
	return nil
}

// recoverJournal commits what a crashed mount left (before serving).
func recoverJournal(fsys *fs.FS, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	res, err := fsys.Recover(ctx)
	if res != (transfer.RecoverResult{}) {
		log.Info("recovered files left by a crashed mount", zap.Int("committed", res.Committed),
			zap.Int("conflicts_kept_beside", res.Conflicts), zap.Int("failed_kept_for_next_mount", res.Failed),
			zap.Int("stranded", res.Stranded), zap.Int("corrupt", res.Corrupt), zap.Int("uploads_aborted", res.Aborted),
			zap.Int64("bytes", res.Bytes))
	}
	if err != nil {
		log.Warn("recovery incomplete; the rest is retried by the next mount", zap.Error(err))
	}
}

// cleanStaleMount detaches a dead obsfs mount on mp (its process was
// killed: "Transport endpoint is not connected"), so a restart needs no
// human. Dead mounts of other filesystems are left to checkMountpoint's
// error.
func cleanStaleMount(mp string, log *zap.Logger) {
	for range 8 { // dead mounts may be stacked
		// statfs always asks the server (stat may be answered from the
		// kernel's attribute cache of the dead mount).
		var st syscall.Statfs_t
		if err := syscall.Statfs(mp, &st); !errors.Is(err, syscall.ENOTCONN) {
			return
		}
		raw, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil || !isObsfsMount(string(raw), mp) {
			return
		}
		if err := lazyUnmount(mp); err != nil {
			log.Warn("could not detach the dead obsfs mount", zap.String("mountpoint", mp), zap.Error(err))
			return
		}
		log.Warn("detached a dead obsfs mount left by a crashed process", zap.String("mountpoint", mp))
	}
}

// isObsfsMount reports whether mountinfo lists a fuse.obsfs mount on mp.
func isObsfsMount(table, mp string) bool {
	for _, line := range strings.Split(table, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) >= 5 && len(g) >= 1 && mi.Unescape(f[4]) == mp && g[0] == "fuse.obsfs" {
			return true
		}
	}
	return false
}
