/* ptyrun: runs a command on a fresh pty, as a terminal emulator would, so
 * tests can drive an interactive `skiff run` through pipes.
 *
 *   ptyrun ROWSxCOLS NEWROWSxNEWCOLS CMD [ARG...]
 *
 * stdin -> the pty, the pty -> stdout. The pty starts at ROWSxCOLS; on
 * SIGUSR1 it is resized to NEWROWSxNEWCOLS (the kernel then sends SIGWINCH
 * to the command). Exits with the command's status (128+n for signal n). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static struct winsize parse_size(const char *s)
{
	struct winsize ws = {0};
	unsigned r, c;
	if (sscanf(s, "%ux%u", &r, &c) != 2) {
		fprintf(stderr, "ptyrun: bad size %s\n", s);
		exit(2);
	}
	ws.ws_row = (unsigned short)r;
	ws.ws_col = (unsigned short)c;
	return ws;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: ptyrun ROWSxCOLS NEWROWSxNEWCOLS CMD [ARG...]\n");
		return 2;
	}
	struct winsize first = parse_size(argv[1]), next = parse_size(argv[2]);
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
		perror("ptyrun: pty");
		return 2;
	}
	ioctl(master, TIOCSWINSZ, &first);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	const char *slave = ptsname(master);
	pid_t pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		setsid();
		int s = open(slave, O_RDWR);
		if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0) {
			perror("ptyrun: slave");
			_exit(127);
		}
		for (int fd = 0; fd < 3; fd++)
			dup2(s, fd);
		if (s > 2)
			close(s);
		execvp(argv[3], argv + 3);
		perror("ptyrun: exec");
		_exit(127);
	}
	int in_open = 1, status = -1;
	char buf[8192];
	for (;;) {
		struct pollfd p[3] = {{.fd = sfd, .events = POLLIN}, {.fd = master, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
		if (poll(p, in_open ? 3 : 2, status >= 0 ? 200 : -1) == 0)
			break; /* exited and nothing more to read */
		if (p[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGUSR1)
					ioctl(master, TIOCSWINSZ, &next);
				int st;
				if (waitpid(pid, &st, WNOHANG) == pid)
					status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			}
		}
		if (p[1].revents) {
			ssize_t n = read(master, buf, sizeof buf);
			if (n <= 0) {
				if (status >= 0)
					break;
				/* every slave closed: only the exit status is left */
				int st;
				waitpid(pid, &st, 0);
				status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				break;
			}
			for (ssize_t at = 0; at < n;) {
				ssize_t w = write(1, buf + at, (size_t)(n - at));
				if (w <= 0)
					break;
				at += w;
			}
		}
		if (in_open && p[2].revents) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n <= 0)
				in_open = 0;
			else if (write(master, buf, (size_t)n) < 0)
				in_open = 0;
		}
	}
	return status < 0 ? 255 : status;
}
