/*
 * The pod's infrastructure process ("pause"), for the CRI test's sandbox
 * image: it holds the pod's namespaces open while the pod's containers come
 * and go. It sleeps until SIGTERM or SIGINT (then exits 0) and reaps any
 * child re-parented to it (it is pid 1 of the pod when the pod shares one
 * PID namespace). Built static, so the image needs no libc.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	sigset_t set;
	int sig;

	(void)argc;
	(void)argv;
	/* block the signals we handle and take them synchronously: no handler
	 * races, and no signal is lost between two waits */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		fprintf(stderr, "pause: block signals: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGCHLD) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			continue;
		}
		return 0; /* SIGTERM or SIGINT */
	}
}
