/* Mounting onto fds. A target is resolved inside the rootfs once
 * (resolve.c), checked, and from then on named only by its fd:
 *  - a bind is open_tree(OPEN_TREE_CLONE) of the source and move_mount onto
 *    the target fd; the tree's fd then names the new mount, so the remount,
 *    propagation and attributes that follow act on exactly that mount even
 *    if a shared volume swaps a name meanwhile;
 *  - a new filesystem is made with fsopen/fsmount and moved onto the
 *    target fd (mount_new.c);
 *  - mount(2) for remounts and propagation, which carry no source and no
 *    data, gets "self/fd/N" relative to the host's procfs (g.proc_fd) as
 *    its cwd for the one call, never "/proc/self/fd/N", which after
 *    pivot_root would be looked up in the container's /proc. Nothing that
 *    names a path of its own (a source, a filesystem's options) may go
 *    through mount_at: it would resolve against the host's /proc. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The mount the last op_mount (bind) or op_move_tree made, and its target
 * as the plan names it; or the directory plain_dir checked. */
static int made_fd = -1;
static const char *made_target;

void mount_made(int fd, const char *target)
{
	if (made_fd >= 0)
		close(made_fd);
	made_fd = fd;
	made_target = fd >= 0 ? target : NULL;
}

int mount_target_fd(const char *target, struct err *e)
{
	if (made_fd >= 0 && strcmp(made_target, target) == 0) {
		int fd = fcntl(made_fd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? fail(e, errno, "dup the fd of %s", target) : fd;
	}
	if (!*target) {
		int fd = fcntl(g.root_fd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? fail(e, errno, "dup the rootfs fd") : fd;
	}
	return open_in_root(target, O_PATH, e);
}

int mount_at(int fd, unsigned long flags)
{
	if (g.proc_fd < 0) {
		errno = ENOENT; /* /proc was not procfs when we started */
		return -1;
	}
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return -1;
	char rel[32];
	snprintf(rel, sizeof rel, "self/fd/%d", fd);
	int rc = fchdir(g.proc_fd) == 0 ? mount(NULL, rel, NULL, flags, NULL) : -1;
	int saved = errno;
	/* Never stay in the host's procfs: a failed way back is an error. */
	if (fchdir(cwd) < 0) {
		rc = -1;
		saved = errno;
	}
	close(cwd);
	errno = saved;
	return rc;
}

/* The kernel's path of fd in this mount namespace, read beneath the host's
 * procfs; -1 when it cannot be read or does not fit. */
static int fd_path(int fd, char *buf, size_t size)
{
	char rel[32];
	snprintf(rel, sizeof rel, "self/fd/%d", fd);
	ssize_t n = g.proc_fd < 0 ? -1 : readlinkat(g.proc_fd, rel, buf, size - 1);
	if (n < 0 || (size_t)n >= size - 1)
		return -1;
	buf[n] = 0;
	return 0;
}

/* A destination outside /proc that a link in the image took to the rootfs's
 * /proc, or beneath it, while /proc was still a plain directory (once it is
 * procfs, on_procfs sees it). runc resolves the destination in the rootfs
 * and checks where it lands the same way. Mounts are made before
 * pivot_root, so both paths are the host's: the target is in /proc when
 * its path is the rootfs's followed by "/proc" and then nothing or "/". */
int in_root_proc(int fd)
{
	char root[PATH_MAX], path[PATH_MAX];
	if (fd_path(g.root_fd, root, sizeof root) < 0 || fd_path(fd, path, sizeof path) < 0)
		return -1;
	size_t n = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (strncmp(path, root, n) != 0 || strncmp(path + n, "/proc", 5) != 0)
		return 0;
	return path[n + 5] == 0 || path[n + 5] == '/';
}

/* statvfs flags of the mount fd is on, as the MS_* flags a remount keeps. */
unsigned long mount_locked_flags(int fd)
{
	struct statvfs sv;
	if (fstatvfs(fd, &sv) < 0)
		return 0;
	unsigned long f = sv.f_flag & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME);
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

int clone_tree(int dirfd, const char *path, int recursive)
{
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) | (*path ? 0 : AT_EMPTY_PATH);
	return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

int move_tree_onto(int tree, int target)
{
	return (int)syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}
