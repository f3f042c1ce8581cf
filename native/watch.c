/* The parent stage watches a container's first process until it is ready.
 *
 * Until `skiff create` has heard "ready" it reads the sync socket for each
 * step; a process that dies silently (killed by a signal: a seccomp filter
 * it loaded, the OOM killer) would leave skiff with a closed socket and no
 * reason. So the parent stage keeps the socket and waits: either the child
 * reaches exec.fifo (it writes one byte on a pipe, and the parent goes on
 * as before), or the pipe closes without it, and the parent reaps the child
 * and tells skiff how it died and at which op (the child records the op it
 * runs in a page shared with the parent).
 *
 * Only for a container's first process (a plan with an exec.fifo): an
 * exec'd process has nothing to wait for, and its death is its status. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int life[2] = {-1, -1};        /* child -> parent: one byte at exec.fifo */
static volatile uint32_t *progress;   /* the op the child runs, shared */

int watch_prepare(struct err *e)
{
	if (g.fifo_fd < 0)
		return 0;
	if (pipe2(life, O_CLOEXEC) < 0)
		return fail(e, errno, "pipe to watch the container process");
	void *p = mmap(NULL, sizeof *progress, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return fail(e, errno, "map a page to watch the container process");
	progress = p;
	return 0;
}

void watch_after_clone(int child)
{
	if (life[0] < 0)
		return;
	close(life[child ? 0 : 1]);
	life[child ? 0 : 1] = -1;
}

void watch_at(uint32_t index)
{
	if (progress)
		*progress = index;
}

void watch_release(void)
{
	if (life[1] < 0)
		return;
	/* The write can only fail if the parent is gone; then nobody waits. */
	if (write(life[1], "R", 1) < 0) {
	}
	close(life[1]);
	life[1] = -1;
}

int watch_child(pid_t child)
{
	if (life[0] < 0)
		return 0;
	char c;
	ssize_t n;
	do
		n = read(life[0], &c, 1);
	while (n < 0 && errno == EINTR);
	close(life[0]);
	life[0] = -1;
	if (n == 1)
		return 0;
	int st = 0;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	uint32_t at = progress ? *progress : 0;
	/* An op that failed has said why already; skiff reports the first. */
	if (WIFSIGNALED(st))
		sync_send("error %u 0 container process died before exec\tkilled by signal %d: %s", at, WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		sync_send("error %u 0 container process died before exec\texited with status %d", at, WEXITSTATUS(st));
	return -1;
}
