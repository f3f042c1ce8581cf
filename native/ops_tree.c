/* Bind mounts made by the parent stage as detached trees (see
 * src/plan/bind_trees.ts): idmapped ones, whose mount_setattr(IDMAP) needs
 * CAP_SYS_ADMIN in the user namespace of the source's filesystem, which a
 * container's own user namespace never has (the parent stage makes a user
 * namespace holding the mapping and idmaps the tree with it); and every
 * bind of a container with a user namespace, whose source that namespace
 * may not reach. The trees are inherited across clone; the container
 * process moves each onto its target. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define IDMAP_MAX 256 /* src/plan/bind_trees.ts keeps slots below this */

static int userns_fd[IDMAP_MAX], nuserns;
static int tree_fd[IDMAP_MAX], ntree;
static const char *tree_src[IDMAP_MAX];

/* Slots are handed out in order: a new one is the next, an old one exists. */
static int slot_ok(int64_t slot, int count, int fresh)
{
	return slot >= 0 && slot < IDMAP_MAX && (fresh ? slot == count : slot < count);
}

static int write_map(pid_t pid, const char *file, const char *map, struct err *e)
{
	char rel[64];
	snprintf(rel, sizeof rel, "%d/%s", (int)pid, file);
	/* The kernel takes a map in one write only. */
	return proc_write(rel, map, e);
}

int op_idmap_userns(const struct op *o, struct err *e)
{
	if (!slot_ok(IDMAP_USERNS_SLOT(o), nuserns, 1))
		return fail(e, EINVAL, "bad user namespace slot %lld", (long long)IDMAP_USERNS_SLOT(o));
	pid_t pid = fork();
	if (pid < 0)
		return fail(e, errno, "fork for the idmap user namespace");
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(errno);
		raise(SIGSTOP); /* until the parent has what it needs */
		_exit(0);
	}
	int st = 0, rc = -1;
	while (waitpid(pid, &st, WUNTRACED) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		return fail(e, WEXITSTATUS(st), "unshare the idmap user namespace");
	if (write_map(pid, "uid_map", IDMAP_USERNS_UID_MAP(o), e) == 0 &&
	    write_map(pid, "gid_map", IDMAP_USERNS_GID_MAP(o), e) == 0) {
		char p[64];
		snprintf(p, sizeof p, "/proc/%d/ns/user", (int)pid);
		rc = open(p, O_RDONLY | O_CLOEXEC);
		if (rc < 0)
			fail(e, errno, "open %s", p);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (rc < 0)
		return -1;
	userns_fd[nuserns++] = rc;
	return 0;
}

int op_open_userns(const struct op *o, struct err *e)
{
	if (!slot_ok(OPEN_USERNS_SLOT(o), nuserns, 1))
		return fail(e, EINVAL, "bad user namespace slot %lld", (long long)OPEN_USERNS_SLOT(o));
	int fd = open(OPEN_USERNS_PATH(o), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(e, errno, "open user namespace %s", OPEN_USERNS_PATH(o));
	userns_fd[nuserns++] = fd;
	return 0;
}

int op_close_userns(const struct op *o, struct err *e)
{
	(void)o;
	(void)e;
	while (nuserns > 0)
		close(userns_fd[--nuserns]);
	return 0;
}

int op_open_tree(const struct op *o, struct err *e)
{
	if (!slot_ok(OPEN_TREE_TREE(o), ntree, 1))
		return fail(e, EINVAL, "bad tree slot %lld", (long long)OPEN_TREE_TREE(o));
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (OPEN_TREE_RECURSIVE(o) ? AT_RECURSIVE : 0);
	long fd = syscall(SYS_open_tree, AT_FDCWD, OPEN_TREE_SOURCE(o), flags);
	if (fd < 0)
		return fail(e, errno, "clone mount tree of %s", OPEN_TREE_SOURCE(o));
	tree_src[ntree] = OPEN_TREE_SOURCE(o);
	tree_fd[ntree++] = (int)fd;
	return 0;
}

int op_tree_setattr(const struct op *o, struct err *e)
{
	int64_t t = TREE_SETATTR_TREE(o), u = TREE_SETATTR_USERNS(o);
	if (!slot_ok(t, ntree, 0))
		return fail(e, EINVAL, "bad tree slot %lld", (long long)t);
	struct mount_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.attr_set = (uint64_t)TREE_SETATTR_SET(o);
	attr.attr_clr = (uint64_t)TREE_SETATTR_CLEAR(o);
	attr.propagation = (uint64_t)TREE_SETATTR_PROPAGATION(o);
	int idmap = (attr.attr_set & MOUNT_ATTR_IDMAP) != 0;
	if (idmap && !slot_ok(u, nuserns, 0))
		return fail(e, EINVAL, "bad user namespace slot %lld", (long long)u);
	if (idmap)
		attr.userns_fd = (uint64_t)userns_fd[u];
	unsigned flags = AT_EMPTY_PATH | (TREE_SETATTR_RECURSIVE(o) ? AT_RECURSIVE : 0);
	if (syscall(SYS_mount_setattr, tree_fd[t], "", flags, &attr, sizeof attr) == 0)
		return 0;
	if (idmap && errno == EINVAL)
		return fail(e, EINVAL, "idmap mount of %s: its filesystem does not support idmapped mounts", tree_src[t]);
	if (idmap)
		return fail(e, errno, "idmap mount of %s", tree_src[t]);
	return fail(e, errno, "set mount attributes of %s", tree_src[t]);
}

int op_move_tree(const struct op *o, struct err *e)
{
	int64_t t = MOVE_TREE_TREE(o);
	if (!slot_ok(t, ntree, 0) || tree_fd[t] < 0)
		return fail(e, EINVAL, "bad tree slot %lld", (long long)t);
	int fd = mount_target_fd(MOVE_TREE_TARGET(o), e);
	if (fd < 0)
		return -1;
	mount_made(-1, NULL);
	/* As for every mount: never onto procfs through a link in the image. */
	if (on_procfs(fd)) {
		close(fd);
		return fail(e, 0, "move bind mount of %s onto %s: the target resolves into procfs", tree_src[t], MOVE_TREE_TARGET(o));
	}
	/* Trees never go where /proc's own mounts go (src/plan/bind_trees.ts):
	 * landing in the rootfs's /proc takes a link. */
	int in_proc = in_root_proc(fd);
	if (in_proc != 0) {
		int saved = errno;
		close(fd);
		if (in_proc < 0)
			return fail(e, saved, "move bind mount of %s onto %s: cannot tell whether the target is in /proc", tree_src[t], MOVE_TREE_TARGET(o));
		return fail(e, 0, "move bind mount of %s onto %s: the target resolves into /proc", tree_src[t], MOVE_TREE_TARGET(o));
	}
	int rc = move_tree_onto(tree_fd[t], fd);
	int saved = errno;
	close(fd);
	if (rc < 0)
		return fail(e, saved, "move bind mount of %s onto %s", tree_src[t], MOVE_TREE_TARGET(o));
	/* The tree's fd now names the mount: propagation that follows acts on it. */
	mount_made(tree_fd[t], MOVE_TREE_TARGET(o));
	tree_fd[t] = -1;
	return 0;
}

/* The parent stage after clone: the container holds its own copies of the
 * trees; ours would only keep the detached mounts alive while we wait. */
void idmap_parent_done(void)
{
	for (int k = 0; k < ntree; k++)
		if (tree_fd[k] >= 0)
			close(tree_fd[k]);
	ntree = 0;
}
