package main

// The rows measured through a mount. Each group starts from a fresh mount
// (cold caches, empty page cache for the new superblock) and unmounts at
// the end, so one failing group leaves the next untouched.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// mountRows measures every row for one mounter.
func (b *bench) mountRows(m mounter) {
	b.withMount(m, "seq read", b.seqReadRows)
	if m.Name == "obsfs" {
		// The disk block cache costs a file per 1 MiB block written while
		// reading.
		b.withMount(m.withOption("obsfs use_cache", func(dir string) string {
			return "use_cache=" + b.scratch("cache-"+filepath.Base(dir))
		}), "seq read", b.seqReadRows)
	}
	for _, n := range []int{4 << 10, 1 << 20} {
		b.withMount(m, randName(n), func(m mounter, mt *mount) error { return b.randomRows(m, mt, n) })
	}
	b.withMount(m, "ls -l", b.lsRow)
	b.withMount(m, "find", b.findRow)
	if m.Name == "obsfs" {
		// readdir types small objects from the listing: find -type f of the
		// 1-byte tree files sends no HEAD (lookups still would).
		b.withMount(m.withOption("obsfs trust_listing", func(string) string { return "trust_listing" }), "find", b.findRow)
	}
	b.withMount(m, "stat", b.statRows)
	b.withMount(m, "seq write", b.seqWriteRow)
	b.withMount(m, "small files", b.smallCreateRow)
	b.withMount(m, "small files read back", b.smallReadRow)
	b.withMount(m, "tar x", b.tarRow)
	b.withMount(m, "rsync -a", b.rsyncRow)
	b.withMount(m, "echo overwrite", b.overwriteRow)
	b.withMount(m, "append", b.appendRow)
	b.withMount(m, "edit", b.editRow) // last: it changes the big object
}

// withMount mounts, runs fn, unmounts; a failure anywhere is one failed row.
// A tool that cannot mount at all fails one row, "mount", and is skipped.
func (b *bench) withMount(m mounter, name string, fn func(mounter, *mount) error) {
	if _, ok := b.broken[m.Name]; ok {
		return
	}
	b.guard(name, m.Name, func() error {
		mt, err := b.mount(m)
		if err != nil {
			if b.broken == nil {
				b.broken = map[string]string{}
			}
			b.broken[m.Name] = err.Error()
			b.fail("mount (all rows)", m.Name, err)
			return nil
		}
		err = fn(m, mt)
		if uerr := mt.Unmount(); uerr != nil && err == nil {
			err = fmt.Errorf("unmount: %w", uerr)
		}
		if err != nil {
			if tail := lastLine(mt.log.String()); tail != "" {
				err = fmt.Errorf("%w (log: %s)", err, tail)
			}
		}
		return err
	})
}

// measure runs fn and returns its duration and the requests it caused.
func (b *bench) measure(fn func() error) (time.Duration, stats, error) {
	before, serr := b.emu.Stats()
	start := time.Now()
	err := fn()
	d := time.Since(start)
	after, serr2 := b.emu.Stats()
	if serr != nil || serr2 != nil {
		return d, nil, err
	}
	return d, after.sub(before), err
}

// seqReadRows reads the big file twice (cold then warm) and reports the
// peak RSS of the mount process.
func (b *bench) seqReadRows(m mounter, mt *mount) error {
	p := filepath.Join(mt.Dir, bigKey)
	for _, pass := range []string{"cold", "warm"} {
		var n int64
		cpu0 := mt.CPU()
		d, st, err := b.measure(func() (err error) { n, err = readAll(p); return err })
		if err != nil {
			return fmt.Errorf("%s read: %w", pass, err)
		}
		if n != b.cfg.Size {
			return fmt.Errorf("%s read returned %d bytes, want %d", pass, n, b.cfg.Size)
		}
		r := row{Name: "seq read " + pass, Tool: m.Name, Value: mibps(n, d), Unit: "MiB/s", Requests: fmtRequests(st),
			Note: cpuPerGiB(mt.CPU()-cpu0, n)}
		b.ratio(&r, "read")
		b.add(r)
	}
	rss, err := mt.PeakRSS()
	if err != nil {
		return fmt.Errorf("peak RSS: %w", err)
	}
	b.add(row{Name: "peak RSS during seq read", Tool: m.Name, Value: float64(rss) / (1 << 20), Unit: "MiB",
		Note: fmt.Sprintf("VmHWM; file %d MiB", b.cfg.Size>>20)})
	return nil
}

// readAll reads a file with 1 MiB reads and returns the byte count.
func readAll(p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.CopyBuffer(io.Discard, onlyReader{f}, make([]byte, 1<<20))
}

// onlyReader hides WriterTo/ReaderFrom so CopyBuffer uses our buffer size.
type onlyReader struct{ io.Reader }

// randomRows does bounded random preads of n bytes, then replays them warm.
func (b *bench) randomRows(m mounter, mt *mount, n int) error {
	f, err := os.Open(filepath.Join(mt.Dir, bigKey))
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, n)
	pread := func(off int64) error {
		got, err := f.ReadAt(buf, off)
		if err == nil && got != n {
			err = fmt.Errorf("pread returned %d bytes, want %d", got, n)
		}
		return err
	}
	offs := b.offsets(n)
	for _, pass := range []string{"cold", "warm"} {
		var done int
		d, st, err := b.measure(func() (err error) { done, _, err = bounded(b.ctx, offs, b.cfg.RandTime, pread); return err })
		if err != nil {
			return fmt.Errorf("%s: %w", pass, err)
		}
		offs = offs[:done] // warm replays exactly the cold offsets
		r := row{Name: randName(n) + " " + pass, Tool: m.Name, Value: perSec(done, d), Unit: "IOPS",
			Requests: fmtRequests(st), Note: fmt.Sprintf("%d reads", done)}
		b.ratio(&r, randName(n))
		b.add(r)
	}
	return nil
}

// lsRow times ls -l of the directory of cfg.Files objects.
func (b *bench) lsRow(m mounter, mt *mount) error {
	return b.commandRow(m, "ls -l", "ls", b.cfg.Files+1, "ls", "-l", filepath.Join(mt.Dir, "ls"))
}

// findRow times find over the tree of cfg.Files files in cfg.Dirs dirs.
func (b *bench) findRow(m mounter, mt *mount) error {
	return b.commandRow(m, "find", "find", b.cfg.Files, "find", filepath.Join(mt.Dir, "tree"), "-type", "f")
}

// commandRow runs argv, checks its line count, and adds a duration row.
func (b *bench) commandRow(m mounter, name, limitKey string, wantLines int, argv ...string) error {
	var out []byte
	d, st, err := b.measure(func() (err error) {
		out, err = exec.CommandContext(b.ctx, argv[0], argv[1:]...).Output()
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	if got := bytes.Count(out, []byte("\n")); got != wantLines {
		return fmt.Errorf("%s printed %d lines, want %d", argv[0], got, wantLines)
	}
	r := row{Name: name, Tool: m.Name, Value: d.Seconds(), Unit: "s", Requests: fmtRequests(st),
		Note: fmt.Sprintf("%d files", b.cfg.Files)}
	b.ratio(&r, limitKey)
	b.add(r)
	return nil
}

// statRows lstat()s the stat files twice on a fresh mount.
func (b *bench) statRows(m mounter, mt *mount) error {
	for _, pass := range []string{"1st", "2nd"} {
		d, st, err := b.measure(func() error {
			for i := range b.cfg.StatFiles {
				if _, err := os.Lstat(filepath.Join(mt.Dir, b.statKey(i))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		r := row{Name: fmt.Sprintf("stat %d files, %s pass", b.cfg.StatFiles, pass), Tool: m.Name, Value: d.Seconds(),
			Unit: "s", Requests: fmtRequests(st)}
		b.ratio(&r, "stat")
		b.add(r)
	}
	return nil
}

// seqWriteRow writes cfg.Size bytes through the mount; close is included
// (it is the durability point).
func (b *bench) seqWriteRow(m mounter, mt *mount) error {
	p := filepath.Join(mt.Dir, "write-"+m.Name+".bin")
	defer os.Remove(p)
	stopDisk := samplePeak(func() int64 { return openFileBytes(mt.cmd.Process.Pid) })
	cpu0 := mt.CPU()
	d, st, err := b.measure(func() error {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		for off := int64(0); off < b.cfg.Size; off += 1 << 20 {
			n := min(1<<20, b.cfg.Size-off)
			if _, err := f.Write(b.block[off%b.cfg.PartSize:][:n]); err != nil {
				f.Close()
				return err
			}
		}
		return f.Close()
	})
	spool := stopDisk()
	if err != nil {
		return err
	}
	r := row{Name: "seq write (incl. close)", Tool: m.Name, Value: mibps(b.cfg.Size, d), Unit: "MiB/s", Requests: fmtRequests(st),
		Note: cpuPerGiB(mt.CPU()-cpu0, b.cfg.Size)}
	if m.Name == "rclone-writes" {
		r.Note += "; uploads after close (async)"
	}
	b.ratio(&r, "write")
	b.add(r)
	rss, err := mt.PeakRSS()
	if err != nil {
		return fmt.Errorf("peak RSS: %w", err)
	}
	b.add(row{Name: "peak RSS during seq write", Tool: m.Name, Value: float64(rss) / (1 << 20), Unit: "MiB",
		Note: fmt.Sprintf("VmHWM; file %d MiB", b.cfg.Size>>20)})
	b.add(row{Name: "peak local disk during write", Tool: m.Name, Value: float64(spool) / (1 << 20), Unit: "MiB",
		Note: "allocated blocks of the files the mounter holds open (spool, temp, cache)"})
	return nil
}

// smallDir is where a mounter's small files go.
func smallDir(mt *mount, m mounter) string { return filepath.Join(mt.Dir, "small-"+m.Name) }

// smallCreateRow creates SmallFiles files of SmallSize bytes, one at a time.
func (b *bench) smallCreateRow(m mounter, mt *mount) error {
	dir := smallDir(mt, m)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	n, size := b.cfg.SmallFiles, b.cfg.SmallSize
	d, st, err := b.measure(func() error {
		for i := range n {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)), b.block[:size], 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r := row{Name: fmt.Sprintf("small %d B create", size), Tool: m.Name, Value: perSec(n, d), Unit: "files/s",
		Requests: fmtRequests(st), Note: "create+write+close"}
	b.ratio(&r, "small-put")
	b.add(r)
	return nil
}

// smallReadRow reads the small files back on a fresh mount.
func (b *bench) smallReadRow(m mounter, mt *mount) error {
	dir := smallDir(mt, m)
	n, size := b.cfg.SmallFiles, b.cfg.SmallSize
	d, st, err := b.measure(func() error {
		for i := range n {
			data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)))
			if err != nil {
				return err
			}
			if !bytes.Equal(data, b.block[:size]) {
				return fmt.Errorf("f%05d: %d bytes read back differ from the %d written", i, len(data), size)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r := row{Name: fmt.Sprintf("small %d B read back", size), Tool: m.Name, Value: perSec(n, d), Unit: "files/s",
		Requests: fmtRequests(st), Note: "fresh mount"}
	b.ratio(&r, "small-get")
	b.add(r)
	return nil
}
