/* recvtty: the test suite's receiver for --console-socket (like runc's
 * recvtty). Listens on a unix socket, accepts one connection, and checks
 * that exactly one message came with a name and exactly one fd, a pty
 * master; anything else fails loudly (exit 2).
 *
 *   recvtty [-m relay|save] [-o FILE] [-i TEXT] [-n FILE] SOCKET
 *
 * -n FILE  write "name NAME\nfds N\npts N\n" there (default: stderr)
 * -m relay stdin -> master, master -> stdout (default)
 * -m save  write TEXT (-i) into the master, copy the master to FILE (-o)
 * Either way it ends when every slave is closed (the process exited).
 * The socket appears only once it listens (bound under a temp name and
 * renamed), so a caller may wait for the path to exist. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("recvtty: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			die("write: %s", strerror(errno));
		buf += w;
		len -= (size_t)w;
	}
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmp[sizeof sa.sun_path];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		die("socket path too long: %s", path);
	memcpy(sa.sun_path, tmp, strlen(tmp));
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(tmp);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 1) < 0)
		die("listen on %s: %s", tmp, strerror(errno));
	if (rename(tmp, path) < 0)
		die("rename %s: %s", tmp, strerror(errno));
	return s;
}

/* One message: a name and exactly one fd. Then the sender must close. */
static int receive(int conn, FILE *report)
{
	char name[4096];
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = name, .iov_len = sizeof name - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
	ssize_t n;
	do
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("recvmsg: %s", strerror(errno));
	if (n == 0)
		die("the connection closed without a message");
	name[n] = 0;
	if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		die("message truncated (flags 0x%x)", msg.msg_flags);
	int nfds = 0, fd = -1, ncmsg = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		ncmsg++;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			die("unexpected control message %d/%d", c->cmsg_level, c->cmsg_type);
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
			if (fd < 0)
				fd = got;
			else
				close(got);
			nfds++;
		}
	}
	if (nfds != 1 || ncmsg != 1)
		die("expected exactly one fd in one message, got %d fds in %d control messages", nfds, ncmsg);
	if (!*name)
		die("no name came with the fd");
	int ptn = -1;
	if (ioctl(fd, TIOCGPTN, &ptn) < 0)
		die("the fd is not a pty master: %s", strerror(errno));
	/* Nothing more may follow: the sender closes its end. */
	char extra[64];
	do
		n = recv(conn, extra, sizeof extra, 0);
	while (n < 0 && errno == EINTR);
	if (n != 0)
		die("more than one message on the console socket (%zd bytes more)", n);
	fprintf(report, "name %s\nfds %d\npts %d\n", name, nfds, ptn);
	fflush(report);
	return fd;
}

int main(int argc, char **argv)
{
	const char *mode = "relay", *out = NULL, *input = NULL, *namefile = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "m:o:i:n:")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'o': out = optarg; break;
		case 'i': input = optarg; break;
		case 'n': namefile = optarg; break;
		default: die("usage: recvtty [-m relay|save] [-o FILE] [-i TEXT] [-n FILE] SOCKET");
		}
	}
	if (optind != argc - 1)
		die("usage: recvtty [-m relay|save] [-o FILE] [-i TEXT] [-n FILE] SOCKET");
	int relay = strcmp(mode, "relay") == 0;
	if (!relay && strcmp(mode, "save") != 0)
		die("unknown mode %s", mode);
	int s = listen_at(argv[optind]);
	int conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		die("accept: %s", strerror(errno));
	close(s);
	unlink(argv[optind]);
	FILE *report = namefile ? fopen(namefile, "w") : stderr;
	if (!report)
		die("open %s: %s", namefile, strerror(errno));
	int master = receive(conn, report);
	if (report != stderr)
		fclose(report);
	close(conn);
	int outfd = 1;
	if (!relay && out) {
		outfd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (outfd < 0)
			die("open %s: %s", out, strerror(errno));
	}
	if (input)
		write_all(master, input, strlen(input));
	int in_open = relay;
	char buf[8192];
	for (;;) {
		struct pollfd p[2] = {{.fd = master, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
		if (poll(p, in_open ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (p[0].revents) {
			ssize_t n = read(master, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break; /* EIO: every slave is closed */
			write_all(outfd, buf, (size_t)n);
		}
		if (in_open && p[1].revents) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n <= 0)
				in_open = 0;
			else
				write_all(master, buf, (size_t)n);
		}
	}
	return 0;
}
