package obstest

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// RequestRecord describes one served API request (for tests that assert
// request sequences: "this read sent If-Match", "no HEAD after LIST").
type RequestRecord struct {
	Time     time.Time     `json:"time"`
	Duration time.Duration `json:"duration"`
	Op       string        `json:"op"`
	Method   string        `json:"method"`
	Bucket   string        `json:"bucket,omitempty"`
	Key      string        `json:"key,omitempty"`
	Query    string        `json:"query,omitempty"` // raw query as sent
	Status   int           `json:"status"`
	BytesIn  int64         `json:"bytes_in"`
	BytesOut int64         `json:"bytes_out"`
	// Header holds the request headers (Authorization removed).
	Header http.Header `json:"header,omitempty"`
}

// maxJournal bounds the request journal (oldest entries are dropped).
const maxJournal = 10000

// journal keeps the most recent requests.
type journal struct {
	mu      sync.Mutex
	records []RequestRecord // GUARDED_BY(mu); oldest first
}

func (j *journal) add(r RequestRecord) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.records) == maxJournal {
		copy(j.records, j.records[1:])
		j.records = j.records[:maxJournal-1]
	}
	j.records = append(j.records, r)
}

// Requests returns the journal of served API requests, oldest first (at
// most the last 10000; ResetStats clears it).
func (s *Server) Requests() []RequestRecord {
	s.journal.mu.Lock()
	defer s.journal.mu.Unlock()
	return append([]RequestRecord(nil), s.journal.records...)
}

// record adds rc to the journal.
func (rc *reqCtx) record(op string, out int64) {
	h := rc.r.Header.Clone()
	h.Del("Authorization")
	for name := range h { // SSE-C keys: the journal shows that one was sent, not which
		if strings.HasSuffix(strings.ToLower(name), "-customer-key") {
			h.Set(name, "<redacted>")
		}
	}
	rc.s.journal.add(RequestRecord{Time: rc.started, Duration: time.Since(rc.started), Op: op,
		Method: rc.r.Method, Bucket: rc.bucketName, Key: rc.key, Query: rc.r.URL.RawQuery,
		Status: rc.w.status, BytesIn: rc.in.n.Load(), BytesOut: out, Header: h})
}

// writeJSON answers a control request with v as a JSON document.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// serveRequests answers GET /-/requests (JSON journal).
func (s *Server) serveRequests(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	writeJSON(w, s.Requests())
}
