/* Read-only and masked paths, applied after pivot_root in that order (as
 * runc does): a mask made later cannot be a writable copy of something a
 * read-only path covers.
 *
 * Each target is opened once (O_PATH, in the container's view) and every
 * mount goes onto that fd with move_mount, from a detached tree: a clone of
 * the target (read-only paths), of the verified /dev/null (masked files) or
 * a new read-only tmpfs (masked directories). No path is looked up twice
 * and none is named through the container's /proc. */
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

/* The container's /dev/null, opened and checked once, for every masked file. */
static int devnull_fd = -1;

static const char *file_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISFIFO(mode))
		return "a fifo";
	if (S_ISSOCK(mode))
		return "a socket";
	return "a character device";
}

/* A masked file gets /dev/null bound over it. Whatever /dev/null is, the
 * bind exposes: a link to a sysctl, swapped in by a hook or a racing
 * process, would make the mask a writable copy of that sysctl
 * (CVE-2025-31133). So it is opened once, following links inside the
 * container's root, and used only if it is the null device, character
 * 1:3. Where the inode lives (the runtime's /dev tmpfs, a node skiff made
 * in the image, the host's /dev bound in) does not matter: every 1:3 node
 * is the same driver, and the bind carries no other file. */
static int open_devnull(const char *path, struct err *e)
{
	if (devnull_fd >= 0)
		return devnull_fd;
	int fd = open("/dev/null", O_PATH | O_CLOEXEC);
	if (fd < 0)
		return fail(e, errno, "mask %s: open /dev/null", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int saved = errno;
		close(fd);
		return fail(e, saved, "mask %s: stat /dev/null", path);
	}
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3) {
		close(fd);
		if (S_ISCHR(st.st_mode))
			return fail(e, 0, "mask %s: /dev/null in the container is character device %u:%u, not the null device 1:3",
				    path, major(st.st_rdev), minor(st.st_rdev));
		return fail(e, 0, "mask %s: /dev/null in the container is %s, not the null device 1:3", path,
			    file_kind(st.st_mode));
	}
	devnull_fd = fd;
	return fd;
}

/* A detached, read-only, empty tmpfs, to cover a masked directory. */
static int empty_tmpfs(const char *path, struct err *e)
{
	int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return fail(e, errno, "mask %s: open tmpfs", path);
	int rc = (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", "tmpfs", 0);
	if (rc == 0)
		rc = (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "ro", NULL, 0);
	if (rc == 0)
		rc = (int)syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
	int mnt = rc < 0 ? -1 : (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	int saved = errno;
	close(fs);
	return mnt < 0 ? fail(e, saved, "mask %s: make tmpfs", path) : mnt;
}

/* Attach the detached tree onto the opened target; closes both. */
static int attach(int tree, int target, const char *what, const char *path, struct err *e)
{
	long rc = syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	int saved = errno;
	close(tree);
	close(target);
	return rc < 0 ? fail(e, saved, "%s %s", what, path) : 0;
}

/* The path as the container sees it, or -1 with *missing set when it is
 * absent (a path the kernel does not have is left alone, as runc does). */
static int open_target(const char *what, const char *path, int *missing, struct err *e)
{
	*missing = 0;
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENOTDIR)
		*missing = 1;
	return *missing ? -1 : fail(e, errno, "%s %s", what, path);
}

int op_readonly(const struct op *o, struct err *e)
{
	const char *path = READONLY_PATH(o);
	int missing;
	int target = open_target("make read-only", path, &missing, e);
	if (target < 0)
		return missing ? 0 : -1;
	/* A recursive clone keeps the flags the kernel locked (nosuid, nodev in
	 * a user namespace); read-only is added to it and every mount below. */
	int tree = (int)syscall(SYS_open_tree, target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0) {
		int saved = errno;
		close(target);
		return fail(e, saved, "make read-only %s: clone", path);
	}
	struct mount_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.attr_set = MOUNT_ATTR_RDONLY;
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
		int saved = errno;
		close(tree);
		close(target);
		return fail(e, saved, "make read-only %s", path);
	}
	return attach(tree, target, "make read-only", path, e);
}

int op_mask(const struct op *o, struct err *e)
{
	const char *path = MASK_PATH(o);
	int missing;
	int target = open_target("mask", path, &missing, e);
	if (target < 0)
		return missing ? 0 : -1;
	struct stat st;
	if (fstat(target, &st) < 0) {
		int saved = errno;
		close(target);
		return fail(e, saved, "mask %s", path);
	}
	int tree;
	if (S_ISDIR(st.st_mode)) {
		tree = empty_tmpfs(path, e);
	} else {
		int null = open_devnull(path, e);
		tree = null < 0 ? -1 : (int)syscall(SYS_open_tree, null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (null >= 0 && tree < 0)
			fail(e, errno, "mask %s: clone /dev/null", path);
	}
	if (tree < 0) {
		close(target);
		return -1;
	}
	return attach(tree, target, "mask", path, e);
}
