/* sigops: namespace operations under a 1 kHz interval timer.
 *
 *   sigops MOUNT_A MOUNT_B OPS SEED
 *
 * Runs OPS random mkdir/rmdir/rename/symlink/unlink/open(O_CREAT)/chmod/
 * setxattr calls on a few names under MOUNT_A/w while setitimer(ITIMER_REAL)
 * delivers SIGALRM every millisecond to a handler installed with SA_RESTART:
 * what ext4 users get from a profiler or a runtime's timer. The calls are the
 * raw system calls; nothing retries EINTR. After each call, with SIGALRM
 * blocked, it compares the names it touched (type, permission bits, symlink
 * target, the user.k xattr) and the listings of w and w/sub in MOUNT_A with
 * MOUNT_B, a second mount of the same bucket that caches nothing.
 *
 * With SIGOPS_TRACE set it logs every call to stderr. Prints one line "ops=N eintr=E disagree=D diverged=V alarms=S" (disagree:
 * steps after which the mounts differed; diverged: steps that turned
 * agreement into disagreement), then the first few differences.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static const char *names[] = {"e0", "e1", "e2", "e3", "sub/e0", "sub/e1", "sub/e2", "sub/e3"};
#define NNAMES (sizeof names / sizeof names[0])

static char A[1024], B[1024]; /* mount directories: short temp dirs */
static int shown;

static void path(char *out, const char *root, const char *rel) {
	snprintf(out, 4096, "%s/w/%s", root, rel);
}

/* describe writes what a name looks like in one mount. */
static void describe(const char *root, const char *rel, char *out, size_t n) {
	char p[4096], t[4096], x[256];
	struct stat st;
	path(p, root, rel);
	if (lstat(p, &st) != 0) {
		snprintf(out, n, "lstat:%s", strerror(errno));
		return;
	}
	int len = snprintf(out, n, "type=%o perm=%o", st.st_mode & S_IFMT, st.st_mode & 07777);
	if (S_ISLNK(st.st_mode)) {
		ssize_t k = readlink(p, t, sizeof t - 1);
		t[k < 0 ? 0 : k] = 0;
		len += snprintf(out + len, n - len, " target=%s", t);
	}
	if (S_ISREG(st.st_mode))
		len += snprintf(out + len, n - len, " size=%lld", (long long)st.st_size);
	ssize_t k = lgetxattr(p, "user.k", x, sizeof x - 1);
	if (k < 0)
		snprintf(out + len, n - len, " user.k:%s", strerror(errno));
	else {
		x[k] = 0;
		snprintf(out + len, n - len, " user.k=%s", x);
	}
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

/* listing writes the sorted names of a directory in one mount. */
static void listing(const char *root, const char *rel, char *out, size_t n) {
	char p[4096];
	char *v[256];
	int c = 0;
	path(p, root, rel);
	DIR *d = opendir(p);
	if (!d) {
		snprintf(out, n, "opendir:%s", strerror(errno));
		return;
	}
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d)) && c < 256) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			v[c++] = strdup(e->d_name);
	}
	int rerr = errno;
	closedir(d);
	qsort(v, c, sizeof v[0], cmpstr);
	size_t len = 0;
	out[0] = 0;
	if (rerr)
		len += snprintf(out, n, "readdir:%s ", strerror(rerr));
	for (int i = 0; i < c; i++) {
		if (len < n)
			len += snprintf(out + len, n - len, "%s ", v[i]);
		free(v[i]);
	}
}

/* agree compares both mounts: the names the call touched (no other can
 * have changed) and both listings; it reports the first few differences. */
static int agree(long step, const char *what, const char *n1, const char *n2) {
	char a[8192], b[8192];
	const char *touched[] = {n1, n2};
	int ok = 1;
	for (int i = 0; i < (strcmp(n1, n2) ? 2 : 1); i++) {
		describe(A, touched[i], a, sizeof a);
		describe(B, touched[i], b, sizeof b);
		if (strcmp(a, b)) {
			ok = 0;
			if (shown++ < 10)
				printf("step %ld after %s: %s: mount {%s} bucket {%s}\n", step, what, touched[i], a, b);
		}
	}
	const char *dirs[] = {".", "sub"};
	for (int i = 0; i < 2; i++) {
		listing(A, dirs[i], a, sizeof a);
		listing(B, dirs[i], b, sizeof b);
		if (strcmp(a, b)) {
			ok = 0;
			if (shown++ < 10)
				printf("step %ld after %s: ls %s: mount {%s} bucket {%s}\n", step, what, dirs[i], a, b);
		}
	}
	return ok;
}

int main(int argc, char **argv) {
	if (argc != 5) {
		fprintf(stderr, "usage: sigops MOUNT_A MOUNT_B OPS SEED\n");
		return 2;
	}
	snprintf(A, sizeof A, "%s", argv[1]);
	snprintf(B, sizeof B, "%s", argv[2]);
	long ops = atol(argv[3]);
	srandom(atoi(argv[4]));

	char p[4096], q[4096], what[8192];
	snprintf(p, sizeof p, "%s/w", A);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/w/sub", A);
	if (mkdir(p, 0755) != 0) {
		perror("mkdir w/sub");
		return 2;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	struct itimerval it = {{0, 1000}, {0, 1000}};
	setitimer(ITIMER_REAL, &it, NULL);

	long eintr = 0, disagree = 0, diverged = 0, calls[8] = {0}, fails[8] = {0};
	const char *opname[8] = {"mkdir", "rmdir", "rename", "symlink", "unlink", "creat", "chmod", "setxattr"};
	int agreed = 1, trace = getenv("SIGOPS_TRACE") != NULL;
	for (long i = 0; i < ops; i++) {
		int op = random() % 8;
		const char *n1 = names[random() % NNAMES], *n2 = names[random() % NNAMES];
		char val[32];
		snprintf(val, sizeof val, "v%ld", i);
		mode_t mode = 0600 | (random() % 0100);
		path(p, A, n1);
		path(q, A, n2);
		sigprocmask(SIG_UNBLOCK, &alrm, NULL);
		int r = 0;
		switch (op) {
		case 0: r = mkdir(p, 0755); break;
		case 1: r = rmdir(p); break;
		case 2: r = rename(p, q); break;
		case 3: r = symlink(val, p); break;
		case 4: r = unlink(p); break;
		case 5:
			r = open(p, O_CREAT | O_WRONLY, 0644);
			if (r >= 0)
				r = close(r);
			break;
		case 6: r = chmod(p, mode); break;
		case 7: r = lsetxattr(p, "user.k", val, strlen(val), 0); break;
		}
		int err = errno;
		sigprocmask(SIG_BLOCK, &alrm, NULL);
		calls[op]++;
		if (r < 0) {
			fails[op]++;
			if (err == EINTR)
				eintr++;
		}
		snprintf(what, sizeof what, "%s %s%s%s = %s", opname[op], n1, op == 2 ? " " : "", op == 2 ? n2 : "",
			 r < 0 ? strerror(err) : "ok");
		if (trace)
			fprintf(stderr, "step %ld: %s\n", i, what);
		if (r < 0 && err == EINTR && shown++ < 10)
			printf("step %ld: %s\n", i, what);
		int ok = agree(i, what, n1, n2);
		if (!ok) {
			disagree++;
			if (agreed)
				diverged++;
		}
		agreed = ok;
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	fprintf(stderr, "calls/failures:");
	for (int i = 0; i < 8; i++)
		fprintf(stderr, " %s=%ld/%ld", opname[i], calls[i], fails[i]);
	fprintf(stderr, "\n");
	printf("ops=%ld eintr=%ld disagree=%ld diverged=%ld alarms=%ld\n", ops, eintr, disagree, diverged, (long)alarms);
	return 0;
}
