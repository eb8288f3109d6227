package fs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/transfer"
)

func TestErrnoOf(t *testing.T) {
	obs := func(status int, code string) error {
		return fmt.Errorf("wrapped: %w", &obsclient.Error{Op: "X", StatusCode: status, Code: code})
	}
	for _, tc := range []struct {
		name string
		err  error
		want syscall.Errno
	}{
		{"nil", nil, 0},
		{"errno", syscall.ENOTEMPTY, syscall.ENOTEMPTY},
		{"wrapped errno", fmt.Errorf("x: %w", syscall.ENOSPC), syscall.ENOSPC},
		{"cancel", context.Canceled, syscall.EINTR},
		{"cancel inside obs error", &obsclient.Error{Err: context.Canceled}, syscall.EINTR},
		{"deadline", context.DeadlineExceeded, syscall.EIO},
		{"404", obs(404, "NoSuchKey"), syscall.ENOENT},
		{"412", obs(412, "PreconditionFailed"), syscall.ESTALE},
		{"quota", obs(403, "InsufficientStorageSpace"), syscall.ENOSPC},
		{"archived", obs(403, "InvalidObjectState"), syscall.EAGAIN},
		{"403", obs(403, "AccessDenied"), syscall.EACCES},
		{"SSE-C key missing", &obsclient.SSECKeyError{Key: "k", Err: obs(400, "InvalidRequest")}, syscall.EACCES},
		{"409 not empty", obs(409, "DirectoryNotEmpty"), syscall.ENOTEMPTY},
		{"409 conflict", obs(409, "FsObjectConflict"), syscall.EEXIST},
		{"405", obs(405, "FsNotSupport"), syscall.ENOTSUP},
		{"metadata too large", obs(400, "MetadataTooLarge"), syscall.E2BIG},
		{"key too long", obs(400, "KeyTooLongError"), syscall.ENAMETOOLONG},
		{"too large", obs(400, "EntityTooLarge"), syscall.EFBIG},
		{"malformed xml", obs(400, "MalformedXML"), syscall.EINVAL},
		{"malformed policy", obs(400, "MalformedPolicy"), syscall.EINVAL},
		{"invalid tag", obs(400, "InvalidTag"), syscall.EINVAL},
		{"500", obs(500, "InternalError"), syscall.EIO},
		{"503", obs(503, "SlowDown"), syscall.EIO},
		{"network", &obsclient.Error{Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, syscall.EIO},
		{"not exist", fs.ErrNotExist, syscall.ENOENT},
		{"other", errors.New("boom"), syscall.EIO},
		{"stale", fmt.Errorf("%w: x: %w", transfer.ErrStale, &obsclient.Error{StatusCode: 404}), syscall.ESTALE},
		{"reset", fmt.Errorf("upload: %w", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), syscall.EIO},
		{"append conflict", fmt.Errorf("%w: x", transfer.ErrAppendConflict), syscall.ESTALE},
		{"too large", transfer.ErrTooLarge, syscall.EFBIG},
	} {
		if got := errnoOf(tc.err); got != tc.want {
			t.Errorf("%s: errnoOf(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestAdminErrno(t *testing.T) {
	f, err := newFS(nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	obs := func(status int, code string) error {
		return &obsclient.Error{Op: "X", StatusCode: status, Code: code}
	}
	for _, tc := range []struct {
		err  error
		want syscall.Errno
	}{
		{nil, 0},
		{obs(403, "InvalidObjectState"), syscall.EINVAL}, // restore of an object that is not archived
		{obs(409, "RestoreAlreadyInProgress"), syscall.EBUSY},
		{obs(400, "InvalidArgument"), syscall.EINVAL},
		{&obsclient.Error{Err: fmt.Errorf("%w: too many tags", obsclient.ErrInvalidConfig)}, syscall.EINVAL},
		{obs(403, "AccessDenied"), syscall.EACCES},
		{obs(404, "NoSuchBucketPolicy"), syscall.ENOENT},
	} {
		if got := f.adminErrno("op", "k", tc.err); got != tc.want {
			t.Errorf("adminErrno(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
