/* Messages to skiff over the sync socket: one text line each.
 * skiff answers a point with one byte: 'G' to go on, anything else to stop. */
#include "init.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void sync_send(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	for (int at = 0; at < n;) {
		ssize_t w = write(g.sync_fd, line + at, (size_t)(n - at));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		at += (int)w;
	}
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
