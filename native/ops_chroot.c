/* --no-pivot: MS_MOVE the rootfs onto "/" and chroot into it.
 *
 * Unlike pivot_root, this leaves the host's mounts in the container's mount
 * namespace, hidden under the moved root. Hidden is not gone: the kernel
 * lets a process in a new user namespace mount a new procfs or sysfs only
 * while one is fully visible somewhere in its mount namespace
 * (mount_too_revealing). The container's own /proc is masked and so does
 * not qualify; the host's /proc would, and `unshare -mrpf mount -t proc`
 * inside the container would get a bare /proc. So before the move, every
 * mount outside the rootfs that is not on the rootfs's own path is detached,
 * newest first (made a slave first, so nothing reaches the host). A procfs
 * or sysfs that cannot be detached (locked, in a user namespace) is covered
 * with an empty read-only tmpfs instead, as runc does. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROC_SUPER_MAGIC 0x9fa0

struct mnt {
	unsigned long id;
	char *point;  /* unescaped */
	char *fstype;
};

/* The mount id of what fd is on, as /proc/self/mountinfo numbers it. */
static int mount_id(int fd, unsigned long *id)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
		return -1;
	if (!(stx.stx_mask & STATX_MNT_ID)) {
		errno = ENOSYS;
		return -1;
	}
	*id = (unsigned long)stx.stx_mnt_id;
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

/* Fields 1 (id), 5 (mount point) and the first after " - " (fs type);
 * the entry points into line, which it keeps. */
static int parse_line(char *line, struct mnt *m)
{
	char *sep = strstr(line, " - ");
	if (!sep)
		return -1;
	*sep = 0;
	char *field[5];
	char *save = NULL, *tok = strtok_r(line, " ", &save);
	for (int k = 0; k < 5; k++, tok = strtok_r(NULL, " ", &save)) {
		if (!tok)
			return -1;
		field[k] = tok;
	}
	m->id = strtoul(field[0], NULL, 10);
	m->point = field[4];
	unescape(m->point);
	m->fstype = strtok_r(sep + 3, " \n", &save);
	return m->fstype ? 0 : -1;
}

/* This namespace's mounts, read beneath the host's procfs that skiff-init
 * opened at start (procfs.c), never through a /proc path the mounts made
 * so far could cover. */
static struct mnt *read_mounts(size_t *count, struct err *e)
{
	int fd = proc_open("self/mountinfo", O_RDONLY, e);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		fail(e, errno, "read /proc/self/mountinfo");
		return NULL;
	}
	struct mnt *list = NULL;
	size_t n = 0, cap = 0, len = 0;
	char *line = NULL;
	while (getline(&line, &len, f) > 0) {
		if (n == cap)
			list = realloc(list, (cap = cap ? 2 * cap : 64) * sizeof *list);
		char *copy = list ? strdup(line) : NULL;
		if (!copy) {
			fclose(f);
			fail(e, ENOMEM, "read /proc/self/mountinfo");
			return NULL;
		}
		if (parse_line(copy, &list[n]) == 0)
			n++;
	}
	free(line);
	fclose(f);
	if (n == 0)
		fail(e, 0, "read /proc/self/mountinfo: no mounts");
	*count = n;
	return n ? list : NULL;
}

/* p is at or below dir */
static int below(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == 0 || p[n] == '/');
}

static int cover_with_tmpfs(int target)
{
	int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	int rc = (int)syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
	int mnt = rc < 0 ? -1 : (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	close(fs);
	if (mnt < 0)
		return -1;
	rc = (int)syscall(SYS_move_mount, mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	close(mnt);
	return rc;
}

/* Detach one mount, if it is still where mountinfo said (an earlier detach
 * may have taken it along with its parent). */
static int detach(const struct mnt *m, struct err *e)
{
	int fd = open(m->point, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	unsigned long id;
	if (fd < 0 || mount_id(fd, &id) < 0 || id != m->id) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	/* A slave first: a shared copy would carry the unmount to the host. */
	struct mount_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.propagation = MS_SLAVE;
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
		int saved = errno;
		close(fd);
		return fail(e, saved, "make %s a slave before detaching it", m->point);
	}
	int rc = umount2(m->point, MNT_DETACH | UMOUNT_NOFOLLOW);
	int saved = errno;
	int pseudo = strcmp(m->fstype, "proc") == 0 || strcmp(m->fstype, "sysfs") == 0;
	if (rc < 0 && pseudo && cover_with_tmpfs(fd) == 0)
		rc = 0;
	else if (rc < 0 && pseudo)
		saved = errno;
	close(fd);
	/* Other file systems only matter as far as they are reachable, and
	 * they are not: a locked one stays, hidden under the root. */
	if (rc < 0 && pseudo)
		return fail(e, saved, "detach host %s mount %s", m->fstype, m->point);
	return 0;
}

/* Every mount that is neither in the rootfs nor on the way to it. */
static int detach_host_mounts(struct err *e)
{
	unsigned long root_id;
	if (mount_id(g.root_fd, &root_id) < 0)
		return fail(e, errno, "find the rootfs mount");
	size_t n = 0;
	struct mnt *list = read_mounts(&n, e);
	if (!list)
		return -1;
	const char *rootfs = NULL;
	for (size_t k = 0; k < n; k++)
		if (list[k].id == root_id)
			rootfs = list[k].point;
	if (!rootfs)
		return fail(e, ENOENT, "find the rootfs mount %lu in /proc/self/mountinfo", root_id);
	for (size_t k = n; k-- > 0;) {
		const char *p = list[k].point;
		if (below(p, rootfs) || below(rootfs, p))
			continue;
		if (detach(&list[k], e) < 0)
			return -1;
	}
	return 0; /* the list stays: skiff-init execs or exits soon after */
}

int op_chroot(const struct op *o, struct err *e)
{
	(void)o;
	if (detach_host_mounts(e) < 0)
		return -1;
	if (fchdir(g.root_fd) < 0)
		return fail(e, errno, "enter rootfs");
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return fail(e, errno, "move rootfs to /");
	if (chroot(".") < 0)
		return fail(e, errno, "chroot");
	if (chdir("/") < 0)
		return fail(e, errno, "chdir /");
	return 0;
}
