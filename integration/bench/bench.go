package main

// Rows, limits and the report. A row is one measurement; limits are the
// direct-client measurements the mount rows are divided by.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the table.
type row struct {
	Mode     string  `json:"mode"` // loopback or link
	Name     string  `json:"name"`
	Tool     string  `json:"tool"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Ratio    float64 `json:"ratio,omitempty"` // to the limit: 1 = as fast as direct
	LimitOf  string  `json:"limit_of,omitempty"`
	Requests string  `json:"requests,omitempty"`
	Note     string  `json:"note,omitempty"`
	Err      string  `json:"error,omitempty"`
}

// limit is a direct measurement rows are compared with.
type limit struct {
	value        float64
	higherBetter bool // rates; false for durations
}

// bench holds the state of one run.
type bench struct {
	cfg    config
	emu    *emulator
	work   string
	ctx    context.Context
	out    io.Writer
	passwd string
	seq    int               // mountpoint counter
	broken map[string]string // tool -> why its mount failed; its later rows are skipped

	rows   []row
	limits map[string]limit
	block  []byte // random bytes for bodies, PartSize long
}

// add records r and shows progress on stderr.
func (b *bench) add(r row) {
	b.rows = append(b.rows, r)
	if r.Err != "" {
		fmt.Fprintf(os.Stderr, "  %-34s %-14s failed: %s\n", r.Name, r.Tool, r.Err)
		return
	}
	fmt.Fprintf(os.Stderr, "  %-34s %-14s %s %s %s\n", r.Name, r.Tool, fmtValue(r.Value), r.Unit, r.Requests)
}

// fail records a failed row.
func (b *bench) fail(name, tool string, err error) {
	b.add(row{Name: name, Tool: tool, Err: oneLine(err.Error())})
}

// setLimit remembers a direct measurement under key.
func (b *bench) setLimit(key string, v float64, higherBetter bool) {
	if b.limits == nil {
		b.limits = map[string]limit{}
	}
	if old, ok := b.limits[key]; ok && old.higherBetter == higherBetter {
		if (higherBetter && old.value >= v) || (!higherBetter && old.value <= v) {
			return // keep the best direct result as the limit
		}
	}
	b.limits[key] = limit{v, higherBetter}
}

// ratio fills r.Ratio from the limit named key.
func (b *bench) ratio(r *row, key string) {
	l, ok := b.limits[key]
	if !ok || l.value == 0 || r.Value == 0 {
		return
	}
	r.LimitOf = key
	if l.higherBetter {
		r.Ratio = r.Value / l.value
	} else {
		r.Ratio = l.value / r.Value
	}
}

// guard runs fn, turning a panic into a failed row so the run goes on.
func (b *bench) guard(name, tool string, fn func() error) {
	defer func() {
		if p := recover(); p != nil {
			b.fail(name, tool, fmt.Errorf("panic: %v", p))
		}
	}()
	if b.ctx.Err() != nil {
		b.fail(name, tool, b.ctx.Err())
		return
	}
	if err := fn(); err != nil {
		b.fail(name, tool, err)
	}
}

// runAll sets up the bucket, measures the limits, then every mounter.
func (b *bench) runAll() {
	b.passwd = filepath.Join(b.scratch("etc"), "passwd")
	if err := os.WriteFile(b.passwd, []byte(benchAccessKey+":"+benchSecretKey+"\n"), 0o600); err != nil {
		b.fail("setup", "-", err)
		return
	}
	b.block = randomBytes(int(b.cfg.PartSize))
	if err := b.setup(); err != nil {
		b.fail("setup", "direct", err)
		return
	}
	b.directRows()
	for _, m := range b.mounters(b.cfg.Tools) {
		b.mountRows(m)
	}
}

// printTable writes the table.
func (b *bench) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight*0)
	fmt.Fprintln(tw, "ROW\tTOOL\tVALUE\tUNIT\tVS LIMIT\tREQUESTS\tNOTE")
	for _, r := range b.rows {
		if r.Err != "" {
			fmt.Fprintf(tw, "%s\t%s\tfailed\t\t\t\tfailed: %s\n", r.Name, r.Tool, r.Err)
			continue
		}
		ratio := "-"
		if r.Ratio != 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Tool, fmtValue(r.Value), r.Unit, ratio, r.Requests, r.Note)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "VS LIMIT: the same measurement made directly with obsclient in this run = 1.00 (rates: value/limit; durations: limit/value).")
}

// writeJSON writes the rows to path ("" = nothing).
func writeJSON(path string, cfg config, rows []row) error {
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(struct {
		Time   time.Time `json:"time"`
		Config config    `json:"config"`
		Rows   []row     `json:"rows"`
	}{time.Now().UTC(), cfg, rows}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// fmtValue prints a number with 3 significant digits or so.
func fmtValue(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// fmtRequests renders the interesting request counts of a stats delta.
func fmtRequests(s stats) string {
	short := map[string]string{"ListObjects": "LIST", "HeadObject": "HEAD", "GetObject": "GET", "PutObject": "PUT",
		"UploadPart": "PART", "CopyObject": "COPY", "DeleteObject": "DEL", "InitiateMultipartUpload": "INIT",
		"CompleteMultipartUpload": "COMPLETE", "AppendObject": "APPEND", "SetObjectMetadata": "META"}
	var parts []string
	for op, o := range s {
		name := short[op]
		if name == "" {
			name = op
		}
		parts = append(parts, fmt.Sprintf("%s=%d", name, o.Requests))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// oneLine keeps the first line of a message, trimmed to a table cell.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// mibps converts bytes over a duration to MiB/s.
func mibps(n int64, d time.Duration) float64 {
	return float64(n) / (1 << 20) / d.Seconds()
}

// perSec is count over a duration.
func perSec(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
