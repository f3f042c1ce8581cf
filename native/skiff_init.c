/* skiff-init: executes a plan compiled by skiff (TypeScript).
 *
 *   skiff-init SYNC_FD
 *
 * The plan arrives on SYNC_FD, a socket to skiff. Ops run in order; the
 * clone op splits us into the parent stage (reports the pid, then exits or
 * waits) and the container's first process, which runs the rest and ends
 * in execve. A failed op is reported as "error INDEX ERRNO MESSAGE" and the
 * process exits 1; skiff maps INDEX to the op's origin in config.json.
 * No policy lives here: every decision was made in TypeScript. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct init_state g = {.sync_fd = -1, .root_fd = -1, .fifo_fd = -1, .proc_fd = -1, .cgroup_fd = -1};

int fail(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->errnum = errnum;
	return -1;
}

typedef int (*op_fn)(const struct op *, struct err *);

static op_fn handler(uint32_t code)
{
	switch (code) {
#define CASE(UP, name) \
	case OP_##UP:  \
		return op_##name;
		OP_TABLE(CASE)
#undef CASE
	}
	return NULL;
}

static int read_last_cap(void)
{
	char buf[16] = {0};
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 40;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	return n > 0 ? atoi(buf) : 40;
}

/* Signal state is inherited through execve: start from the defaults. */
static void reset_signals(void)
{
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static void report(uint32_t index, const struct err *e)
{
	char msg[sizeof e->msg];
	snprintf(msg, sizeof msg, "%s", e->msg);
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	const char *cause = e->errnum ? strerror(e->errnum) : "";
	/* While skiff listens it reports the error (with its origin) itself;
	 * after `start` nobody reads the socket: then say it on stderr. */
	signal(SIGPIPE, SIG_IGN);
	if (sync_send("error %u %d %s\t%s", index, e->errnum, msg, cause) < 0)
		dprintf(2, "skiff-init: %s%s%s\n", msg, *cause ? ": " : "", cause);
}

int main(int argc, char **argv)
{
	/* Nobody may ptrace us or read our memory while we hold host fds; first
	 * of all, also when something in a container re-executes us (through
	 * "#!/proc/self/exe"), since /proc/PID/exe is behind the same check.
	 * (What it would find there is skiff's sealed memfd copy of us.) */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* skiff executes us as /proc/self/fd/N: name us for ps, not "N". */
	prctl(PR_SET_NAME, "skiff-init", 0, 0, 0);
	if (argc != 2) {
		fprintf(stderr, "skiff-init is run by skiff, not by hand\n");
		return 2;
	}
	/* A write to a closed socket must fail, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	g.sync_fd = atoi(argv[1]);
	fcntl(g.sync_fd, F_SETFD, FD_CLOEXEC);
	g.last_cap = read_last_cap();
	/* Before any namespace is joined or made: the host's procfs. */
	g.proc_fd = procfs_open();

	/* skiff spawns us before it has a plan, and closes the socket unsent
	 * when its command fails first (a bad config, say): it has reported
	 * that already, so leave without a word. */
	char first;
	ssize_t peeked;
	do
		peeked = recv(g.sync_fd, &first, 1, MSG_PEEK);
	while (peeked < 0 && errno == EINTR);
	if (peeked == 0)
		return 0;

	struct op *ops;
	uint32_t nops;
	struct err e = {0};
	if (read_plan(g.sync_fd, &ops, &nops, &e) < 0) {
		report(0, &e);
		return 1;
	}
	reset_signals();
	signal(SIGPIPE, SIG_IGN); /* until execve; op_exec restores it below */
	for (uint32_t k = 0; k < nops; k++) {
		op_fn fn = handler(ops[k].code);
		if (!fn) {
			fail(&e, EINVAL, "unknown op %u", ops[k].code);
			report(k, &e);
			return 1;
		}
		watch_at(k);
		if (ops[k].code == OP_EXEC)
			signal(SIGPIPE, SIG_DFL);
		if (fn(&ops[k], &e) < 0) {
			report(k, &e);
			return 1;
		}
	}
	return 0;
}
