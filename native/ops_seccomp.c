/* seccomp: load a filter compiled by skiff (TypeScript, src/seccomp/); no
 * libseccomp. For SCMP_ACT_NOTIFY the listener socket is connected early
 * (op_seccomp_listener, while listenerPath is still reachable) and, once the
 * filter is loaded, gets the listener fd and the container process state in
 * one sendmsg with SCM_RIGHTS. */
#include "init.h"
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

static int listener_fd = -1;   /* connected to listenerPath */
static char *listener_state;  /* container process state JSON, from skiff */

/* skiff wants the pid as the host sees it: it sends the state at the point. */
static int take_state(const char *point)
{
	sync_send("point %s", point);
	if (sync_wait_go() < 0 || sync_read_payload(&listener_state) < 0)
		_exit(1); /* skiff gave up on us and cleans up */
	return 0;
}

/* Connect (path), take the state (point), or both. exec connects in the
 * parent stage, before it joins the container's mount namespace, and takes
 * the state in the child, once the pid is known. */
int op_seccomp_listener(const struct op *o, struct err *e)
{
	const char *path = SECCOMP_LISTENER_PATH(o), *point = SECCOMP_LISTENER_POINT(o);
	if (!*path)
		return *point ? take_state(point) : 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return fail(e, ENAMETOOLONG, "connect to seccomp listener %s", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(e, errno, "socket for seccomp listener");
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int err = errno;
		close(fd);
		return fail(e, err, "connect to seccomp listener %s", path);
	}
	listener_fd = fd;
	return *point ? take_state(point) : 0;
}

void seccomp_after_clone(int child)
{
	/* Only the container process sends on it: the agent may read to EOF. */
	if (!child && listener_fd >= 0) {
		close(listener_fd);
		listener_fd = -1;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int send_listener(int notify_fd, struct err *e)
{
	const char *state = listener_state ? listener_state : "";
	struct iovec iov = {.iov_base = (void *)state, .iov_len = strlen(state)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &notify_fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(listener_fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fail(e, errno, "send seccomp listener fd");
	return 0;
}

int op_seccomp(const struct op *o, struct err *e)
{
	const char *hex = SECCOMP_PROGRAM(o);
	size_t len = strlen(hex);
	if (len == 0 || len % 16 != 0 || len / 16 > BPF_MAXINSNS)
		return fail(e, EINVAL, "seccomp program of %zu hex digits", len);
	unsigned char *bytes = malloc(len / 2);
	if (!bytes)
		return fail(e, ENOMEM, "seccomp program");
	for (size_t k = 0; k < len / 2; k++) {
		int hi = hexval(hex[2 * k]), lo = hexval(hex[2 * k + 1]);
		if (hi < 0 || lo < 0) {
			free(bytes);
			return fail(e, EINVAL, "seccomp program: not hex at %zu", 2 * k);
		}
		bytes[k] = (unsigned char)(hi << 4 | lo);
	}
	/* The bytes are struct sock_filter in host order, as skiff encoded them. */
	struct sock_fprog prog = {.len = (unsigned short)(len / 16), .filter = (struct sock_filter *)bytes};
	unsigned long flags = (unsigned long)SECCOMP_FLAGS(o);
	int notify = (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0;
	if (notify && listener_fd < 0) {
		free(bytes);
		return fail(e, EINVAL, "seccomp notify without a listener");
	}
	long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	int err = errno;
	free(bytes);
	if (rc < 0)
		return fail(e, err, "load seccomp filter");
	if (!notify)
		return 0;
	int nfd = (int)rc;
	int r = send_listener(nfd, e);
	close(nfd);
	close(listener_fd);
	listener_fd = -1;
	return r;
}
