package obstest

import (
	"maps"
	"net/http"
	"sync"
	"time"
)

// OpStats counts the requests of one operation.
type OpStats struct {
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"` // responses with status >= 400
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
}

// Stats is a snapshot of per-operation counters keyed by operation name
// (GetObject, HeadObject, PutObject, CopyObject, ListObjects, UploadPart, …).
type Stats map[string]OpStats

// Total sums all operations.
func (s Stats) Total() OpStats {
	var t OpStats
	for _, o := range s {
		t.Requests += o.Requests
		t.Errors += o.Errors
		t.BytesIn += o.BytesIn
		t.BytesOut += o.BytesOut
	}
	return t
}

// statsRegistry accumulates OpStats.
type statsRegistry struct {
	mu  sync.Mutex
	ops map[string]OpStats // GUARDED_BY(mu)
}

func (r *statsRegistry) record(op string, in, out int64, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ops == nil {
		r.ops = map[string]OpStats{}
	}
	o := r.ops[op]
	o.Requests++
	o.BytesIn += in
	o.BytesOut += out
	if status >= 400 {
		o.Errors++
	}
	r.ops[op] = o
}

// Stats returns a snapshot of the per-operation counters.
func (s *Server) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := Stats(maps.Clone(s.stats.ops))
	if out == nil {
		out = Stats{}
	}
	return out
}

// ResetStats zeroes all counters and clears the request journal.
// SettledStats returns the counters once they have stopped changing for
// one 5 ms poll (at most 100 polls): requests a client issued in the
// background, such as a filesystem's concurrent HEADs, are counted by the
// time it returns. Tests that assert request counts read them here.
func (s *Server) SettledStats() Stats {
	prev := s.Stats()
	for range 100 {
		time.Sleep(5 * time.Millisecond)
		cur := s.Stats()
		if maps.Equal(prev, cur) {
			return cur
		}
		prev = cur
	}
	return prev
}

func (s *Server) ResetStats() {
	s.stats.mu.Lock()
	s.stats.ops = nil
	s.stats.mu.Unlock()
	s.journal.mu.Lock()
	s.journal.records = nil
	s.journal.mu.Unlock()
}

// serveStats answers GET /-/stats (JSON snapshot) and DELETE /-/stats (reset).
func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, s.Stats())
	case http.MethodDelete:
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}
