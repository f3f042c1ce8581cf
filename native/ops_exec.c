/* The last steps: cwd, finding the program, fds, the start handshake over
 * exec.fifo, startContainer hooks, and execve. */
#include "init.h"
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

int op_chdir(const struct op *o, struct err *e)
{
	return chdir(CHDIR_PATH(o)) < 0 ? fail(e, errno, "chdir to cwd %s", CHDIR_PATH(o)) : 0;
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
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", g.fifo_fd);
	/* Blocks until `skiff start` opens the fifo for reading. */
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(e, errno, "open exec fifo");
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

int op_hook(const struct op *o, struct err *e)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return fail(e, errno, "pipe for hook %s", HOOK_PATH(o));
	pid_t pid = fork();
	if (pid < 0)
		return fail(e, errno, "fork hook %s", HOOK_PATH(o));
	if (pid == 0) {
		setpgid(0, 0); /* a timeout ends the hook's children too */
		dup2(in[0], 0);
		char **argv = split_list(o, 1), **envp = split_list(o, 2);
		char *fallback[] = {HOOK_PATH(o), NULL};
		execve(HOOK_PATH(o), argv && argv[0] ? argv : fallback, envp);
		_exit(127);
	}
	close(in[0]);
	const char *state = g.hook_state ? g.hook_state : "";
	if (write(in[1], state, strlen(state)) < 0 && errno != EPIPE) {
		/* a hook that does not read its stdin is fine */
	}
	close(in[1]);
	long deadline = HOOK_TIMEOUT(o) > 0 ? now_ms() + 1000 * HOOK_TIMEOUT(o) : 0;
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, deadline ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return fail(e, errno, "wait for hook %s", HOOK_PATH(o));
		if (deadline && now_ms() > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			return fail(e, 0, "startContainer hook %s: timed out after %llds", HOOK_PATH(o), (long long)HOOK_TIMEOUT(o));
		}
		poll(NULL, 0, 5);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail(e, 0, "startContainer hook %s: exit status %d", HOOK_PATH(o),
			    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

int op_exec(const struct op *o, struct err *e)
{
	char **argv = split_list(o, 0), **envp = split_list(o, 1);
	if (!argv || !envp)
		return fail(e, ENOMEM, "exec %s", g.exec_path);
	execve(g.exec_path, argv, envp);
	return fail(e, errno, "exec %s", g.exec_path);
}
