/* The last steps: cwd, finding the program, fds, the start handshake over
 * exec.fifo, the hooks run in the container, and execve. */
#include "init.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The first chdir runs before the user switch, the second after it only
 * when the first was refused (runc's order: a cwd that root may enter but
 * the user may not still works, one the user may enter but root-squashing
 * storage refuses to root works too). */
int op_chdir(const struct op *o, struct err *e)
{
	if (g.cwd_done)
		return 0;
	if (chdir(CHDIR_PATH(o)) == 0) {
		g.cwd_done = 1;
		return 0;
	}
	if (CHDIR_EARLY(o) && (errno == EACCES || errno == EPERM))
		return 0;
	return fail(e, errno, "chdir to cwd %s", CHDIR_PATH(o));
}

/* 0 when path is a file we may execute; else an errno. */
static int check_exec(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno;
	if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111))
		return EACCES;
	return 0;
}

/* The same lookup and messages as runc (Go's exec.LookPath), which engines
 * match to choose exit codes 127 (not found) and 126 (not executable). */
int op_find_exec(const struct op *o, struct err *e)
{
	const char *file = FIND_EXEC_FILE(o);
	if (strchr(file, '/')) {
		int rc = check_exec(file);
		if (rc == ENOENT)
			return fail(e, 0, "exec: \"%s\": stat %s: no such file or directory", file, file);
		if (rc)
			return fail(e, 0, "exec: \"%s\": %s", file, rc == EACCES ? "permission denied" : strerror(rc));
		snprintf(g.exec_path, sizeof g.exec_path, "%s", file);
		return 0;
	}
	const char *p = FIND_EXEC_PATH(o);
	int denied = 0;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		char cand[PATH_MAX];
		snprintf(cand, sizeof cand, "%.*s/%s", (int)len, len ? p : ".", file);
		int rc = check_exec(cand);
		if (rc == 0) {
			snprintf(g.exec_path, sizeof g.exec_path, "%s", cand);
			return 0;
		}
		denied |= rc == EACCES;
		if (!colon)
			break;
		p = colon + 1;
	}
	(void)denied; /* Go reports "not found" even when a match lacked x bits */
	return fail(e, 0, "exec: \"%s\": executable file not found in $PATH", file);
}

int op_close_fds(const struct op *o, struct err *e)
{
	unsigned first = 3u + (unsigned)CLOSE_FDS_KEEP(o);
	if (syscall(SYS_close_range, first, ~0u, 4 /* CLOSE_RANGE_CLOEXEC */) < 0)
		return fail(e, errno, "mark fds close-on-exec");
	return 0;
}

int op_wait_fifo(const struct op *o, struct err *e)
{
	(void)o;
	/* skiff has heard "ready": the parent stage may go (watch.c). */
	watch_release();
	/* Blocks until `skiff start` opens the fifo for reading. Reopened
	 * through the host's procfs: the container's /proc/self/fd could be a
	 * link to any file, and we would start without `start`. */
	int fd = proc_reopen(g.fifo_fd, O_WRONLY, e);
	if (fd < 0)
		return fail(e, e->errnum, "open exec fifo");
	if (write(fd, "0", 1) != 1)
		return fail(e, errno, "write exec fifo");
	close(fd);
	close(g.fifo_fd);
	g.fifo_fd = -1;
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keep the last line the hook wrote (its stdout and stderr), for the error. */
static void keep_tail(char *tail, size_t cap, size_t *len, const char *buf, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (*len == cap - 1) {
			memmove(tail, tail + 1, cap - 2);
			(*len)--;
		}
		tail[(*len)++] = buf[k];
	}
	tail[*len] = 0;
}

static const char *last_line(char *tail)
{
	size_t n = strlen(tail);
	while (n && (tail[n - 1] == '\n' || tail[n - 1] == ' '))
		tail[--n] = 0;
	char *nl = strrchr(tail, '\n');
	return nl ? nl + 1 : tail;
}

/* Fork and exec the hook in its own process group, the state on its stdin,
 * its output kept for the error; wait for it, killing the group at the
 * timeout. Names the hook kind, as the TypeScript side does for its hooks. */
int op_hook(const struct op *o, struct err *e)
{
	const char *kind = HOOK_KIND(o), *path = HOOK_PATH(o);
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return fail(e, errno, "pipe for %s hook %s", kind, path);
	pid_t pid = fork();
	if (pid < 0)
		return fail(e, errno, "fork %s hook %s", kind, path);
	if (pid == 0) {
		setpgid(0, 0); /* a timeout ends the hook's children too */
		/* createContainer hooks run in the rootfs, before pivot_root, as
		 * runc's do: GPU and library-injection hooks write relative paths
		 * (./lib/...). startContainer hooks stay in the process's cwd. */
		if (strcmp(kind, "createContainer") == 0 && fchdir(g.root_fd) < 0) {
			dprintf(2, "enter rootfs: %s\n", strerror(errno));
			_exit(127);
		}
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		char **argv = split_list(o, HOOK_ARGS_IDX), **envp = split_list(o, HOOK_ENV_IDX);
		char *fallback[] = {(char *)path, NULL};
		execve(path, argv && argv[0] ? argv : fallback, envp);
		dprintf(2, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	const char *state = g.hook_state ? g.hook_state : "";
	if (write(in[1], state, strlen(state)) < 0 && errno != EPIPE) {
		/* a hook that does not read its stdin is fine */
	}
	close(in[1]);
	long deadline = HOOK_TIMEOUT(o) > 0 ? now_ms() + 1000 * HOOK_TIMEOUT(o) : 0;
	char tail[256] = {0}, buf[512];
	size_t tlen = 0;
	int st = 0, open_out = 1;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r < 0 && errno != EINTR) {
			close(out[0]);
			return fail(e, errno, "wait for %s hook %s", kind, path);
		}
		/* Read what is there; a child of the hook may hold the pipe open,
		 * so the hook's own exit, not EOF, ends the wait. */
		struct pollfd p = {.fd = out[0], .events = POLLIN};
		while (open_out && poll(&p, 1, r == pid ? 0 : 20) > 0) {
			ssize_t n = read(out[0], buf, sizeof buf);
			if (n <= 0) {
				open_out = 0;
				break;
			}
			keep_tail(tail, sizeof tail, &tlen, buf, (size_t)n);
		}
		if (r == pid)
			break;
		if (!open_out)
			poll(NULL, 0, 5);
		if (deadline && now_ms() > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			close(out[0]);
			return fail(e, 0, "error running hook: %s hook %s: timed out after %llds", kind, path, (long long)HOOK_TIMEOUT(o));
		}
	}
	close(out[0]);
	/* "error running hook" and the signal's name, as runc says it (a hook
	 * killed by the container's seccomp filter: "signal: bad system call"). */
	const char *why = last_line(tail);
	if (WIFSIGNALED(st)) {
		char sig[64];
		snprintf(sig, sizeof sig, "%s", strsignal(WTERMSIG(st)));
		sig[0] = (char)tolower((unsigned char)sig[0]);
		return fail(e, 0, "error running hook: %s hook %s: signal: %s%s%s", kind, path, sig, *why ? ": " : "", why);
	}
	if (WEXITSTATUS(st) != 0)
		return fail(e, 0, "error running hook: %s hook %s: exit status %d%s%s", kind, path, WEXITSTATUS(st), *why ? ": " : "", why);
	return 0;
}

int op_exec(const struct op *o, struct err *e)
{
	char **argv = split_list(o, EXEC_ARGS_IDX), **envp = split_list(o, EXEC_ENV_IDX);
	if (!argv || !envp)
		return fail(e, ENOMEM, "exec %s", g.exec_path);
	execve(g.exec_path, argv, envp);
	return fail(e, errno, "exec %s", g.exec_path);
}
