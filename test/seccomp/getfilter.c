/* Dump the newest seccomp filter of a process as raw struct sock_filter
 * bytes on stdout: ptrace(PTRACE_SECCOMP_GET_FILTER). Root only.
 *   getfilter PID > filter.bin */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: getfilter PID\n");
		return 2;
	}
	pid_t pid = atoi(argv[1]);
	if (ptrace(PTRACE_ATTACH, pid, 0, 0) < 0 || waitpid(pid, NULL, __WALL) < 0) {
		fprintf(stderr, "getfilter: attach %d: %s\n", pid, strerror(errno));
		return 1;
	}
	long n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, NULL);
	if (n < 0) {
		fprintf(stderr, "getfilter: count: %s\n", strerror(errno));
		return 1;
	}
	struct sock_filter *f = calloc((size_t)n, sizeof *f);
	if (!f || ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, f) != n) {
		fprintf(stderr, "getfilter: get: %s\n", strerror(errno));
		return 1;
	}
	ptrace(PTRACE_DETACH, pid, 0, 0);
	fwrite(f, sizeof *f, (size_t)n, stdout);
	return 0;
}
