package main

// Write rows that measure economy rather than speed: what an append and a
// small edit cost on the wire. The emulator's byte counters say how many
// bytes each mounter sent; obsfs should send O(changed bytes), not O(file).

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

const (
	appendCount = 1000 // appends of appendSize bytes, each followed by fsync
	appendSize  = 100
	// appendBudget bounds the append row for mounters that re-upload the
	// whole file at every fsync: the row reports what it did in that time.
	appendBudget = 20 * time.Second
)

// appendBase is the size of the file the appends go to: 100 MiB, or the
// big object's size when that is smaller (-quick).
func (b *bench) appendBase() int64 { return min(100<<20, b.cfg.Size) }

// appendRow creates a file with O_APPEND (obsfs makes it an OBS appendable
// object), fills it to appendBase, then appends appendSize bytes with an
// fsync after each, appendCount times or until appendBudget is spent, and
// reports the bytes the server received per append.
func (b *bench) appendRow(m mounter, mt *mount) error {
	p := filepath.Join(mt.Dir, "append-"+m.Name+".log")
	defer os.Remove(p)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	for off := int64(0); off < b.appendBase(); off += 1 << 20 {
		if _, err := f.Write(b.block[off%b.cfg.PartSize:][:min(1<<20, b.appendBase()-off)]); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	line := []byte(fmt.Sprintf("%0*d\n", appendSize-1, 0))
	done := 0
	d, st, err := b.measure(func() error {
		start := time.Now()
		for ; done < appendCount && time.Since(start) < appendBudget; done++ {
			if _, err := f.Write(line); err != nil {
				return err
			}
			if err := f.Sync(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sent := bytesIn(st)
	b.add(row{Name: "append 100 B + fsync", Tool: m.Name, Value: float64(sent) / float64(done), Unit: "B/append",
		Requests: fmtRequests(st),
		Note: fmt.Sprintf("%d appends to a %d MiB file in %.2fs (%.0f/s); %d bytes sent in all",
			done, b.appendBase()>>20, d.Seconds(), float64(done)/d.Seconds(), sent)})
	return nil
}

// editRow changes one byte in the middle of the big object and closes the
// file: the bytes sent should stay within about two parts, not the file.
func (b *bench) editRow(m mounter, mt *mount) error {
	p := filepath.Join(mt.Dir, bigKey)
	d, st, err := b.measure(func() error {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		if _, err := f.WriteAt([]byte{'x'}, b.cfg.Size/2); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	if err != nil {
		return err
	}
	sent := bytesIn(st)
	b.add(row{Name: "edit 1 byte mid-file + close", Tool: m.Name, Value: float64(sent) / (1 << 20), Unit: "MiB sent",
		Requests: fmtRequests(st),
		Note:     fmt.Sprintf("%d MiB file, %.2fs", b.cfg.Size>>20, d.Seconds())})
	return nil
}

// bytesIn sums the request bodies the server received.
func bytesIn(s stats) int64 {
	var n int64
	for _, o := range s {
		n += o.BytesIn
	}
	return n
}

// openFileBytes sums the disk space allocated to the regular files process
// pid holds open: the write spool of obsfs (an unlinked file under
// use_cache), s3fs's temporary files, rclone's VFS cache files.
func openFileBytes(pid int) int64 {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		}
	}
	return n
}

// samplePeak calls fn every 50 ms until the returned stop is called, which
// returns the largest value seen.
func samplePeak(fn func() int64) (stop func() int64) {
	done := make(chan struct{})
	result := make(chan int64)
	go func() {
		peak := fn()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				result <- max(peak, fn())
				return
			case <-t.C:
				peak = max(peak, fn())
			}
		}
	}()
	return func() int64 { close(done); return <-result }
}
