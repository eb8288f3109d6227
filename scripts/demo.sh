#!/usr/bin/env bash
# A short, narrated tour of obsfs against the local OBS emulator:
# build, start bin/obs-emulator with bucket "demo" on a free port, mount it
# with bin/obsfs, use it with ordinary tools, unmount and remount to show the
# data lives in the bucket, then clean up. Any failing step stops the tour
# with a message. KEEP=1 leaves the mount (and emulator) running and prints
# how to stop them.
#
#   scripts/demo.sh          # or: make demo
#   KEEP=1 scripts/demo.sh   # or: make demo KEEP=1
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

KEEP=${KEEP:-0}
[[ $KEEP == 0 ]] && KEEP=
BUCKET=demo
DEMO_AK=DEMOACCESSKEY0000001
DEMO_SK=demoSecretKey0000000000000000000000000001

bold=$'\e[1m' dim=$'\e[2m' red=$'\e[31m' reset=$'\e[0m'
[[ -t 1 ]] || bold= dim= red= reset=

step() { printf '\n%s== %s%s\n' "$bold" "$*" "$reset"; }
run() { # run CMD...: show it, then run it
	printf '%s$ %s%s\n' "$dim" "$*" "$reset"
	"$@"
}
runsh() { # runsh 'SHELL LINE': show it, then run it with bash
	printf '%s$ %s%s\n' "$dim" "$1" "$reset"
	bash -c "$1"
}
die() {
	printf '%sdemo: %s%s\n' "$red" "$*" "$reset" >&2
	exit 1
}

# --- preflight --------------------------------------------------------------
[[ -e /dev/fuse ]] || die "/dev/fuse is missing (load the fuse module)"
command -v fusermount3 >/dev/null || die "fusermount3 is missing (apt-get install fuse3)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/obsfs-demo.XXXXXX")
MNT=$WORK/mnt
EMU_PID=
MOUNTED=

cleanup() {
	local status=$?
	if [[ $status != 0 ]]; then
		printf '\n%sdemo FAILED (exit %s).%s\n' "$red" "$status" "$reset" >&2
		for log in "$WORK/obsfs.log" "$WORK/emulator.log"; do
			[[ -s $log ]] && { echo "--- last lines of $log:" >&2; tail -n 20 "$log" >&2; }
		done
	fi
	if [[ -n $KEEP && $status == 0 ]]; then
		cat <<-MSG

		${bold}Left running (KEEP=1):${reset}
		  mount:    $MNT   (bucket "$BUCKET")
		  emulator: pid $EMU_PID at $URL
		  logs:     $WORK/obsfs.log, $WORK/emulator.log
		Stop it with:
		  fusermount3 -u $MNT && kill $EMU_PID && rm -rf $WORK
		MSG
		return
	fi
	if [[ -n $MOUNTED ]] && grep -qs " $MNT fuse" /proc/mounts; then
		fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" || true
	fi
	[[ -n $EMU_PID ]] && kill "$EMU_PID" 2>/dev/null || true
	[[ -n $EMU_PID ]] && wait "$EMU_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # wait_for SECONDS CMD...: poll until CMD succeeds
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# --- build, emulator, credentials ---------------------------------------------
step "Build bin/obsfs and bin/obs-emulator"
run make --no-print-directory build

step "Start a local OBS emulator with bucket \"$BUCKET\" on a free port"
mkdir -p "$MNT" "$WORK/data"
printf '%s$ bin/obs-emulator --listen 127.0.0.1:0 --bucket %s --root %s ... &%s\n' "$dim" "$BUCKET" "$WORK/data" "$reset"
setsid bin/obs-emulator --listen 127.0.0.1:0 --access-key "$DEMO_AK" --secret-key "$DEMO_SK" \
	--bucket "$BUCKET" --root "$WORK/data" >"$WORK/emulator.log" 2>&1 </dev/null &
EMU_PID=$!
emulator_up() {
	kill -0 "$EMU_PID" 2>/dev/null || die "the emulator exited: $(cat "$WORK/emulator.log")"
	grep -qs 'listening on' "$WORK/emulator.log"
}
wait_for 10 emulator_up || die "the emulator did not start within 10s"
URL=$(sed -n 's/^obs-emulator listening on //p' "$WORK/emulator.log")
echo "emulator at $URL"

step "Write a passwd file (AK:SK, mode 600), as for s3fs"
(umask 077 && printf '%s:%s\n' "$DEMO_AK" "$DEMO_SK" >"$WORK/passwd-obsfs")
run ls -l "$WORK/passwd-obsfs"

# --- mount --------------------------------------------------------------------
OPTS="url=$URL,passwd_file=$WORK/passwd-obsfs,use_path_request_style,logfile=$WORK/obsfs.log"
step "Mount: obsfs goes to the background once the mount is live"
run bin/obsfs "$BUCKET" "$MNT" -o "$OPTS"
MOUNTED=1
run grep " $MNT " /proc/mounts
run df -h "$MNT"

# --- tour ---------------------------------------------------------------------
cd "$MNT"
step "Files are objects: write, read, list"
runsh 'echo "hello from obsfs" > hello.txt'
run cat hello.txt
run ls -l

step "Directories are prefixes; copy a real file in and compare it"
run mkdir -p docs/2026
run cp "$REPO/README.md" docs/
run cmp "$REPO/README.md" docs/README.md
run ls -lR docs

step "Rename and chmod (kept in object metadata, readable by s3fs too)"
run mv hello.txt docs/2026/hello.txt
run chmod 640 docs/2026/hello.txt
runsh "stat -c '%A %U:%G %s bytes  %n' docs/2026/hello.txt"

step "Extended attributes: user.* xattrs are object metadata"
if command -v setfattr >/dev/null; then
	run setfattr -n user.project -v obsfs-demo docs/2026/hello.txt
	run getfattr -n user.project docs/2026/hello.txt
	run getfattr -n user.obs.storage_class docs/2026/hello.txt
else
	echo "(setfattr/getfattr not installed — apt-get install attr — skipping)"
fi

step "Manage OBS from the mount: the hidden control directory .obsfs"
run ls -a
run ls .obsfs
run cat .obsfs/storageinfo

step "Versioning on, an overwrite, the versions, and a restore by cp"
runsh 'echo Enabled > .obsfs/versioning'
run cat .obsfs/versioning
runsh 'echo "first draft" > notes.txt'
runsh 'echo "second draft" > notes.txt'
run cat notes.txt
run ls -l .obsfs/versions/notes.txt/
runsh 'for v in .obsfs/versions/notes.txt/*; do grep -qx "first draft" "$v" && cp "$v" notes.txt; done; true'
run cat notes.txt
[[ $(cat notes.txt) == "first draft" ]] || die "the old version was not restored"
run ls .obsfs/versions/notes.txt/
cd "$REPO"

step "Unmount and mount again: everything came from the bucket"
run fusermount3 -u "$MNT"
MOUNTED=
wait_for 10 bash -c "! grep -qs ' $MNT fuse' /proc/mounts" || die "still mounted after fusermount3 -u"
run bin/obsfs "$BUCKET" "$MNT" -o "$OPTS"
MOUNTED=1
run cat "$MNT/docs/2026/hello.txt"
runsh "stat -c '%A %n' '$MNT/docs/2026/hello.txt'"
[[ $(stat -c %a "$MNT/docs/2026/hello.txt") == 640 ]] || die "mode was not kept across the remount"
[[ $(cat "$MNT/docs/2026/hello.txt") == "hello from obsfs" ]] || die "content changed across the remount"
run df -h "$MNT"

if [[ -z $KEEP ]]; then
	step "Unmount and stop the emulator"
	run fusermount3 -u "$MNT"
	MOUNTED=
fi
printf '\n%sDemo finished.%s\n' "$bold" "$reset"
