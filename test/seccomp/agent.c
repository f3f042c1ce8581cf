/* A seccomp notify agent for tests.
 *
 *   agent SOCKET STATEFILE ERRNO|continue [CONNECTIONS]
 *
 * Listens on SOCKET (AF_UNIX, SOCK_STREAM) and accepts CONNECTIONS (default
 * 1) connections, one per container process whose filter notifies (create,
 * then each exec). Each sends one message: the container process state
 * (written to STATEFILE for the first, STATEFILE.K for the K-th after it)
 * with the listener fd in SCM_RIGHTS. Every notification on any fd gets the
 * same answer: ERRNO > 0 makes the syscall fail with that errno, 0 makes it
 * "succeed" (returns 0 without running it), "continue" lets the kernel run
 * it (SECCOMP_USER_NOTIF_FLAG_CONTINUE, as runc's test agent does). Each answer is logged to
 * STATEFILE.log as "NR". Exits when every connection came and every process
 * is gone. Prints "ready" on stdout once listening. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CONN 16

static void die(const char *what)
{
	fprintf(stderr, "agent: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One connection: the state to a file, the listener fd returned. */
static int take(int ls, const char *statefile, int k)
{
	int c = accept(ls, NULL, NULL);
	if (c < 0)
		die("accept");
	static char state[65536];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = state, .iov_len = sizeof state - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	ssize_t n = recvmsg(c, &msg, 0);
	if (n < 0)
		die("recvmsg");
	state[n] = 0;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "agent: no fd in the message\n");
		exit(1);
	}
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	close(c);
	char path[4096];
	if (k == 0)
		snprintf(path, sizeof path, "%s", statefile);
	else
		snprintf(path, sizeof path, "%s.%d", statefile, k);
	FILE *f = fopen(path, "w");
	if (!f)
		die("open state file");
	fputs(state, f);
	fclose(f);
	return fd;
}

static void answer(int fd, int errnum, FILE *log, const struct seccomp_notif_sizes *sizes)
{
	static struct seccomp_notif *req;
	static struct seccomp_notif_resp *resp;
	if (!req) {
		req = calloc(1, sizes->seccomp_notif);
		resp = calloc(1, sizes->seccomp_notif_resp);
	}
	memset(req, 0, sizes->seccomp_notif);
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
		return; /* ENOENT: the caller is gone already */
	memset(resp, 0, sizes->seccomp_notif_resp);
	resp->id = req->id;
	if (errnum < 0) {
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else {
		resp->error = errnum ? -errnum : 0;
		resp->val = 0;
	}
	fprintf(log, "%d\n", req->data.nr);
	fflush(log);
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
		die("notif send");
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: agent SOCKET STATEFILE ERRNO|continue [CONNECTIONS]\n");
		return 2;
	}
	int errnum = strcmp(argv[3], "continue") == 0 ? -1 : atoi(argv[3]);
	int want = argc == 5 ? atoi(argv[4]) : 1;
	if (want < 1 || want > MAX_CONN) {
		fprintf(stderr, "agent: CONNECTIONS from 1 to %d\n", MAX_CONN);
		return 2;
	}
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
	unlink(argv[1]);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, MAX_CONN) < 0)
		die("listen");
	printf("ready\n");
	fflush(stdout);
	char logpath[4096];
	snprintf(logpath, sizeof logpath, "%s.log", argv[2]);
	FILE *log = fopen(logpath, "w");
	if (!log)
		die("open log");
	struct seccomp_notif_sizes sizes;
	if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		die("notif sizes");

	/* p[0] is the listening socket until every connection came. */
	struct pollfd p[MAX_CONN + 1];
	int nfds = 1, accepted = 0, open = 0;
	p[0] = (struct pollfd){.fd = ls, .events = POLLIN};
	while (accepted < want || open > 0) {
		if (poll(p, (nfds_t)nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = 1; i < nfds; i++) {
			if (p[i].fd < 0)
				continue;
			if (p[i].revents & POLLIN)
				answer(p[i].fd, errnum, log, &sizes);
			else if (p[i].revents & (POLLHUP | POLLERR)) {
				close(p[i].fd); /* every process of this filter is gone */
				p[i].fd = -1;
				open--;
			}
		}
		if (p[0].fd >= 0 && (p[0].revents & POLLIN)) {
			p[nfds++] = (struct pollfd){.fd = take(ls, argv[2], accepted), .events = POLLIN};
			accepted++;
			open++;
			if (accepted == want)
				p[0].fd = -1; /* poll ignores negative fds */
		}
	}
	return 0;
}
