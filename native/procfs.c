/* The host's procfs, opened once at start, before anything of the
 * container exists. Every /proc file skiff-init writes (oom_score_adj,
 * sysctls, id maps, time offsets) and every fd it reopens (exec.fifo) is
 * reached from this fd, never by a "/proc/..." path: after pivot_root that
 * path is the container's /proc, where a volume or a symlink in the image
 * can put anything over /proc/self (CVE-2025-52881). A mount the container
 * makes lands on its own copy of the mount tree, never on the mount this
 * fd holds. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#define PROC_ROOT_INO 1

int on_procfs(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

/* -1 when /proc is not the root of a procfs (then every op that needs it fails). */
int procfs_open(void)
{
	int fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (!on_procfs(fd) || fstat(fd, &st) < 0 || st.st_ino != PROC_ROOT_INO)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* rel ("self/oom_score_adj", "sys/net/ipv4/ip_forward") beneath the host's
 * procfs: no magic links, no ".." out, no mount crossed; and it is procfs. */
int proc_open(const char *rel, int flags, struct err *e)
{
	if (g.proc_fd < 0)
		return fail(e, ENOENT, "open /proc/%s: /proc was not procfs when skiff-init started", rel);
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	long fd = syscall(SYS_openat2, g.proc_fd, rel, &how, sizeof how);
	if (fd < 0)
		return fail(e, errno, "open /proc/%s", rel);
	if (!on_procfs((int)fd)) {
		close((int)fd);
		return fail(e, 0, "open /proc/%s: not on procfs", rel);
	}
	return (int)fd;
}

/* Write value to /proc/rel in one write (the kernel takes id maps whole). */
int proc_write(const char *rel, const char *value, struct err *e)
{
	int fd = proc_open(rel, O_WRONLY, e);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, value, strlen(value));
	int saved = errno;
	close(fd);
	return n < 0 ? fail(e, saved, "write /proc/%s", rel) : 0;
}

/* A new open file of what fd (often O_PATH) refers to, with flags: through
 * the host procfs's self/fd, and checked to be the same inode. */
int proc_reopen(int fd, int flags, struct err *e)
{
	if (g.proc_fd < 0)
		return fail(e, ENOENT, "reopen fd %d: /proc was not procfs when skiff-init started", fd);
	char rel[32];
	snprintf(rel, sizeof rel, "self/fd/%d", fd);
	int nfd = openat(g.proc_fd, rel, flags | O_CLOEXEC);
	if (nfd < 0)
		return fail(e, errno, "reopen fd %d", fd);
	struct stat a, b;
	if (fstat(fd, &a) < 0 || fstat(nfd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(nfd);
		return fail(e, 0, "reopen fd %d: another file came back", fd);
	}
	return nfd;
}
