package obstest

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
)

// apiError is an OBS error response: an HTTP status and an error code.
// Handlers return it; the dispatcher renders it (see writeError).
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// errf builds an apiError with a formatted message.
func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Canned errors, named after their OBS codes.
var (
	errAccessDenied        = errf(http.StatusForbidden, "AccessDenied", "Access Denied")
	errSSECNotApplicable   = errf(http.StatusBadRequest, "InvalidRequest", "The encryption parameters are not applicable to this object.")
	errSignatureMismatch   = errf(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	errInvalidAccessKey    = errf(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	errTimeSkewed          = errf(http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.")
	errInvalidToken        = errf(http.StatusBadRequest, "InvalidToken", "The provided token is malformed or otherwise invalid.")
	errNoSuchBucket        = errf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	errNoSuchKey           = errf(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	errNoSuchVersion       = errf(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
	errNoSuchUpload        = errf(http.StatusNotFound, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	errPrecondition        = errf(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	errInvalidRange        = errf(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range cannot be satisfied.")
	errBadDigest           = errf(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
	errInvalidDigest       = errf(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified was invalid.")
	errMalformedXML        = errf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	errEntityTooSmall      = errf(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
	errEntityTooLarge      = errf(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	errInvalidPart         = errf(http.StatusBadRequest, "InvalidPart", "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.")
	errInvalidPartOrder    = errf(http.StatusBadRequest, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
	errMetadataTooLarge    = errf(http.StatusBadRequest, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.")
	errKeyTooLong          = errf(http.StatusBadRequest, "KeyTooLongError", "Your key is too long.")
	errMissingLength       = errf(http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	errMissingMD5          = errf(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: Content-MD5.")
	errNotAppendable       = errf(http.StatusConflict, "ObjectNotAppendable", "The object is not appendable.")
	errPositionMismatch    = errf(http.StatusConflict, "PositionNotEqualToLength", "The position is not equal to the length of the object.")
	errInvalidObjectState  = errf(http.StatusForbidden, "InvalidObjectState", "The operation is not valid for the object's storage class or state.")
	errRestoreInProgress   = errf(http.StatusConflict, "RestoreAlreadyInProgress", "Object restore is already in progress.")
	errInsufficientStorage = errf(http.StatusForbidden, "InsufficientStorageSpace", "Insufficient storage space: the bucket quota would be exceeded.")
	errMethodNotAllowed    = errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	errNotImplemented      = errf(http.StatusNotImplemented, "NotImplemented", "A header or query you provided implies functionality that is not implemented.")
	errInternal            = errf(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	errSlowDown            = errf(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	errFsNotSupport        = errf(http.StatusMethodNotAllowed, "FsNotSupport", "The operation is not supported on a parallel file system.")
	errNotFsBucket         = errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The operation is only supported on a parallel file system.")
	errBucketNotEmpty      = errf(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty.")
	errBucketOwned         = errf(http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	errInvalidBucketName   = errf(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
	errSHA256Mismatch      = errf(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	errIncompleteBody      = errf(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	errRequestTimeout      = errf(http.StatusBadRequest, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period.")
)

// invalidArgument is the common 400 InvalidArgument with a specific message.
func invalidArgument(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "InvalidArgument", format, args...)
}

// invalidRequest is the common 400 InvalidRequest with a specific message.
func invalidRequest(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "InvalidRequest", format, args...)
}

// noSuchConfig is the 404 returned when a bucket configuration is unset.
func noSuchConfig(code, what string) *apiError {
	return errf(http.StatusNotFound, code, "The %s does not exist", what)
}

// asAPIError maps any error to an apiError (unknown errors become 500, body
// read failures 400 RequestTimeout / IncompleteBody).
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return errf(http.StatusInternalServerError, "InternalError", "%v", err)
}

// errorBody is the XML document of an error response.
type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

// writeError renders e as OBS does: XML body, or (for HEAD) no body but
// x-obs-error-code / x-obs-error-message headers.
func (rc *reqCtx) writeError(e *apiError) {
	h := rc.w.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Accept-Ranges", "Content-Disposition", "Content-Encoding", "Cache-Control", "Expires", "Content-Language"} {
		h.Del(k)
	}
	if rc.r.Method == http.MethodHead {
		rc.setHdr("error-code", e.Code)
		rc.setHdr("error-message", e.Message)
		h.Del("Content-Type")
		h.Set("Content-Length", "0")
		rc.w.WriteHeader(e.Status)
		return
	}
	rc.writeErrorStatus(e, e.Status)
}

// writeErrorStatus sends e's XML document with the given HTTP status (the
// error's own, or 200 for an error inside a successful response).
func (rc *reqCtx) writeErrorStatus(e *apiError, status int) {
	body := errorBody{Code: e.Code, Message: e.Message, Resource: rc.r.URL.Path, RequestID: rc.id, HostID: rc.hostID}
	out, _ := xml.Marshal(body)
	out = append([]byte(xml.Header), out...)
	h := rc.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", fmt.Sprint(len(out)))
	rc.w.WriteHeader(status)
	_, _ = rc.w.Write(out)
}
