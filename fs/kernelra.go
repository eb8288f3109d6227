package fs

// kernelra.go: the kernel's readahead for the mount (best effort).
//
// The kernel reads ahead of a buffered FUSE read by the backing device's
// read_ahead_kb, which FUSE initialises to at most 128 KiB whatever the
// filesystem asks in its INIT reply (the kernel offers no more). With that,
// a sequential read reaches obsfs as a chain of small, mostly serial
// requests, and the round trips through /dev/fuse, not the object store,
// bound the throughput. Once mounted, obsfs raises read_ahead_kb of its own
// connection (/sys/class/bdi/<major>:<minor>/read_ahead_kb, major:minor of
// the mount's anonymous device) to kernelReadahead, so the kernel sends
// several 1 MiB reads in parallel (up to MaxBackground of them) that the
// transfer.Reader serves from its coalesced readahead. This needs write
// access to sysfs (root); otherwise, or when the kernel refuses, the mount
// keeps the default and says so in the log. Files opened before the change
// keep their readahead state (it is taken at open).

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// kernelReadahead is the readahead obsfs asks of the kernel for its mount.
const kernelReadahead = 16 << 20

// fuseMaxBackground is the mount's MaxBackground: asynchronous requests
// (readahead reads) the kernel keeps in flight to obsfs.
const fuseMaxBackground = 64

// tuneKernelReadahead raises the mount's read_ahead_kb; best effort.
func (f *FS) tuneKernelReadahead(dir string) {
	path, err := setBDIReadahead(dir, "/sys/class/bdi", kernelReadahead)
	if err != nil {
		f.log.Info("kernel readahead left at its default", zap.String("mountpoint", dir), zap.Error(err))
		return
	}
	f.log.Info("kernel readahead raised", zap.String("bdi", path), zap.Int("read_ahead_kb", kernelReadahead>>10))
}

// setBDIReadahead writes bytes/1024 to read_ahead_kb of the backing device
// of the filesystem mounted on dir (under sysBDI) unless it is already at
// least that, and returns the file written.
func setBDIReadahead(dir, sysBDI string, bytes int64) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return "", err
	}
	path := filepath.Join(sysBDI, fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)), "read_ahead_kb")
	want := bytes >> 10
	if cur, err := os.ReadFile(path); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(cur)), 10, 64); err == nil && n >= want {
			return path, nil
		}
	}
	if err := os.WriteFile(path, []byte(strconv.FormatInt(want, 10)), 0); err != nil {
		return "", err
	}
	return path, nil
}
