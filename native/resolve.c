/* Paths inside the container's rootfs. Every lookup goes through openat2
 * with RESOLVE_IN_ROOT, so a symlink in the rootfs (even "../../etc") can
 * never lead out of it, and magic links in /proc are refused. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int openat2_resolve(const char *path, int flags, uint64_t resolve)
{
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve;
	for (;;) {
		long fd = syscall(SYS_openat2, g.root_fd, path, &how, sizeof how);
		if (fd < 0 && errno == EAGAIN)
			continue; /* a rename raced with the lookup: try again */
		return (int)fd;
	}
}

static int openat2_root(const char *path, int flags)
{
	return openat2_resolve(path, flags, 0);
}

/* path inside the root with no symlink anywhere on it (ELOOP if there is
 * one); errno is left for the caller. */
int open_plain_in_root(const char *path, int flags)
{
	return openat2_resolve(path, flags, RESOLVE_NO_SYMLINKS);
}

int open_in_root(const char *path, int flags, struct err *e)
{
	int fd = openat2_root(path, flags);
	if (fd < 0)
		return fail(e, errno, "open %s in rootfs", path);
	return fd;
}

static int mkdir_follow(const char *path, int mode, struct err *e, int depth);

/* Whether the plan's path is written at or inside /proc ("/proc", "/proc/..."). */
static int written_in_proc(const char *path)
{
	while (*path == '/')
		path++;
	return strncmp(path, "proc", 4) == 0 && (path[4] == 0 || path[4] == '/');
}

/* Set while a path written outside /proc is made: a link that takes it into
 * the rootfs's /proc makes nothing there (the mount that follows would be
 * refused, as runc refuses it before it makes directories). */
static int outside_proc;

/* mkdir -p inside the root. Returns an O_PATH fd of the directory. A dangling
 * symlink on the way is followed inside the root and its target made, as
 * runc's MkdirAll does: the link may be absolute or hold "..", the result is
 * always under the root. */
int mkdir_in_root(const char *path, int mode, struct err *e)
{
	outside_proc = !written_in_proc(path);
	return mkdir_follow(path, mode, e, 0);
}

/* The name at path (in dir) is a symlink to a missing target: go on from
 * where it points, with the rest of the path after it. */
static int follow_link(int dir, const char *name, const char *parent, const char *rest, int mode, struct err *e, int depth)
{
	char target[PATH_MAX], next[PATH_MAX];
	ssize_t n = readlinkat(dir, name, target, sizeof target - 1);
	if (n < 0)
		return -1;
	target[n] = 0;
	int len = target[0] == '/' ? snprintf(next, sizeof next, "%s%s", target, rest)
				   : snprintf(next, sizeof next, "%s/%s%s", parent, target, rest);
	if (len < 0 || (size_t)len >= sizeof next)
		return fail(e, ENAMETOOLONG, "mkdir %s", name);
	return mkdir_follow(next, mode, e, depth + 1);
}

static int mkdir_follow(const char *path, int mode, struct err *e, int depth)
{
	if (depth > 40)
		return fail(e, ELOOP, "mkdir %s", path);
	char prefix[PATH_MAX];
	size_t len = strlen(path);
	if (len >= sizeof prefix)
		return fail(e, ENAMETOOLONG, "mkdir %s", path);
	int dir = openat2_root("/", O_PATH | O_DIRECTORY);
	if (dir < 0)
		return fail(e, errno, "open rootfs");
	size_t at = 0;
	while (at < len) {
		while (at < len && path[at] == '/')
			at++;
		size_t end = at;
		while (end < len && path[end] != '/')
			end++;
		if (end == at)
			break;
		memcpy(prefix, path, end);
		prefix[end] = 0;
		char name[NAME_MAX + 1];
		size_t nlen = end - at;
		if (nlen > NAME_MAX) {
			close(dir);
			return fail(e, ENAMETOOLONG, "mkdir %s", path);
		}
		memcpy(name, path + at, nlen);
		name[nlen] = 0;
		int next = openat2_root(prefix, O_PATH | O_DIRECTORY);
		if (next < 0 && errno == ENOENT) {
			if (outside_proc && in_root_proc(dir) == 1) {
				close(dir);
				return fail(e, 0, "mkdir %s: a link takes it into /proc", prefix);
			}
			if (mkdirat(dir, name, (mode_t)mode) < 0 && errno != EEXIST) {
				int saved = errno;
				close(dir);
				return fail(e, saved, "mkdir %s", prefix);
			}
			next = openat2_root(prefix, O_PATH | O_DIRECTORY);
			struct stat st;
			if (next < 0 && errno == ENOENT && fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
				char parent[PATH_MAX];
				memcpy(parent, path, at);
				parent[at] = 0;
				int fd = follow_link(dir, name, parent, path + end, mode, e, depth);
				close(dir);
				return fd;
			}
		}
		if (next < 0) {
			int saved = errno;
			close(dir);
			return fail(e, saved, "mkdir %s", prefix);
		}
		close(dir);
		dir = next;
		at = end;
	}
	return dir;
}

/* The parent directory of path (created when missing) and its last name. */
int open_parent_in_root(const char *path, const char **base, struct err *e)
{
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX];
	if (!slash || slash[1] == 0)
		return fail(e, EINVAL, "bad path %s", path);
	size_t plen = (size_t)(slash - path);
	if (plen >= sizeof parent)
		return fail(e, ENAMETOOLONG, "path %s", path);
	memcpy(parent, path, plen);
	parent[plen] = 0;
	*base = slash + 1;
	return mkdir_in_root(plen ? parent : "/", 0755, e);
}
