/* Terminals. The pty is made inside the container (its own devpts, after
 * pivot_root or after joining the mount namespace): the master goes out in
 * one sendmsg (the name as bytes, the fd by SCM_RIGHTS), either to the
 * --console-socket or, for a foreground run/exec, over a socketpair to our
 * own parent stage, which then relays it to the caller's terminal. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#define DEVPTS_MAGIC 0x1cd1

int tty_console_fd = -1; /* the container process's end: the master goes here */
int tty_relay_fd = -1;   /* the parent stage's end (foreground relay only) */

int op_console_socket(const struct op *o, struct err *e)
{
	if (CONSOLE_SOCKET_RELAY(o)) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return fail(e, errno, "socketpair for the terminal");
		tty_relay_fd = sv[0];
		tty_console_fd = sv[1];
		return 0;
	}
	const char *path = CONSOLE_SOCKET_PATH(o);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return fail(e, ENAMETOOLONG, "connect to console socket %s", path);
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(e, errno, "socket for console socket %s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int saved = errno;
		close(fd);
		return fail(e, saved, "connect to console socket %s", path);
	}
	tty_console_fd = fd;
	return 0;
}

void tty_after_clone(int child)
{
	int *other = child ? &tty_relay_fd : &tty_console_fd;
	if (*other >= 0)
		close(*other);
	*other = -1;
}

/* Bind the pty peer onto /dev/console: the target is made inside the root
 * (no symlink escapes); the peer is cloned by its fd and moved onto the
 * target's fd. Never /proc/self/fd paths: after pivot_root they are looked
 * up in the container's /proc. */
static int mount_console(int peer, struct err *e)
{
	struct op f = {.code = OP_MKFILE, .s = {(char *)"/dev/console"}, .i = {0600}};
	if (op_mkfile(&f, e) < 0)
		return -1;
	int t = open_in_root("/dev/console", O_PATH | O_NOFOLLOW, e);
	if (t < 0)
		return -1;
	struct stat st;
	if (fstat(t, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
		close(t);
		return fail(e, 0, "bind the terminal onto /dev/console: it is not a file");
	}
	int tree = clone_tree(peer, "", 0);
	int rc = tree < 0 ? -1 : move_tree_onto(tree, t);
	int saved = errno;
	if (tree >= 0)
		close(tree);
	close(t);
	return rc < 0 ? fail(e, saved, "bind the terminal onto /dev/console") : 0;
}

static int send_master(int master, const char *name, struct err *e)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	memset(ctl, 0, sizeof ctl);
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	for (;;) {
		ssize_t n = sendmsg(tty_console_fd, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(e, errno, "send the pty master to the console socket");
		return 0;
	}
}

int op_terminal(const struct op *o, struct err *e)
{
	if (tty_console_fd < 0)
		return fail(e, 0, "allocate a terminal: no console socket");
	/* In the container's view: /dev/ptmx is pts/ptmx of its own devpts. */
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return fail(e, errno, "open /dev/ptmx in the container");
	struct stat st;
	if (fstat(master, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2) {
		close(master);
		return fail(e, 0, "open /dev/ptmx in the container: not the pty multiplexer");
	}
	int unlock = 0, n = -1;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0) {
		int saved = errno;
		close(master);
		return fail(e, saved, "unlock the pty");
	}
	/* The peer by the master itself, never by a path the container could swap. */
	int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct statfs sf;
	if (peer < 0 || fstatfs(peer, &sf) < 0 || sf.f_type != DEVPTS_MAGIC) {
		int saved = peer < 0 ? errno : 0;
		close(master);
		if (peer >= 0)
			close(peer);
		return fail(e, saved, "open the pty peer%s", saved ? "" : ": not on a devpts file system");
	}
	int rc = 0;
	if (TERMINAL_HEIGHT(o) > 0 && TERMINAL_WIDTH(o) > 0) {
		struct winsize ws = {.ws_row = (unsigned short)TERMINAL_HEIGHT(o), .ws_col = (unsigned short)TERMINAL_WIDTH(o)};
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			rc = fail(e, errno, "set the console size");
	}
	if (rc == 0 && TERMINAL_CONSOLE(o))
		rc = mount_console(peer, e);
	/* As runc's fixStdioPermissions: the process's user owns its terminal. */
	if (rc == 0 && TERMINAL_UID(o) >= 0 && fstat(peer, &st) == 0 && st.st_uid != (uid_t)TERMINAL_UID(o) &&
	    fchown(peer, (uid_t)TERMINAL_UID(o), (gid_t)-1) < 0 && errno != EINVAL && errno != EPERM)
		rc = fail(e, errno, "chown the terminal to uid %lld", (long long)TERMINAL_UID(o));
	/* The name, as runc sends it: the path the master was opened by. */
	if (rc == 0)
		rc = send_master(master, "/dev/ptmx", e);
	close(master);
	close(tty_console_fd);
	tty_console_fd = -1;
	for (int fd = 0; rc == 0 && fd < 3; fd++)
		if (dup3(peer, fd, 0) < 0)
			rc = fail(e, errno, "make the terminal fd %d", fd);
	if (peer > 2)
		close(peer);
	if (rc == 0 && ioctl(0, TIOCSCTTY, 0) < 0)
		rc = fail(e, errno, "make the terminal the controlling terminal");
	return rc;
}

/* ---- the parent stage of a foreground run/exec: relay the terminal ---- */

static struct termios saved_tio;
static int tio_saved;

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(0, TCSANOW, &saved_tio);
	tio_saved = 0;
}

static void raw_tty(void)
{
	struct termios t;
	if (tcgetattr(0, &saved_tio) < 0)
		return; /* not a terminal: plain copying */
	tio_saved = 1;
	t = saved_tio;
	cfmakeraw(&t);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tcsetattr(0, TCSANOW, &t);
}

static void copy_winsize(int master)
{
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		ioctl(master, TIOCSWINSZ, &ws);
}

/* One fd from the socket, or -1 (the child died before it sent one). */
static int recv_master(int sock)
{
	char name[256], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

/* Write all of buf to fd, waiting when fd is non-blocking and full. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			poll(&p, 1, -1);
			continue;
		}
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Copy what the master has now to stdout; -1 when it is gone (EIO). */
static int drain_master(int master)
{
	char buf[8192];
	for (;;) {
		ssize_t n = read(master, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		if (write_all(1, buf, (size_t)n) < 0)
			return 0; /* the caller's stdout is gone: keep draining */
	}
}

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs in the parent stage; never returns. stdin -> master, master ->
 * stdout, SIGWINCH -> the caller's size onto the master; exits with the
 * child's status once it is reaped (orphans are reaped on the way). */
void tty_relay(pid_t child)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGWINCH, SIG_DFL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int master = -1, in_open = 1, code = -1;
	char pend[4096];
	size_t plen = 0, poff = 0;
	for (;;) {
		/* Reap first: a child that died before sending its master. */
		int st;
		pid_t r;
		while ((r = waitpid(-1, &st, WNOHANG)) > 0)
			if (r == child)
				code = status_code(st);
		if (code >= 0) {
			if (master >= 0)
				drain_master(master);
			restore_tty();
			_exit(code);
		}
		struct pollfd p[4];
		int np = 0, irelay = -1, imaster = -1, iin = -1;
		p[np] = (struct pollfd){.fd = sfd, .events = POLLIN};
		np++;
		if (master < 0 && tty_relay_fd >= 0) {
			irelay = np;
			p[np++] = (struct pollfd){.fd = tty_relay_fd, .events = POLLIN};
		}
		if (master >= 0) {
			imaster = np;
			p[np++] = (struct pollfd){.fd = master, .events = (short)(POLLIN | (plen ? POLLOUT : 0))};
			if (in_open && !plen) {
				iin = np;
				p[np++] = (struct pollfd){.fd = 0, .events = POLLIN};
			}
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			restore_tty();
			_exit(255);
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == sizeof si)
				if (si.ssi_signo == SIGWINCH && master >= 0)
					copy_winsize(master);
		}
		if (irelay >= 0 && p[irelay].revents) {
			master = recv_master(tty_relay_fd);
			close(tty_relay_fd);
			tty_relay_fd = -1;
			if (master >= 0) {
				fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
				copy_winsize(master);
				raw_tty();
			}
			continue;
		}
		if (imaster >= 0 && (p[imaster].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (drain_master(master) < 0) {
				/* Every slave is closed: only the exit status is left. */
				close(master);
				master = -1;
				in_open = 0;
				/* wait for the child's exit here, reaping orphans too */
				for (;;) {
					pid_t w = waitpid(-1, &st, 0);
					if (w == child || (w < 0 && errno != EINTR)) {
						restore_tty();
						_exit(w == child ? status_code(st) : 255);
					}
				}
			}
		}
		if (imaster >= 0 && plen && (p[imaster].revents & POLLOUT)) {
			ssize_t w = write(master, pend + poff, plen - poff);
			if (w > 0)
				poff += (size_t)w;
			if (poff >= plen)
				plen = poff = 0;
		}
		if (iin >= 0 && (p[iin].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(0, pend, sizeof pend);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				in_open = 0; /* stdin ended; output goes on until the process exits */
			else {
				plen = (size_t)n;
				poff = 0;
			}
		}
	}
}
