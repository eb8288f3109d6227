package obsclient

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error is the error every failed operation returns (possibly wrapped by
// *DeleteErrors for batch deletes). StatusCode and Code come from the server;
// Err holds the transport cause when no response was received (StatusCode 0).
type Error struct {
	Op         string // operation, e.g. "PutObject"
	Key        string // object key, "" for bucket-level operations
	StatusCode int    // HTTP status; 0 for transport errors
	Code       string // OBS error code, e.g. "NoSuchKey"
	Message    string
	RequestID  string
	HostID     string
	Resource   string
	Err        error // transport cause (network error, context cancellation, bad XML)

	retryAfter time.Duration // server's Retry-After, if any
	header     http.Header   // response headers (delete-marker 404s)
}

// Error formats the error without any credential material.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("obs ")
	b.WriteString(e.Op)
	if e.Key != "" {
		fmt.Fprintf(&b, " %q", e.Key)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d", e.StatusCode)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
		if e.RequestID != "" {
			b.WriteString(" (request " + e.RequestID + ")")
		}
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the transport cause.
func (e *Error) Unwrap() error { return e.Err }

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// StatusCode returns the HTTP status of err, or 0.
func StatusCode(err error) int {
	if e, ok := AsError(err); ok {
		return e.StatusCode
	}
	return 0
}

// IsCode reports whether err is an OBS error with the given code.
func IsCode(err error, code string) bool {
	e, ok := AsError(err)
	return ok && e.Code == code
}

// IsNotFound reports a 404 (NoSuchKey, NoSuchBucket, NoSuchVersion,
// NoSuchUpload, …).
func IsNotFound(err error) bool {
	e, ok := AsError(err)
	return ok && (e.StatusCode == http.StatusNotFound || strings.HasPrefix(e.Code, "NoSuch"))
}

// IsPreconditionFailed reports a 412.
func IsPreconditionFailed(err error) bool {
	e, ok := AsError(err)
	return ok && (e.StatusCode == http.StatusPreconditionFailed || e.Code == "PreconditionFailed")
}

// IsNotModified reports a 304 (If-None-Match / If-Modified-Since).
func IsNotModified(err error) bool {
	return StatusCode(err) == http.StatusNotModified
}

// IsAccessDenied reports a 403 other than a quota or object-state refusal
// (AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch,
// RequestTimeTooSkewed, …).
func IsAccessDenied(err error) bool {
	e, ok := AsError(err)
	if !ok || e.StatusCode != http.StatusForbidden {
		return false
	}
	return e.Code != "InsufficientStorageSpace" && e.Code != "InvalidObjectState"
}

// IsQuotaExceeded reports InsufficientStorageSpace (bucket quota reached).
func IsQuotaExceeded(err error) bool {
	return IsCode(err, "InsufficientStorageSpace")
}

// IsConflict reports a 409 (BucketNotEmpty, PositionNotEqualToLength,
// ObjectNotAppendable, FsRenameConflict, DirectoryNotEmpty, …).
func IsConflict(err error) bool {
	return StatusCode(err) == http.StatusConflict
}

// IsInvalidRange reports a 416 (range start past the end of the object).
func IsInvalidRange(err error) bool {
	e, ok := AsError(err)
	return ok && (e.StatusCode == http.StatusRequestedRangeNotSatisfiable || e.Code == "InvalidRange")
}

// IsInvalidObjectState reports a GET of an unrestored archived object or a
// restore of an object that is not archived.
func IsInvalidObjectState(err error) bool {
	return IsCode(err, "InvalidObjectState")
}

// IsNotSupported reports an operation the bucket does not support (405,
// FsNotSupport, NotImplemented).
func IsNotSupported(err error) bool {
	e, ok := AsError(err)
	return ok && (e.StatusCode == http.StatusMethodNotAllowed || e.StatusCode == http.StatusNotImplemented ||
		e.Code == "FsNotSupport" || e.Code == "NotImplemented")
}

// DeleteError is one key a batch delete could not remove.
type DeleteError struct {
	Key, VersionID, Code, Message string
}

// DeleteErrors lists the keys of a batch delete that failed; the others were
// deleted.
type DeleteErrors struct {
	Errors []DeleteError
}

func (d *DeleteErrors) Error() string {
	if len(d.Errors) == 0 {
		return "obs DeleteObjects: no errors"
	}
	e := d.Errors[0]
	return fmt.Sprintf("obs DeleteObjects: %d key(s) failed, first %q: %s %s", len(d.Errors), e.Key, e.Code, e.Message)
}
