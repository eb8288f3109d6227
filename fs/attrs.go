package fs

// Attributes: POSIX attributes ⇄ object metadata. Pure logic.
//
// The keys are those s3fs and Huawei's obsfs use, so one bucket reads the same
// through any of them (custom metadata names, sent as x-obs-meta-<name> or
// x-amz-meta-<name>):
//
//	mode   decimal st_mode including the type bits (S_IFREG|0644 = "33188")
//	uid    decimal
//	gid    decimal
//	mtime  decimal seconds since the epoch, optional fraction ("1700000000.5")
//	ctime, atime  same form, optional
//	rdev   decimal device number of a character or block device (the
//	       kernel's encoding, as st_rdev); s3fs ignores it
//
// An object without them gets the mount's defaults: uid/gid options,
// 0666&^umask for files, 0777&^umask for directories, and LastModified as
// mtime. A symlink is an object whose body is the target and whose mode has
// S_IFLNK. FIFOs, sockets and devices are empty objects whose mode carries
// S_IFIFO, S_IFSOCK, S_IFCHR or S_IFBLK (as s3fs stores them).

import (
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/obsfs/obsfs/obsclient"
)

// Metadata keys holding POSIX attributes; hidden from the user.* xattrs.
const (
	metaMode  = "mode"
	metaUID   = "uid"
	metaGID   = "gid"
	metaMtime = "mtime"
	metaCtime = "ctime"
	metaAtime = "atime"
	metaRdev  = "rdev"
)

var posixKeys = map[string]bool{metaMode: true, metaUID: true, metaGID: true, metaMtime: true, metaCtime: true, metaAtime: true, metaRdev: true}

// isPosixKey reports whether a metadata name holds a POSIX attribute.
func isPosixKey(name string) bool { return posixKeys[strings.ToLower(name)] }

// objAttr is what obsfs knows about one file, directory or symlink.
type objAttr struct {
	Mode                uint32 // st_mode with type bits
	UID, GID            uint32
	Size                uint64
	Rdev                uint32 // device number of a character or block device
	Mtime, Ctime, Atime time.Time
	ETag                string
	ContentType         string // kept across metadata rewrites
	// User holds the custom metadata that is not a POSIX key (user.* xattrs).
	User map[string]string
	// Complete is false for attributes from a listing (no metadata yet).
	Complete bool
	// Implicit marks a directory without a marker object.
	Implicit bool
	// Appendable marks an OBS appendable object; NextAppendPosition is
	// where the next append must start (0 when unknown, e.g. a listing).
	// Growing such a file appends only the new bytes (transfer.Base).
	Appendable         bool
	NextAppendPosition int64
}

// attrDefaults are the mount-wide defaults for objects without metadata.
type attrDefaults struct {
	UID, GID uint32
	Umask    uint32
}

func (d attrDefaults) fileMode() uint32 { return syscall.S_IFREG | (0666 &^ d.Umask) }
func (d attrDefaults) dirMode() uint32  { return syscall.S_IFDIR | (0777 &^ d.Umask) }

// isDir, isRegular classify the type bits.
func (a objAttr) isDir() bool { return a.Mode&syscall.S_IFMT == syscall.S_IFDIR }

// attrFromInfo derives attributes from HEAD/GET (Complete) or listing data.
// dir says whether the key is a directory marker (or an implicit directory,
// info zero apart from maybe LastModified).
func attrFromInfo(info obsclient.ObjectInfo, dir bool, d attrDefaults) objAttr {
	a := objAttr{UID: d.UID, GID: d.GID, Size: uint64(info.Size), Mtime: info.LastModified, ETag: info.ETag,
		ContentType: info.ContentType, Complete: info.Metadata != nil,
		Appendable: info.Appendable, NextAppendPosition: info.NextAppendPosition}
	a.Mode = d.fileMode()
	if dir {
		a.Mode, a.Size = d.dirMode(), 0
	}
	applyMetadata(&a, info.Metadata, dir)
	if a.Ctime.IsZero() {
		a.Ctime = a.Mtime
	}
	if a.Atime.IsZero() {
		a.Atime = a.Mtime
	}
	return a
}

// applyMetadata overlays POSIX keys from md on a and collects the rest as
// user metadata. The key's shape (dir or not) wins over the type bits,
// except that a non-directory may be a symlink.
func applyMetadata(a *objAttr, md map[string]string, dir bool) {
	for k, v := range md {
		k = strings.ToLower(k)
		if !posixKeys[k] {
			if a.User == nil {
				a.User = map[string]string{}
			}
			a.User[k] = v
			continue
		}
		applyPosixKey(a, k, v, dir)
	}
}

func applyPosixKey(a *objAttr, k, v string, dir bool) {
	switch k {
	case metaMode:
		if m, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
			a.Mode = fixType(uint32(m), a.Mode, dir)
		}
	case metaUID:
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
			a.UID = uint32(n)
		}
	case metaGID:
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
			a.GID = uint32(n)
		}
	case metaRdev:
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
			a.Rdev = uint32(n)
		}
	case metaMtime, metaCtime, metaAtime:
		t, ok := parseTime(v)
		if !ok {
			return
		}
		switch k {
		case metaMtime:
			a.Mtime = t
		case metaCtime:
			a.Ctime = t
		default:
			a.Atime = t
		}
	}
}

// fixType keeps the permission bits of m and chooses the type: a directory
// key is always a directory; otherwise the type m names if it is a symlink,
// FIFO, socket or device, else regular.
func fixType(m, def uint32, dir bool) uint32 {
	perm := m & 07777
	switch t := m & syscall.S_IFMT; {
	case dir:
		return syscall.S_IFDIR | perm
	case t == syscall.S_IFLNK || isSpecialType(t):
		return t | perm
	default:
		return syscall.S_IFREG | perm
	}
}

// isSpecialType reports a FIFO, socket or device type (st_mode&S_IFMT).
func isSpecialType(t uint32) bool {
	switch t {
	case syscall.S_IFIFO, syscall.S_IFSOCK, syscall.S_IFCHR, syscall.S_IFBLK:
		return true
	}
	return false
}

// isDevice reports a character or block device type.
func isDevice(t uint32) bool { return t == syscall.S_IFCHR || t == syscall.S_IFBLK }

// metadata renders a as object metadata: the POSIX keys plus user keys.
func (a objAttr) metadata() map[string]string {
	md := make(map[string]string, len(a.User)+6)
	for k, v := range a.User {
		md[k] = v
	}
	md[metaMode] = strconv.FormatUint(uint64(a.Mode), 10)
	md[metaUID] = strconv.FormatUint(uint64(a.UID), 10)
	md[metaGID] = strconv.FormatUint(uint64(a.GID), 10)
	md[metaMtime] = formatTime(a.Mtime)
	if !a.Ctime.IsZero() {
		md[metaCtime] = formatTime(a.Ctime)
	}
	if !a.Atime.IsZero() {
		md[metaAtime] = formatTime(a.Atime)
	}
	if isDevice(a.Mode & syscall.S_IFMT) {
		md[metaRdev] = strconv.FormatUint(uint64(a.Rdev), 10)
	}
	return md
}

// userMetaSize is the size custom metadata takes against OBS's 8 KB limit
// (names + values, POSIX keys included).
func userMetaSize(md map[string]string) int {
	n := 0
	for k, v := range md {
		n += len(k) + len(v)
	}
	return n
}

// parseTime reads decimal seconds with an optional fraction ("12", "12.5",
// "-3", "12.000000001").
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	secStr, frac, hasFrac := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var nsec int64
	if hasFrac {
		if frac == "" || len(frac) > 9 && strings.Trim(frac[9:], "0123456789") != "" {
			return time.Time{}, false
		}
		if len(frac) > 9 {
			frac = frac[:9]
		}
		frac += strings.Repeat("0", 9-len(frac))
		if nsec, err = strconv.ParseInt(frac, 10, 64); err != nil || nsec < 0 {
			return time.Time{}, false
		}
		if strings.HasPrefix(secStr, "-") {
			nsec = -nsec
		}
	}
	return time.Unix(sec, nsec), true
}

// formatTime writes seconds, with a nanosecond fraction only when needed.
func formatTime(t time.Time) string {
	sec, nsec := t.Unix(), t.Nanosecond()
	if nsec == 0 {
		return strconv.FormatInt(sec, 10)
	}
	return strconv.FormatInt(sec, 10) + "." + strings.TrimRight(strconv.FormatInt(int64(nsec)+1e9, 10)[1:], "0")
}
