package fs

import (
	"os/exec"
	"testing"
)

// TestShellWorkloads runs everyday tools against a mount (in child
// processes, which touch the mount only after exec, so no fork-time
// deadlock: see go-fuse's "Deadlocks"). The integration suite does this
// more thoroughly with the built binary.
func TestShellWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	e := newEnv(t)
	e.mount(Options{MultipartSize: 128 << 10})
	src := t.TempDir()
	script := `
set -e
cd "$SRC"
mkdir -p tree/a/b tree/c
printf 'hello\n' > tree/a/b/f.txt
head -c 300000 /dev/urandom > tree/c/big.bin
ln -s a/b/f.txt tree/link
chmod 0640 tree/a/b/f.txt
touch -d '2001-02-03 04:05:06' tree/c/big.bin
cd "$MNT"
cp -a "$SRC/tree" cpa
diff -r "$SRC/tree" cpa
[ "$(stat -c %a cpa/a/b/f.txt)" = 640 ]
[ "$(stat -c %Y cpa/c/big.bin)" = "$(stat -c %Y "$SRC/tree/c/big.bin")" ]
[ "$(readlink cpa/link)" = a/b/f.txt ]
tar -C "$SRC" -cf - tree | tar -xf -
diff -r "$SRC/tree" tree
mv tree moved
diff -r "$SRC/tree" moved
if command -v rsync >/dev/null; then
  rsync -a "$SRC/tree/" rs/
  diff -r "$SRC/tree" rs
  printf 'changed\n' > "$SRC/tree/a/b/f.txt"
  rsync -a "$SRC/tree/" rs/
  rsync -a --inplace "$SRC/tree/" rs/
  diff -r "$SRC/tree" rs
  rm -rf rs
fi
rm -rf moved cpa
[ -z "$(ls -A)" ]
`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(cmd.Environ(), "SRC="+src, "MNT="+e.mnt)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if keys := e.srv.Keys(e.bucket, ""); len(keys) != 0 {
		t.Fatalf("keys left: %v", keys)
	}
}

func TestGitWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	e := newEnv(t)
	e.mount(Options{})
	script := `
set -e
cd "$MNT"
git init -q repo
cd repo
git config user.email t@example.com
git config user.name t
echo one > a.txt
git add a.txt
git commit -qm one
echo two >> a.txt
git commit -qam two
git log --oneline | wc -l | grep -qx 2
git fsck --no-progress 2>&1 | (! grep -q .)
git gc -q
git log --oneline | wc -l | grep -qx 2
git status --porcelain | wc -l | grep -qx 0
`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(cmd.Environ(), "MNT="+e.mnt)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
