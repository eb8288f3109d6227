package fs

// Errors: the one place where an error becomes a syscall.Errno. Every node
// method returns errno(...) of whatever went wrong; nothing else in the
// package converts errors for the kernel.

import (
	"context"
	"errors"
	"net/http"
	"os"
	"syscall"

	"go.uber.org/zap"

	"github.com/obsfs/obsfs/manage"
	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/transfer"
)

// errnoOf maps err to the errno the caller of the system call sees:
//
//	nil                          0
//	syscall.Errno (also wrapped) itself, except a connection's (ECONNRESET, …): EIO
//	context.Canceled             EINTR (FUSE interrupt)
//	transfer.ErrStale            ESTALE (pinned object changed)
//	transfer.ErrAppendConflict   ESTALE (another writer appended first)
//	transfer.ErrTooLarge         EFBIG
//	obsclient.ErrSSECKey         EACCES (SSE-C object, key missing or another)
//	manage.ErrInvalid            EINVAL (a value refused before any request)
//	manage.ErrNotWritable        EPERM
//	manage.ErrNotAdmin           EPERM
//	manage.ErrNoAttr             ENODATA
//	manage.ErrBusy               EBUSY
//	404 / NoSuch*                ENOENT
//	412 / stale ETag             ESTALE
//	403 InsufficientStorageSpace ENOSPC (bucket quota)
//	403 InvalidObjectState       EAGAIN (archived object, restore first)
//	403 other                    EACCES
//	409 *NotEmpty                ENOTEMPTY
//	409 other                    EEXIST
//	405 / 501 / FsNotSupport     ENOTSUP
//	400 MetadataTooLarge         E2BIG
//	400 KeyTooLongError          ENAMETOOLONG
//	400 EntityTooLarge           EFBIG
//	400 MalformedXML, MalformedPolicy, InvalidArgument, InvalidRequest,
//	    InvalidTag, InvalidStorageClass, … (a rejected document)  EINVAL
//	anything else (network after retries, 5xx, deadline) EIO
func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var en syscall.Errno
	if errors.As(err, &en) && !networkErrno(en) {
		return en
	}
	if errors.Is(err, context.Canceled) {
		return syscall.EINTR
	}
	if errors.Is(err, transfer.ErrStale) || errors.Is(err, transfer.ErrAppendConflict) {
		return syscall.ESTALE
	}
	if errors.Is(err, transfer.ErrTooLarge) {
		return syscall.EFBIG
	}
	if errors.Is(err, obsclient.ErrSSECKey) {
		return syscall.EACCES
	}
	if en, ok := manageErrno(err); ok {
		return en
	}
	if e, ok := obsclient.AsError(err); ok && e.StatusCode != 0 {
		return obsErrno(e)
	}
	if errors.Is(err, os.ErrNotExist) {
		return syscall.ENOENT
	}
	return syscall.EIO
}

// networkErrno reports an errno of a failed connection (reset, refused,
// timed out, …), which may sit in the chain of a request error: it is a
// network failure (EIO), not something the caller did.
func networkErrno(en syscall.Errno) bool {
	switch en {
	case syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE, syscall.ETIMEDOUT,
		syscall.ENETUNREACH, syscall.ENETDOWN, syscall.EHOSTUNREACH, syscall.EHOSTDOWN:
		return true
	}
	return false
}

func obsErrno(e *obsclient.Error) syscall.Errno {
	switch {
	case obsclient.IsNotFound(e):
		return syscall.ENOENT
	case obsclient.IsPreconditionFailed(e):
		return syscall.ESTALE
	case obsclient.IsQuotaExceeded(e):
		return syscall.ENOSPC
	case obsclient.IsInvalidObjectState(e):
		return syscall.EAGAIN
	case e.StatusCode == http.StatusForbidden:
		return syscall.EACCES
	case e.StatusCode == http.StatusConflict:
		return conflictErrno(e.Code)
	case obsclient.IsNotSupported(e):
		return syscall.ENOTSUP
	}
	switch e.Code {
	case "MalformedXML", "MalformedPolicy", "MalformedJSON", "InvalidArgument", "InvalidRequest",
		"InvalidTag", "InvalidStorageClass", "InvalidBucketState", "InvalidLocationConstraint",
		"InvalidTargetBucketForLogging", "MalformedACLError", "InvalidPolicyDocument":
		return syscall.EINVAL
	case "MetadataTooLarge":
		return syscall.E2BIG
	case "KeyTooLongError":
		return syscall.ENAMETOOLONG
	case "EntityTooLarge":
		return syscall.EFBIG
	}
	return syscall.EIO
}

// manageErrno maps the errors management decides itself.
func manageErrno(err error) (syscall.Errno, bool) {
	switch {
	case errors.Is(err, manage.ErrInvalid):
		return syscall.EINVAL, true
	case errors.Is(err, manage.ErrNotWritable), errors.Is(err, manage.ErrNotAdmin):
		return syscall.EPERM, true
	case errors.Is(err, manage.ErrNoAttr):
		return enoattr, true
	case errors.Is(err, manage.ErrBusy):
		return syscall.EBUSY, true
	}
	return 0, false
}

func conflictErrno(code string) syscall.Errno {
	switch code {
	case "DirectoryNotEmpty", "BucketNotEmpty":
		return syscall.ENOTEMPTY
	}
	return syscall.EEXIST
}

// errno maps err and logs the cause (at debug level for the expected
// ENOENT, warn otherwise).
func (f *FS) errno(op, key string, err error) syscall.Errno {
	en := errnoOf(err)
	if en == 0 {
		return 0
	}
	lvl := f.log.Warn
	if en == syscall.ENOENT || en == syscall.EINTR || isPlainErrno(err) {
		lvl = f.log.Debug
	}
	lvl(op+" failed", zap.String("key", key), zap.String("errno", en.Error()), zap.Error(err))
	return en
}

// isPlainErrno reports an error that is already an errno decided by obsfs
// (EEXIST, ENOTEMPTY, …): nothing to log loudly.
func isPlainErrno(err error) bool {
	_, ok := err.(syscall.Errno)
	return ok
}

// adminErrno maps the failure of a management operation (an xattr under
// user.obs., a control file): like errno, except that the server refusing
// the request as not applicable to this object is EINVAL rather than the
// data path's meaning — a restore of an object that is not archived
// (InvalidObjectState) — and a restore already running is EBUSY. It always
// logs at warn level: the caller asked for a change that did not happen.
func (f *FS) adminErrno(op, key string, err error) syscall.Errno {
	en := errnoOf(err)
	switch {
	case en == 0:
		return 0
	case obsclient.IsInvalidObjectState(err), obsclient.IsInvalidConfig(err):
		en = syscall.EINVAL
	case obsclient.IsCode(err, "RestoreAlreadyInProgress"):
		en = syscall.EBUSY
	}
	f.log.Warn(op+" failed", zap.String("key", key), zap.String("errno", en.Error()), zap.Error(err))
	return en
}
