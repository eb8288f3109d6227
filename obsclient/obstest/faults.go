package obstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// FaultKind says how a matching request fails.
type FaultKind string

// Fault kinds.
const (
	FaultStatus500 FaultKind = "500"      // 500 InternalError
	FaultSlowDown  FaultKind = "slowdown" // 503 SlowDown
	FaultReset     FaultKind = "reset"    // connection closed (RST) before any response
	FaultDelay     FaultKind = "delay"    // sleep Delay, then serve normally
	FaultTruncate  FaultKind = "truncate" // full headers, body cut short, connection closed
	FaultStatus    FaultKind = "status"   // arbitrary Status/Code (e.g. 429 TooManyRequests)
	// FaultError200 answers 200 OK with an <Error> document (Code, default
	// InternalError), as OBS may for CopyObject, UploadPartCopy and
	// CompleteMultipartUpload once it has started streaming the response.
	FaultError200 FaultKind = "error200"
	// FaultResetAfter performs the operation, then closes the connection
	// instead of answering: the client cannot tell whether it happened
	// (append, complete, copy…) and must check.
	FaultResetAfter FaultKind = "reset-after"
)

// Fault makes the next Count requests matching Op/Bucket/KeyPrefix fail.
type Fault struct {
	Op        string        `json:"op,omitempty"`         // operation name; "" = any
	Bucket    string        `json:"bucket,omitempty"`     // "" = any
	KeyPrefix string        `json:"key_prefix,omitempty"` // "" = any key
	Count     int           `json:"count,omitempty"`      // 0 = 1; negative = until cleared
	Kind      FaultKind     `json:"kind"`
	Delay     time.Duration `json:"delay,omitempty"`       // FaultDelay (JSON: nanoseconds)
	After     int64         `json:"after_bytes,omitempty"` // FaultTruncate: body bytes sent (0 = half)
	Status    int           `json:"status,omitempty"`      // FaultStatus
	Code      string        `json:"code,omitempty"`        // FaultStatus
}

func (f *Fault) matches(op, bucketName, key string) bool {
	return (f.Op == "" || f.Op == op) && (f.Bucket == "" || f.Bucket == bucketName) &&
		strings.HasPrefix(key, f.KeyPrefix)
}

// faultSet holds pending faults.
type faultSet struct {
	mu     sync.Mutex
	faults []*Fault // GUARDED_BY(mu); remaining counts in Count
}

// take consumes one use of the first fault matching the request.
func (fs *faultSet) take(op, bucketName, key string) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if !f.matches(op, bucketName, key) {
			continue
		}
		got := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				fs.faults = append(fs.faults[:i], fs.faults[i+1:]...)
			}
		}
		return &got
	}
	return nil
}

// InjectFault queues f.
func (s *Server) InjectFault(f Fault) error {
	switch f.Kind {
	case FaultStatus500, FaultSlowDown, FaultReset, FaultDelay, FaultTruncate, FaultError200, FaultResetAfter:
	case FaultStatus:
		if f.Status < 400 || f.Status > 599 {
			return fmt.Errorf("fault status %d out of range", f.Status)
		}
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.Count == 0 {
		f.Count = 1
	}
	s.faults.mu.Lock()
	s.faults.faults = append(s.faults.faults, &f)
	s.faults.mu.Unlock()
	return nil
}

// ClearFaults drops all pending faults.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.faults = nil
	s.faults.mu.Unlock()
}

// Faults returns the pending faults (remaining counts).
func (s *Server) Faults() []Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make([]Fault, len(s.faults.faults))
	for i, f := range s.faults.faults {
		out[i] = *f
	}
	return out
}

// applyFault injects a pending fault into rc; it reports whether the
// request is finished.
func (s *Server) applyFault(rc *reqCtx) bool {
	f := s.faults.take(rc.op, rc.bucketName, rc.key)
	if f == nil {
		return false
	}
	switch f.Kind {
	case FaultDelay:
		time.Sleep(f.Delay)
		return false
	case FaultStatus500:
		rc.fail(errInternal)
	case FaultSlowDown:
		rc.fail(errSlowDown)
	case FaultStatus:
		code := f.Code
		if code == "" {
			code = strings.ReplaceAll(http.StatusText(f.Status), " ", "")
		}
		rc.fail(errf(f.Status, code, "injected fault"))
	case FaultReset:
		resetConn(rc.w)
	case FaultError200:
		code := f.Code
		if code == "" {
			code = "InternalError"
		}
		rc.writeErrorStatus(errf(http.StatusInternalServerError, code, "injected error inside a 200 response"), http.StatusOK)
	case FaultResetAfter:
		rc.w.swallow = true
		return false
	case FaultTruncate:
		rc.w.truncate = true
		rc.w.truncateAt = f.After // 0: half the Content-Length, decided at WriteHeader
		return false
	}
	return true
}

// resetConn closes the client connection abruptly (RST where possible).
func resetConn(w *respWriter) {
	conn, _, err := w.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(interface{ SetLinger(int) error }); ok { // *net.TCPConn or a paced link
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// serveFaults answers POST /-/faults (JSON Fault or list), GET (pending
// faults) and DELETE (clear).
func (s *Server) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, s.Faults())
	case http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPost:
		s.postFaults(w, r)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (s *Server) postFaults(w http.ResponseWriter, r *http.Request) {
	var list []Fault
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	raw := json.RawMessage{}
	if err := dec.Decode(&raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		var one Fault
		if err := json.Unmarshal(raw, &one); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		list = []Fault{one}
	}
	for _, f := range list {
		if err := s.InjectFault(f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
