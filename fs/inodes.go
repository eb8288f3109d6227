package fs

import "strings"

// Inode numbers: a path gets a number the first time it is seen and keeps
// it while it exists; a rename carries the numbers of the renamed tree to
// the new paths, an unlink frees the path so a new file there gets a new
// number (the kernel must not mistake it for the deleted one).

// inoOf returns the inode number of path p, assigning one if needed.
func (f *FS) inoOf(p string) uint64 {
	f.inoMu.Lock()
	defer f.inoMu.Unlock()
	if ino, ok := f.inos[p]; ok {
		return ino
	}
	ino := f.nextIno
	f.nextIno++
	f.inos[p] = ino
	return ino
}

// forgetIno drops path p (and, for a directory, every path under it).
func (f *FS) forgetIno(p string, dir bool) {
	f.inoMu.Lock()
	defer f.inoMu.Unlock()
	delete(f.inos, p)
	if dir {
		for k := range f.inos {
			if strings.HasPrefix(k, p+"/") {
				delete(f.inos, k)
			}
		}
	}
}

// moveIno carries the numbers of from (and its subtree) to to, replacing
// whatever to had.
func (f *FS) moveIno(from, to string) {
	f.inoMu.Lock()
	defer f.inoMu.Unlock()
	for k := range f.inos {
		if k == to || strings.HasPrefix(k, to+"/") {
			delete(f.inos, k)
		}
	}
	moved := map[string]uint64{}
	for k, ino := range f.inos {
		if k == from || strings.HasPrefix(k, from+"/") {
			moved[to+k[len(from):]] = ino
			delete(f.inos, k)
		}
	}
	for k, ino := range moved {
		f.inos[k] = ino
	}
}
