/* Ops that build the container's filesystem view: the rootfs, mounts,
 * device nodes, links, pivot_root, masked and read-only paths. Paths before
 * pivot_root are resolved inside the rootfs (resolve.c); from then on the
 * target is named by its fd only (mount_fd.c), so the kernel mounts on
 * exactly the directory that was checked. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int op_open_root(const struct op *o, struct err *e)
{
	if (mount(OPEN_ROOT_PATH(o), OPEN_ROOT_PATH(o), NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail(e, errno, "bind rootfs %s", OPEN_ROOT_PATH(o));
	g.root_fd = open(OPEN_ROOT_PATH(o), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (g.root_fd < 0)
		return fail(e, errno, "open rootfs %s", OPEN_ROOT_PATH(o));
	/* The mounts that follow resolve a relative source or option against
	 * the cwd: make it the host's "/" (a relative path means what the
	 * absolute one would), not whatever directory skiff was called from. */
	if (chdir("/") < 0)
		return fail(e, errno, "chdir /");
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
	/* The O_PATH directory fd serves as openat's dirfd: no path through /proc. */
	int fd = openat(dir, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, (mode_t)MKFILE_MODE(o));
	int saved = errno;
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
	/* The spec's fileMode is exact: made under umask 0, so that no chmod
	 * by name follows (a name the rootfs can swap for a link to a host file). */
	mode_t old_mask = umask(0);
	int rc = mknodat(dir, base, mode, dev);
	umask(old_mask);
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
		/* Before pivot_root: path is the host's device node. */
		int tree = clone_tree(AT_FDCWD, path, 0);
		rc = tree < 0 ? -1 : move_tree_onto(tree, t);
		int saved = errno;
		if (tree >= 0)
			close(tree);
		close(t);
		close(dir);
		return rc < 0 ? fail(e, saved, "bind device %s", path) : 0;
	}
	if (rc < 0) {
		int saved = errno;
		close(dir);
		return fail(e, saved, "mknod %s", path);
	}
	/* Own it by fd, after checking the name still holds the node we made. */
	int node = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	close(dir);
	if (node < 0)
		return fail(e, errno, "open %s", path);
	struct stat st;
	/* A fifo has no device number: the kernel ignores the one given. */
	int is_dev = S_ISCHR(mode) || S_ISBLK(mode);
	if (fstat(node, &st) < 0 || (st.st_mode & S_IFMT) != (mode & S_IFMT) || (is_dev && st.st_rdev != dev)) {
		close(node);
		return fail(e, EEXIST, "mknod %s: replaced while it was made", path);
	}
	rc = fchownat(node, "", (uid_t)MKNOD_UID(o), (gid_t)MKNOD_GID(o), AT_EMPTY_PATH);
	int saved = errno;
	close(node);
	return rc < 0 ? fail(e, saved, "set owner of %s", path) : 0;
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

/* Where procfs and sysfs go: a directory reached without any symlink
 * (created when missing), else refused before anything is made. Its fd is
 * what the mount that follows lands on. */
int op_plain_dir(const struct op *o, struct err *e)
{
	const char *path = PLAIN_DIR_PATH(o);
	int fd = open_plain_in_root(path, O_PATH | O_DIRECTORY);
	if (fd < 0 && errno == ENOENT) {
		/* Every component that exists is a directory, none a link. */
		int made = mkdir_in_root(path, (int)PLAIN_DIR_MODE(o), e);
		if (made < 0)
			return -1;
		close(made);
		fd = open_plain_in_root(path, O_PATH | O_DIRECTORY);
	}
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR || errno == EXDEV))
		return fail(e, 0, "%s must be mounted on an ordinary directory", path);
	if (fd < 0)
		return fail(e, errno, "open %s in rootfs", path);
	mount_made(fd, path);
	return 0;
}

/* procfs field of the mount op (src/plan/compile.ts procfsRule). */
#define PROCFS_REFUSE 0
#define PROCFS_SOURCE 2

static int mount_failed(const struct op *o, int errnum, const char *why, struct err *e)
{
	const char *src = MOUNT_SOURCE(o), *type = MOUNT_FSTYPE(o), *target = MOUNT_TARGET(o);
	return fail(e, errnum, "mount %s%s%s on %s%s%s", src, *type ? " type " : "", type, *target ? target : "rootfs",
		    why ? ": " : "", why ? why : "");
}

/* A bind: a detached copy of the source moved onto the target fd; the
 * copy's fd then names the new mount for the ops that follow. */
static int bind_onto(const struct op *o, int target, struct err *e)
{
	int tree = clone_tree(AT_FDCWD, MOUNT_SOURCE(o), (MOUNT_FLAGS(o) & MS_REC) != 0);
	if (tree < 0)
		return mount_failed(o, errno, NULL, e);
	/* As runc's checkProcMount: only a procfs may be bound onto /proc. */
	if (MOUNT_PROCFS(o) == PROCFS_SOURCE && !on_procfs(tree)) {
		close(tree);
		return mount_failed(o, 0, "only procfs may be bound onto /proc", e);
	}
	if (move_tree_onto(tree, target) < 0) {
		int saved = errno;
		close(tree);
		return mount_failed(o, saved, NULL, e);
	}
	mount_made(tree, MOUNT_TARGET(o));
	return 0;
}

int op_mount(const struct op *o, struct err *e)
{
	int fd = mount_target_fd(MOUNT_TARGET(o), e);
	if (fd < 0)
		return -1;
	mount_made(-1, NULL);
	/* /data -> /proc/self in the image would put a volume over our own
	 * /proc entries: a target on procfs only where the spec's mounts go. */
	if (MOUNT_PROCFS(o) == PROCFS_REFUSE && on_procfs(fd)) {
		close(fd);
		return mount_failed(o, 0, "the target resolves into procfs", e);
	}
	/* The same link, before /proc is procfs: the plan says where the
	 * destination is written, and only /proc's own mounts go there. */
	int in_proc = MOUNT_PROCFS(o) == PROCFS_REFUSE ? in_root_proc(fd) : 0;
	if (in_proc != 0) {
		int saved = errno;
		close(fd);
		return in_proc < 0 ? mount_failed(o, saved, "cannot tell whether the target is in /proc", e)
				   : mount_failed(o, 0, "the target resolves into /proc", e);
	}
	unsigned long flags = (unsigned long)MOUNT_FLAGS(o);
	int rc;
	if (flags & MS_BIND) {
		rc = bind_onto(o, fd, e);
	} else {
		const char *src = *MOUNT_SOURCE(o) ? MOUNT_SOURCE(o) : NULL;
		const char *type = *MOUNT_FSTYPE(o) ? MOUNT_FSTYPE(o) : NULL;
		const char *data = *MOUNT_DATA(o) ? MOUNT_DATA(o) : NULL;
		rc = mount_new_fs(fd, src, type, flags, data) < 0 ? mount_failed(o, errno, NULL, e) : 0;
	}
	close(fd);
	return rc;
}

int op_remount(const struct op *o, struct err *e)
{
	int fd = mount_target_fd(REMOUNT_TARGET(o), e);
	if (fd < 0)
		return -1;
	unsigned long flags = (unsigned long)REMOUNT_FLAGS(o) | MS_REMOUNT;
	int rc = mount_at(fd, flags);
	if (rc < 0 && errno == EPERM && (flags & MS_BIND))
		rc = mount_at(fd, flags | mount_locked_flags(fd));
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
		int fd = mount_target_fd(t, e);
		if (fd < 0)
			return -1;
		rc = mount_at(fd, (unsigned long)PROPAGATE_FLAGS(o));
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return rc < 0 ? fail(e, errno, "set propagation of %s", *t ? t : "rootfs") : 0;
}

int op_setattr(const struct op *o, struct err *e)
{
	int fd = mount_target_fd(SETATTR_TARGET(o), e);
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
