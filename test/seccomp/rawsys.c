/* Makes raw system calls and prints what each returned, for comparing
 * seccomp filters under two runtimes.
 *
 *   rawsys NR[:A0[:A1...:A5]] ...
 *
 * Each argument is one call: the syscall number and up to six arguments
 * (decimal, 0x hex, or negative), separated by ':'. Prints one line per
 * call, "SPEC = RESULT", RESULT being the return value or -ERRNO. The raw
 * syscall(2) is used so libc cannot change the errno a filter returned
 * (glibc hides ENOSYS behind fallbacks for some wrappers). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long parse(const char *s, char **end)
{
	if (*s == '-')
		return strtol(s, end, 0);
	return (long)strtoul(s, end, 0);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: rawsys NR[:A0[:A1...]] ...\n", stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		long v[7] = {0};
		char *p = argv[i], *end;
		int n = 0;
		for (; n < 7; n++) {
			v[n] = parse(p, &end);
			if (end == p) {
				fprintf(stderr, "rawsys: bad call %s\n", argv[i]);
				return 2;
			}
			if (*end != ':')
				break;
			p = end + 1;
		}
		if (*end != '\0') {
			fprintf(stderr, "rawsys: bad call %s\n", argv[i]);
			return 2;
		}
		errno = 0;
		long r = syscall(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
		printf("%s = %ld\n", argv[i], r < 0 ? -(long)errno : r);
		fflush(stdout);
	}
	return 0;
}
