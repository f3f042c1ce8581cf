/* A new filesystem (proc, tmpfs, overlay, devpts, ...) mounted onto a
 * target fd with the fd-based mount API: fsopen, each source and data item
 * set with fsconfig, fsmount, move_mount onto the fd. mount(2) would need
 * the target as a path, "self/fd/N" with the host's procfs as the cwd; the
 * filesystem parses its options during that same call, so a relative path
 * among them (overlay's lowerdir=a, a block device "sdb") would resolve
 * against the host's /proc (lowerdir=self/root/etc showed the host's /etc).
 * Here no cwd is borrowed: relative paths resolve against skiff-init's own
 * cwd, "/" since open_root, and the plan makes overlay's layer paths
 * absolute against the bundle (src/plan/overlay_dirs.ts). */
#include "init.h"
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One data item (a page, as much as mount(2) takes for all of them). */
#define ITEM_MAX 4096

static int fs_set(int fs, const char *key, const char *value)
{
	unsigned cmd = value ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG;
	return (int)syscall(SYS_fsconfig, fs, cmd, key, value, 0);
}

/* The end of the item that starts at p: the next ',' outside double quotes
 * (LSM labels: context="a,b") and, for overlay, not escaped by a backslash
 * (its layer paths may hold "\,"), as the kernel splits mount(2)'s data. */
static const char *item_end(const char *p, int escapes)
{
	int quoted = 0;
	for (; *p; p++) {
		if (escapes && *p == '\\' && p[1])
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == ',' && !quoted)
			break;
	}
	return p;
}

/* An LSM label loses its quotes, as mount(2)'s LSM option parser drops them. */
static char *unquote(char *value)
{
	size_t n = strlen(value);
	if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
		value[n - 1] = 0;
		return value + 1;
	}
	return value;
}

/* data as mount(2) reads it: items "key=value" or "key", empty ones skipped. */
static int fs_set_data(int fs, const char *data, int escapes)
{
	char item[ITEM_MAX];
	for (const char *p = data; *p;) {
		const char *end = item_end(p, escapes);
		size_t n = (size_t)(end - p);
		if (n >= sizeof item) {
			errno = E2BIG;
			return -1;
		}
		memcpy(item, p, n);
		item[n] = 0;
		p = *end ? end + 1 : end;
		if (!n || item[0] == '=')
			continue;
		char *eq = strchr(item, '=');
		if (eq)
			*eq++ = 0;
		if (fs_set(fs, item, eq ? unquote(eq) : NULL) < 0)
			return -1;
	}
	return 0;
}

/* mount(2)'s superblock flags, as fsconfig's flag names. */
static int fs_set_flags(int fs, unsigned long flags)
{
	static const struct {
		unsigned long ms;
		const char *name;
	} sb[] = { { MS_RDONLY, "ro" }, { MS_SYNCHRONOUS, "sync" }, { MS_DIRSYNC, "dirsync" }, { MS_LAZYTIME, "lazytime" } };
	for (size_t i = 0; i < sizeof sb / sizeof sb[0]; i++)
		if ((flags & sb[i].ms) && fs_set(fs, sb[i].name, NULL) < 0)
			return -1;
	return 0;
}

/* mount(2)'s per-mount flags as fsmount's attributes (relatime unless asked otherwise). */
static unsigned mount_attrs(unsigned long flags)
{
	unsigned a = 0;
	if (flags & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (flags & MS_NOSUID)
		a |= MOUNT_ATTR_NOSUID;
	if (flags & MS_NODEV)
		a |= MOUNT_ATTR_NODEV;
	if (flags & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	if (flags & MS_NODIRATIME)
		a |= MOUNT_ATTR_NODIRATIME;
	if (flags & MS_NOSYMFOLLOW)
		a |= MOUNT_ATTR_NOSYMFOLLOW;
	if (flags & MS_STRICTATIME)
		a |= MOUNT_ATTR_STRICTATIME;
	else if (flags & MS_NOATIME)
		a |= MOUNT_ATTR_NOATIME;
	return a;
}

static int fs_create_and_move(int fs, unsigned long flags, int target)
{
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, mount_attrs(flags));
	if (mnt < 0)
		return -1;
	int rc = move_tree_onto(mnt, target);
	int saved = errno;
	close(mnt);
	errno = saved;
	return rc;
}

int mount_new_fs(int target, const char *src, const char *type, unsigned long flags, const char *data)
{
	if (!type || !*type) {
		errno = EINVAL; /* as mount(2) without a type */
		return -1;
	}
	int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	/* fuse.sshfs: the part after the dot is fuse's subtype, as mount(2) passes it. */
	const char *dot = strchr(type, '.');
	if (dot && dot[1])
		(void)fs_set(fs, "subtype", dot + 1); /* refused where the type has none; mount(2) ignores it there */
	int rc = 0;
	if (src && *src)
		rc = fs_set(fs, "source", src);
	if (rc == 0 && data)
		rc = fs_set_data(fs, data, strcmp(type, "overlay") == 0);
	if (rc == 0)
		rc = fs_set_flags(fs, flags);
	if (rc == 0)
		rc = fs_create_and_move(fs, flags, target);
	int saved = errno;
	close(fs);
	errno = saved;
	return rc;
}
