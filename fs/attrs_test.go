package fs

import (
	"syscall"
	"testing"
	"time"

	"github.com/obsfs/obsfs/obsclient"
)

func TestParseFormatTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1700000000", time.Unix(1700000000, 0), true},
		{"1700000000.5", time.Unix(1700000000, 500000000), true},
		{"1700000000.000000001", time.Unix(1700000000, 1), true},
		{" 42 ", time.Unix(42, 0), true},
		{"1700000000.1234567891", time.Unix(1700000000, 123456789), true},
		{"", time.Time{}, false},
		{"abc", time.Time{}, false},
		{"1.", time.Time{}, false},
		{"1.x", time.Time{}, false},
	} {
		got, ok := parseTime(tc.in)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v %v", tc.in, got, ok)
		}
	}
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Unix(42, 0), "42"},
		{time.Unix(42, 500000000), "42.5"},
		{time.Unix(42, 1), "42.000000001"},
	} {
		if got := formatTime(tc.t); got != tc.want {
			t.Errorf("formatTime(%v) = %q want %q", tc.t, got, tc.want)
		}
		if back, ok := parseTime(formatTime(tc.t)); !ok || !back.Equal(tc.t) {
			t.Errorf("round trip %v → %v", tc.t, back)
		}
	}
}

func TestAttrFromInfo(t *testing.T) {
	lm := time.Unix(1600000000, 0)
	d := attrDefaults{UID: 1000, GID: 100, Umask: 022}
	for _, tc := range []struct {
		name string
		info obsclient.ObjectInfo
		dir  bool
		want objAttr
	}{
		{
			name: "plain object gets defaults",
			info: obsclient.ObjectInfo{Size: 5, LastModified: lm},
			want: objAttr{Mode: syscall.S_IFREG | 0644, UID: 1000, GID: 100, Size: 5, Mtime: lm},
		},
		{
			name: "implicit dir",
			dir:  true,
			want: objAttr{Mode: syscall.S_IFDIR | 0755, UID: 1000, GID: 100},
		},
		{
			name: "s3fs file",
			info: obsclient.ObjectInfo{Size: 3, LastModified: lm, Metadata: map[string]string{
				"mode": "33216", "uid": "7", "gid": "8", "mtime": "1500000000.25", "color": "blue"}},
			want: objAttr{Mode: syscall.S_IFREG | 0700, UID: 7, GID: 8, Size: 3, Mtime: time.Unix(1500000000, 250000000),
				User: map[string]string{"color": "blue"}, Complete: true},
		},
		{
			name: "symlink",
			info: obsclient.ObjectInfo{Size: 4, LastModified: lm, Metadata: map[string]string{"mode": "41471"}},
			want: objAttr{Mode: syscall.S_IFLNK | 0777, UID: 1000, GID: 100, Size: 4, Mtime: lm, Complete: true},
		},
		{
			name: "dir marker with file mode stays a dir",
			dir:  true,
			info: obsclient.ObjectInfo{LastModified: lm, Metadata: map[string]string{"mode": "33188", "mtime": "99"}},
			want: objAttr{Mode: syscall.S_IFDIR | 0644, UID: 1000, GID: 100, Mtime: time.Unix(99, 0), Complete: true},
		},
		{
			name: "bad values ignored",
			info: obsclient.ObjectInfo{LastModified: lm, Metadata: map[string]string{"mode": "x", "uid": "-1", "mtime": "soon"}},
			want: objAttr{Mode: syscall.S_IFREG | 0644, UID: 1000, GID: 100, Mtime: lm, Complete: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := attrFromInfo(tc.info, tc.dir, d)
			w := tc.want
			if w.Ctime.IsZero() {
				w.Ctime = w.Mtime
			}
			if w.Atime.IsZero() {
				w.Atime = w.Mtime
			}
			if got.Mode != w.Mode || got.UID != w.UID || got.GID != w.GID || got.Size != w.Size ||
				!got.Mtime.Equal(w.Mtime) || !got.Ctime.Equal(w.Ctime) || !got.Atime.Equal(w.Atime) ||
				got.Complete != w.Complete || len(got.User) != len(w.User) {
				t.Errorf("got %+v\nwant %+v", got, w)
			}
			for k, v := range w.User {
				if got.User[k] != v {
					t.Errorf("user %q = %q", k, got.User[k])
				}
			}
		})
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	a := objAttr{Mode: syscall.S_IFREG | 0640, UID: 1, GID: 2, Mtime: time.Unix(10, 5), Ctime: time.Unix(11, 0),
		Atime: time.Unix(12, 0), User: map[string]string{"k": "v"}}
	md := a.metadata()
	if md["mode"] != "33184" || md["uid"] != "1" || md["gid"] != "2" || md["mtime"] != "10.000000005" || md["k"] != "v" {
		t.Fatalf("metadata %v", md)
	}
	b := attrFromInfo(obsclient.ObjectInfo{Metadata: md}, false, attrDefaults{})
	if b.Mode != a.Mode || b.UID != 1 || b.GID != 2 || !b.Mtime.Equal(a.Mtime) || !b.Ctime.Equal(a.Ctime) ||
		!b.Atime.Equal(a.Atime) || b.User["k"] != "v" || len(b.User) != 1 {
		t.Fatalf("round trip %+v", b)
	}
	if !isPosixKey("Mode") || isPosixKey("k") {
		t.Fatal("isPosixKey")
	}
}
