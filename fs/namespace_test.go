package fs

import (
	"fmt"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/obsfs/obsfs/obsclient"
)

func TestNormalizePrefix(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{"", "", false}, {"/", "", false}, {"a", "a/", false}, {"/a/b/", "a/b/", false},
		{"a//b", "", true}, {"a/../b", "", true}, {"a/./b", "", true},
	} {
		got, err := normalizePrefix(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("normalizePrefix(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		prefix, path, file, dir string
	}{
		{"", "", "", ""},
		{"", "a", "a", "a/"},
		{"", "a/b", "a/b", "a/b/"},
		{"p/", "", "p/", "p/"},
		{"p/", "a/b", "p/a/b", "p/a/b/"},
	} {
		ns := namespace{prefix: tc.prefix}
		if tc.path != "" {
			if got := ns.fileKey(tc.path); got != tc.file {
				t.Errorf("%q fileKey(%q) = %q", tc.prefix, tc.path, got)
			}
		}
		if got := ns.dirKey(tc.path); got != tc.dir {
			t.Errorf("%q dirKey(%q) = %q", tc.prefix, tc.path, got)
		}
		if got, ok := ns.pathOf(tc.dir); !ok || got != tc.path {
			t.Errorf("%q pathOf(%q) = %q %v", tc.prefix, tc.dir, got, ok)
		}
	}
	if _, ok := (namespace{prefix: "p/"}).pathOf("q/x"); ok {
		t.Error("pathOf outside prefix")
	}
}

func TestCheckName(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"a b", true}, {"é", true}, {strings.Repeat("x", 255), true}, {"...", true},
		{"", false}, {".", false}, {"..", false}, {long, false}, {"a\x00b", false}, {"a/b", false},
	} {
		if err := checkName(tc.name); (err == nil) != tc.ok {
			t.Errorf("checkName(%q) = %v", tc.name, err)
		}
	}
	for _, tc := range []struct {
		rel string
		ok  bool
	}{
		{"a/b", true}, {"a/b/", true}, {"a//b", false}, {"a/./b", false}, {"../a", false}, {"/a", false},
	} {
		if err := checkRelKey(tc.rel); (err == nil) != tc.ok {
			t.Errorf("checkRelKey(%q) = %v", tc.rel, err)
		}
	}
}

// names lists entries as "name" or "name/" sorted.
func names(es []listEntry) []string {
	var out []string
	for _, e := range es {
		n := e.Name
		if e.Dir {
			n += "/"
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func objs(keys ...string) []obsclient.ObjectInfo {
	var out []obsclient.ObjectInfo
	for _, k := range keys {
		out = append(out, obsclient.ObjectInfo{Key: k, Size: int64(len(k))})
	}
	return out
}

func TestPageMerger(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dir   string
		pages []obsclient.ListResult
		want  string
		warns int
	}{
		{
			name:  "files and dirs",
			dir:   "d/",
			pages: []obsclient.ListResult{{Objects: objs("d/", "d/a", "d/b"), CommonPrefixes: []string{"d/c/"}}},
			want:  "a b c/",
		},
		{
			name:  "dir shadows file in same page",
			pages: []obsclient.ListResult{{Objects: objs("a", "a-1", "a.txt"), CommonPrefixes: []string{"a/"}}},
			want:  "a-1 a.txt a/",
			warns: 1,
		},
		{
			name: "dir shadows file across pages",
			pages: []obsclient.ListResult{
				{Objects: objs("a", "a-1")},
				{Objects: objs("a.txt")},
				{CommonPrefixes: []string{"a/"}, Objects: objs("b")},
			},
			want:  "a-1 a.txt a/ b",
			warns: 1,
		},
		{
			name:  "bad names hidden",
			pages: []obsclient.ListResult{{Objects: objs("ok", "x\x00y", strings.Repeat("l", 256)), CommonPrefixes: []string{"/", "./", "../", "sub/"}}},
			want:  "ok sub/",
			warns: 5,
		},
		{
			name:  "file kept when no dir follows",
			pages: []obsclient.ListResult{{Objects: objs("a", "b")}, {Objects: objs("c")}},
			want:  "a b c",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warns := 0
			m := &pageMerger{dir: tc.dir, warn: func(string, ...any) { warns++ }}
			var got []listEntry
			for i := range tc.pages {
				p := tc.pages[i]
				for j := range p.Objects {
					p.Objects[j].Key = tc.dir + strings.TrimPrefix(p.Objects[j].Key, tc.dir)
				}
				got = append(got, m.add(&p)...)
			}
			got = append(got, m.finish()...)
			if g := strings.Join(names(got), " "); g != tc.want {
				t.Errorf("got %q want %q", g, tc.want)
			}
			if warns != tc.warns {
				t.Errorf("warnings %d want %d", warns, tc.warns)
			}
		})
	}
}

func TestPageMergerBoundedHold(t *testing.T) {
	m := &pageMerger{}
	total := 0
	for p := 0; p < 100; p++ {
		var keys []string
		for i := 0; i < 1000; i++ {
			keys = append(keys, fmt.Sprintf("f%03d-%04d", p, i))
		}
		total += len(m.add(&obsclient.ListResult{Objects: objs(keys...)}))
		if len(m.held) > 1 {
			t.Fatalf("holding %d entries", len(m.held))
		}
	}
	total += len(m.finish())
	if total != 100000 {
		t.Fatalf("got %d entries", total)
	}
}

// TestNewKeyLimits: a name over 255 bytes or a key over 1,024 bytes (mount
// prefix and, for a directory, the trailing "/" included) is ENAMETOOLONG;
// a key of exactly 1,024 bytes is valid.
func TestNewKeyLimits(t *testing.T) {
	seg := func(n int) string { return strings.Repeat("s", n) }
	// mk makes a path of n bytes out of 200-byte segments.
	mk := func(n int) string {
		p := ""
		for len(p)+201 < n {
			p += seg(200) + "/"
		}
		return p + seg(n-len(p))
	}
	for _, tc := range []struct {
		prefix, path string
		dir          bool
		wantLen      int // key length, or -1 for ENAMETOOLONG
	}{
		{"", seg(255), false, 255},
		{"", seg(256), false, -1},
		{"", seg(256), true, -1},
		{"", "a/" + seg(256), false, -1},
		{"", seg(300) + "/a", false, 302}, // only the last segment is new
		{"", mk(1024), false, 1024},       // exactly 1,024: valid
		{"", mk(1024), true, -1},          // its marker would be 1,025
		{"", mk(1023), true, 1024},        // a directory's marker of 1,024
		{"", mk(1025), false, -1},
		{"p/", mk(1022), false, 1024}, // the prefix counts
		{"p/", mk(1023), false, -1},
		{"p/", mk(1021), true, 1024},
		{"p/", mk(1022), true, -1},
	} {
		ns := namespace{prefix: tc.prefix}
		k, en := ns.newKey(tc.path, tc.dir)
		switch {
		case tc.wantLen < 0 && en != syscall.ENAMETOOLONG:
			t.Errorf("%q newKey(%d bytes, dir=%v) = %d bytes, %v; want ENAMETOOLONG", tc.prefix, len(tc.path), tc.dir, len(k), en)
		case tc.wantLen >= 0 && (en != 0 || len(k) != tc.wantLen):
			t.Errorf("%q newKey(%d bytes, dir=%v) = %d bytes, %v; want %d bytes", tc.prefix, len(tc.path), tc.dir, len(k), en, tc.wantLen)
		}
	}
	// Lookups: a path is refused only when not even a file could be there.
	ns := namespace{}
	if en := ns.checkPath(mk(1024)); en != 0 {
		t.Errorf("checkPath(1,024-byte file) = %v", en)
	}
	if ns.canBeDir(mk(1024)) || !ns.canBeDir(mk(1023)) {
		t.Error("canBeDir: a directory's marker key is the path plus one byte")
	}
	if en := ns.checkPath(mk(1025)); en != syscall.ENAMETOOLONG {
		t.Errorf("checkPath(1,025 bytes) = %v", en)
	}
	if en := ns.checkPath(seg(256)); en != syscall.ENAMETOOLONG {
		t.Errorf("checkPath(256-byte name) = %v", en)
	}
}
