/* A seccomp notify agent for tests.
 *
 *   agent SOCKET STATEFILE ERRNO
 *
 * Listens on SOCKET (AF_UNIX, SOCK_STREAM), accepts one connection, receives
 * one message: the container process state (written to STATEFILE) with the
 * listener fd in SCM_RIGHTS. Then answers every notification: ERRNO > 0 makes
 * the syscall fail with that errno, 0 makes it "succeed" (returns 0 without
 * running it). Each answer is logged to STATEFILE.log as "NR\n". Exits when
 * the container is gone. Prints "ready" on stdout once listening. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "agent: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: agent SOCKET STATEFILE ERRNO\n");
		return 2;
	}
	int answer = atoi(argv[3]);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
	unlink(argv[1]);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 1) < 0)
		die("listen");
	printf("ready\n");
	fflush(stdout);
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
		return 1;
	}
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	FILE *f = fopen(argv[2], "w");
	if (!f)
		die("open state file");
	fputs(state, f);
	fclose(f);
	char logpath[4096];
	snprintf(logpath, sizeof logpath, "%s.log", argv[2]);
	FILE *log = fopen(logpath, "w");
	if (!log)
		die("open log");

	struct seccomp_notif_sizes sizes;
	if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		die("notif sizes");
	struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
	struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
	for (;;) {
		memset(req, 0, sizes.seccomp_notif);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
			if (errno == EINTR)
				continue;
			break; /* ENOENT: the container is gone */
		}
		memset(resp, 0, sizes.seccomp_notif_resp);
		resp->id = req->id;
		resp->error = answer ? -answer : 0;
		resp->val = 0;
		fprintf(log, "%d\n", req->data.nr);
		fflush(log);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
			die("notif send");
	}
	return 0;
}
