package main

// Rows of many small files arriving the way programs write them: tar x and
// rsync -a of a tree into a new directory, and a shell overwrite. On a real
// link, requests per file decide the speed, so each row reports them.

import (
	"archive/tar"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	treeDirs       = 10  // subdirectories of the source tree
	overwriteCount = 100 // echo x > f, repeated
)

// srcTree writes the local source tree (SmallFiles files of SmallSize
// bytes in treeDirs directories) and its tarball once per run.
func (b *bench) srcTree() (dir, tarball string, err error) {
	dir = filepath.Join(b.work, "src-tree")
	tarball = filepath.Join(b.work, "src-tree.tar")
	if _, err := os.Stat(tarball); err == nil {
		return dir, tarball, nil
	}
	f, err := os.Create(tarball)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	now := time.Now().Truncate(time.Second)
	for d := range treeDirs {
		name := fmt.Sprintf("d%02d", d)
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return "", "", err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: now}); err != nil {
			return "", "", err
		}
	}
	for i := range b.cfg.SmallFiles {
		name := fmt.Sprintf("d%02d/f%05d", i%treeDirs, i)
		body := b.block[i%64 : i%64+b.cfg.SmallSize]
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return "", "", err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: now}); err != nil {
			return "", "", err
		}
		if _, err := tw.Write(body); err != nil {
			return "", "", err
		}
	}
	return dir, tarball, tw.Close()
}

// tarRow extracts the tarball into a new directory of the mount.
func (b *bench) tarRow(m mounter, mt *mount) error {
	_, tarball, err := b.srcTree()
	if err != nil {
		return err
	}
	dst := filepath.Join(mt.Dir, "tarx-"+safeName(m.Name))
	return b.treeRow(m, "tar x small files", dst, func() error {
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
		return runQuiet(b, "tar", "-xf", tarball, "-C", dst)
	})
}

// rsyncRow copies the source tree into a new directory with rsync -a
// (a temporary file and a rename per file, then chmod/utimes).
func (b *bench) rsyncRow(m mounter, mt *mount) error {
	src, _, err := b.srcTree()
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("rsync"); err != nil {
		return fmt.Errorf("rsync is not installed")
	}
	dst := filepath.Join(mt.Dir, "rsync-"+safeName(m.Name))
	return b.treeRow(m, "rsync -a small files", dst, func() error {
		return runQuiet(b, "rsync", "-a", src+"/", dst+"/")
	})
}

// treeRow measures fn, checks the tree arrived whole, and adds the row.
func (b *bench) treeRow(m mounter, name, dst string, fn func() error) error {
	d, st, err := b.measure(fn)
	if err != nil {
		return err
	}
	n := b.cfg.SmallFiles
	if got := countFiles(dst); got != n {
		return fmt.Errorf("%d files arrived, want %d", got, n)
	}
	r := row{Name: name, Tool: m.Name, Value: perSec(n, d), Unit: "files/s", Requests: fmtRequests(st),
		Note: fmt.Sprintf("%d files of %d B in %d new dirs, %.2fs; %s", n, b.cfg.SmallSize, treeDirs, d.Seconds(), perFile(st, n))}
	b.ratio(&r, "small-put")
	b.add(r)
	return nil
}

// overwriteRow runs `echo N > f` overwriteCount times in one shell on an
// existing file: what a shell redirection costs.
func (b *bench) overwriteRow(m mounter, mt *mount) error {
	p := filepath.Join(mt.Dir, "overwrite-"+safeName(m.Name))
	if err := os.WriteFile(p, []byte("start\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(p)
	script := `i=0; while [ $i -lt "$2" ]; do i=$((i+1)); echo "$i" > "$1"; done`
	d, st, err := b.measure(func() error {
		return runQuiet(b, "sh", "-c", script, "sh", p, strconv.Itoa(overwriteCount))
	})
	if err != nil {
		return err
	}
	if got, err := os.ReadFile(p); err != nil || strings.TrimSpace(string(got)) != strconv.Itoa(overwriteCount) {
		return fmt.Errorf("after the overwrites the file holds %q (%v)", got, err)
	}
	b.add(row{Name: "echo x > f overwrite", Tool: m.Name, Value: perSec(overwriteCount, d), Unit: "writes/s",
		Requests: fmtRequests(st), Note: fmt.Sprintf("%d overwrites of one file by sh; %s", overwriteCount, perFile(st, overwriteCount))})
	return nil
}

// runQuiet runs argv and returns its error with its output.
func runQuiet(b *bench, argv ...string) error {
	out, err := exec.CommandContext(b.ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", argv[0], err, lastLine(string(out)))
	}
	return nil
}

// countFiles counts the regular files under dir.
func countFiles(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// perFile is "N.N req/file".
func perFile(s stats, n int) string {
	var total int64
	for _, o := range s {
		total += o.Requests
	}
	return fmt.Sprintf("%.2f req/file", float64(total)/float64(n))
}

// safeName makes a mounter name usable in a path.
func safeName(s string) string { return strings.ReplaceAll(s, " ", "-") }
