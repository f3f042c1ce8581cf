/* Ops that build the container's filesystem view: the rootfs, mounts,
 * device nodes, links, pivot_root, masked and read-only paths. Paths before
 * pivot_root are resolved inside the rootfs (resolve.c); mount(2) is given
 * /proc/self/fd/N of the resolved target, so the kernel mounts on exactly
 * the directory that was checked. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Flags that a bind remount must keep when the kernel has locked them. */
#define LOCKED_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME)

static int target_fd(const char *target, struct err *e)
{
	if (!*target)
		return fcntl(g.root_fd, F_DUPFD_CLOEXEC, 3);
	return open_in_root(target, O_PATH, e);
}

static void fd_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

static unsigned long current_flags(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return 0;
	return sv.f_flag & LOCKED_FLAGS;
}

int op_open_root(const struct op *o, struct err *e)
{
	if (mount(OPEN_ROOT_PATH(o), OPEN_ROOT_PATH(o), NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail(e, errno, "bind rootfs %s", OPEN_ROOT_PATH(o));
	g.root_fd = open(OPEN_ROOT_PATH(o), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (g.root_fd < 0)
		return fail(e, errno, "open rootfs %s", OPEN_ROOT_PATH(o));
	return 0;
}

int op_mkdir(const struct op *o, struct err *e)
{
	int fd = mkdir_in_root(MKDIR_PATH(o), (int)MKDIR_MODE(o), e);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int op_mkfile(const struct op *o, struct err *e)
{
	const char *base;
	int dir = open_parent_in_root(MKFILE_PATH(o), &base, e);
	if (dir < 0)
		return -1;
	/* The target may already exist as anything; only create when absent. */
	struct stat st;
	if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		close(dir);
		return 0;
	}
	char p[64];
	fd_path(p, sizeof p, dir);
	int dfd = open(p, O_DIRECTORY | O_CLOEXEC);
	int fd = dfd < 0 ? -1 : openat(dfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, (mode_t)MKFILE_MODE(o));
	int saved = errno;
	if (dfd >= 0)
		close(dfd);
	close(dir);
	if (fd < 0 && saved != EEXIST)
		return fail(e, saved, "create %s", MKFILE_PATH(o));
	if (fd >= 0)
		close(fd);
	return 0;
}

int op_mknod(const struct op *o, struct err *e)
{
	const char *path = MKNOD_PATH(o), *base;
	int dir = open_parent_in_root(path, &base, e);
	if (dir < 0)
		return -1;
	mode_t mode = (mode_t)MKNOD_MODE(o);
	dev_t dev = makedev((unsigned)MKNOD_MAJOR(o), (unsigned)MKNOD_MINOR(o));
	unlinkat(dir, base, 0); /* a stale file in the image must not win */
	int rc = mknodat(dir, base, mode, dev);
	if (rc < 0 && errno == EPERM && S_ISCHR(mode)) {
		/* In a user namespace mknod is refused: bind the host's node. */
		struct op f = {.code = OP_MKFILE, .s = {(char *)path}, .i = {0644}};
		if (op_mkfile(&f, e) < 0) {
			close(dir);
			return -1;
		}
		int t = open_in_root(path, O_PATH, e);
		if (t < 0) {
			close(dir);
			return -1;
		}
		char p[64];
		fd_path(p, sizeof p, t);
		rc = mount(path, p, NULL, MS_BIND, NULL);
		int saved = errno;
		close(t);
		close(dir);
		return rc < 0 ? fail(e, saved, "bind device %s", path) : 0;
	}
	if (rc < 0) {
		int saved = errno;
		close(dir);
		return fail(e, saved, "mknod %s", path);
	}
	rc = fchownat(dir, base, (uid_t)MKNOD_UID(o), (gid_t)MKNOD_GID(o), AT_SYMLINK_NOFOLLOW);
	int saved = errno;
	if (rc == 0) {
		char p[64];
		fd_path(p, sizeof p, dir);
		int dfd = open(p, O_DIRECTORY | O_CLOEXEC);
		/* mknod applies the umask; the spec's fileMode is exact. */
		rc = dfd < 0 ? -1 : fchmodat(dfd, base, mode & 07777, 0);
		saved = errno;
		if (dfd >= 0)
			close(dfd);
	}
	close(dir);
	return rc < 0 ? fail(e, saved, "set owner and mode of %s", path) : 0;
}

int op_symlink(const struct op *o, struct err *e)
{
	const char *base;
	int dir = open_parent_in_root(SYMLINK_PATH(o), &base, e);
	if (dir < 0)
		return -1;
	int rc = symlinkat(SYMLINK_TARGET(o), dir, base);
	int saved = errno;
	close(dir);
	if (rc < 0 && saved != EEXIST)
		return fail(e, saved, "symlink %s", SYMLINK_PATH(o));
	return 0;
}

int op_mount(const struct op *o, struct err *e)
{
	int fd = target_fd(MOUNT_TARGET(o), e);
	if (fd < 0)
		return -1;
	char p[64];
	fd_path(p, sizeof p, fd);
	const char *src = *MOUNT_SOURCE(o) ? MOUNT_SOURCE(o) : NULL;
	const char *type = *MOUNT_FSTYPE(o) ? MOUNT_FSTYPE(o) : NULL;
	const char *data = *MOUNT_DATA(o) ? MOUNT_DATA(o) : NULL;
	int rc = mount(src, p, type, (unsigned long)MOUNT_FLAGS(o), data);
	int saved = errno;
	close(fd);
	if (rc < 0)
		return fail(e, saved, "mount %s%s%s on %s", src ? src : "", type ? " type " : "", type ? type : "",
			    *MOUNT_TARGET(o) ? MOUNT_TARGET(o) : "rootfs");
	return 0;
}

int op_remount(const struct op *o, struct err *e)
{
	int fd = target_fd(REMOUNT_TARGET(o), e);
	if (fd < 0)
		return -1;
	char p[64];
	fd_path(p, sizeof p, fd);
	unsigned long flags = (unsigned long)REMOUNT_FLAGS(o) | MS_REMOUNT;
	int rc = mount(NULL, p, NULL, flags, NULL);
	if (rc < 0 && errno == EPERM && (flags & MS_BIND))
		rc = mount(NULL, p, NULL, flags | current_flags(p), NULL);
	int saved = errno;
	close(fd);
	return rc < 0 ? fail(e, saved, "remount %s", REMOUNT_TARGET(o)) : 0;
}

int op_propagate(const struct op *o, struct err *e)
{
	const char *t = PROPAGATE_TARGET(o);
	int rc;
	if (*t == '/' && g.root_fd < 0) {
		/* Before open_root: a host path ("/", or the rootfs's parent mount). */
		rc = mount(NULL, t, NULL, (unsigned long)PROPAGATE_FLAGS(o), NULL);
	} else {
		int fd = target_fd(t, e);
		if (fd < 0)
			return -1;
		char p[64];
		fd_path(p, sizeof p, fd);
		rc = mount(NULL, p, NULL, (unsigned long)PROPAGATE_FLAGS(o), NULL);
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return rc < 0 ? fail(e, errno, "set propagation of %s", *t ? t : "rootfs") : 0;
}

int op_setattr(const struct op *o, struct err *e)
{
	int fd = target_fd(SETATTR_TARGET(o), e);
	if (fd < 0)
		return -1;
	struct mount_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.attr_set = (uint64_t)SETATTR_SET(o);
	attr.attr_clr = (uint64_t)SETATTR_CLEAR(o);
	attr.propagation = (uint64_t)SETATTR_PROPAGATION(o);
	long rc = syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
	int saved = errno;
	close(fd);
	return rc < 0 ? fail(e, saved, "set recursive mount attributes of %s", SETATTR_TARGET(o)) : 0;
}

int op_open_fifo(const struct op *o, struct err *e)
{
	g.fifo_fd = open(OPEN_FIFO_PATH(o), O_PATH | O_CLOEXEC);
	return g.fifo_fd < 0 ? fail(e, errno, "open %s", OPEN_FIFO_PATH(o)) : 0;
}

int op_pivot_root(const struct op *o, struct err *e)
{
	(void)o;
	/* pivot_root(".", ".") stacks the old root on top of the new one, so
	 * no directory for it is needed inside the rootfs. */
	if (fchdir(g.root_fd) < 0)
		return fail(e, errno, "enter rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(e, errno, "pivot_root");
	/* Keep the host from seeing the unmount below. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return fail(e, errno, "make old root slave");
	if (umount2(".", MNT_DETACH) < 0)
		return fail(e, errno, "detach old root");
	if (chdir("/") < 0)
		return fail(e, errno, "chdir /");
	return 0;
}
