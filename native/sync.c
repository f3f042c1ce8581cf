/* Messages to skiff over the sync socket: one text line each.
 * skiff answers a point with one byte: 'G' to go on, anything else to stop. */
#include "init.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>

int sync_send(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	for (int at = 0; at < n;) {
		ssize_t w = write(g.sync_fd, line + at, (size_t)(n - at));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		at += (int)w;
	}
	return 0;
}

int sync_wait_go(void)
{
	char c;
	for (;;) {
		ssize_t n = read(g.sync_fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		return n == 1 && c == 'G' ? 0 : -1;
	}
}

/* A payload follows a go: u32 length, then the bytes. */
int sync_read_payload(char **out)
{
	uint32_t len;
	size_t got = 0;
	while (got < sizeof len) {
		ssize_t n = read(g.sync_fd, (char *)&len + got, sizeof len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	char *buf = malloc((size_t)len + 1);
	if (!buf)
		return -1;
	for (got = 0; got < len;) {
		ssize_t n = read(g.sync_fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return -1;
		}
		got += (size_t)n;
	}
	buf[len] = 0;
	*out = buf;
	return 0;
}
