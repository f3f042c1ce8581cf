/*
 * probe: runs inside a container and prints what the container sees as one
 * JSON object on stdout. Integration and differential tests compare these
 * objects between skiff and runc, so output must be deterministic: every
 * list is sorted or kept in kernel order, and `all` nests each subcommand's
 * object under its name (all.caps equals the output of `probe caps`).
 *
 * Output is buffered and only written at the end, so that a failure can
 * replace a half-built object with {"error": "..."} (exit 1).
 * Static, no dependencies: the rootfs holds nothing else.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- JSON writer ------------------------------------------------------ */

static char *out;
static size_t out_len, out_cap;
static int depth;
static int counts[32]; /* members written so far at each nesting level */

static void put(const char *s, size_t n)
{
	if (out_len + n + 1 > out_cap) {
		out_cap = (out_len + n + 1) * 2;
		out = realloc(out, out_cap);
		if (!out) {
			fputs("{\"error\":\"out of memory\"}\n", stdout);
			exit(1);
		}
	}
	memcpy(out + out_len, s, n);
	out_len += n;
}

static void puts_raw(const char *s) { put(s, strlen(s)); }

static void put_escaped(const char *s)
{
	put("\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char buf[8] = { '\\', (char)*p };
		if (*p == '"' || *p == '\\')
			put(buf, 2);
		else if (*p >= 0x20 && *p != 0x7f) /* UTF-8 passes through as is */
			put(buf + 1, 1);
		else
			put(buf, (size_t)snprintf(buf, sizeof buf, "\\u%04x", *p));
	}
	put("\"", 1);
}

/* Starts a member: comma if needed, then the key when inside an object. */
static void member(const char *key)
{
	if (counts[depth]++ > 0)
		put(",", 1);
	if (key) {
		put_escaped(key);
		put(":", 1);
	}
}

static void j_open(const char *key, const char *bracket)
{
	if (depth > 0)
		member(key);
	puts_raw(bracket);
	counts[++depth] = 0;
}

static void j_obj(const char *key) { j_open(key, "{"); }
static void j_arr(const char *key) { j_open(key, "["); }
static void j_end_obj(void) { depth--; put("}", 1); }
static void j_end_arr(void) { depth--; put("]", 1); }

static void j_raw(const char *key, const char *v) { member(key); puts_raw(v); }
static void j_null(const char *key) { j_raw(key, "null"); }
static void j_bool(const char *key, int v) { j_raw(key, v ? "true" : "false"); }

static void j_str(const char *key, const char *v)
{
	member(key);
	if (v)
		put_escaped(v);
	else
		puts_raw("null");
}

static void j_int(const char *key, long long v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", v);
	j_raw(key, buf);
}

static void flush_out(void)
{
	put("\n", 1);
	fwrite(out, 1, out_len, stdout);
	fflush(stdout);
	out_len = 0;
}

/* Drops whatever was built and reports the failure as the whole output. */
static void fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	out_len = 0;
	depth = 0;
	j_obj(NULL);
	j_str("error", msg);
	j_end_obj();
	flush_out();
	exit(1);
}

/* ---- helpers ---------------------------------------------------------- */

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "EUNKNOWN";
}

/* Reads a whole (small, pseudo-) file; NULL with errno set on failure. */
static char *read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e = 0;
	if (fd < 0)
		return NULL;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	for (ssize_t n = 1; n > 0; len += (size_t)n) {
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		if ((n = read(fd, buf + len, cap - len - 1)) < 0) {
			e = errno;
			n = 0;
		}
	}
	close(fd);
	buf[len] = '\0';
	if (e) {
		free(buf);
		errno = e;
		return NULL;
	}
	return buf;
}

static char *must_read(const char *path)
{
	char *s = read_file(path);
	if (!s)
		fail("read %s: %s", path, strerror(errno));
	return s;
}

/* Value of "Key:\t..." in /proc/self/status, or NULL when the kernel lacks it. */
static const char *status_field(const char *status, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	for (const char *line = status; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			const char *v = line + klen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t n = strcspn(v, "\n");
			if (n >= size)
				n = size - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
	}
	return NULL;
}

static void j_status_int(const char *status, const char *json_key, const char *key)
{
	char buf[64];
	if (status_field(status, key, buf, sizeof buf))
		j_int(json_key, strtoll(buf, NULL, 10));
	else
		j_null(json_key);
}

/* Emits a comma-separated list as a JSON array of strings. */
static void j_split(const char *key, const char *list)
{
	j_arr(key);
	char *copy = strdup(list), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		j_str(NULL, t);
	free(copy);
	j_end_arr();
}

static const char *mode_type(mode_t m)
{
	return S_ISCHR(m) ? "char" : S_ISBLK(m) ? "block" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "link"
	     : S_ISREG(m) ? "file" : S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "socket" : "other";
}

/* Emits the target of symlink path, or null. */
static void j_link(const char *key, const char *path)
{
	char target[4096];
	ssize_t len = readlink(path, target, sizeof target - 1);
	target[len < 0 ? 0 : len] = '\0';
	j_str(key, len < 0 ? NULL : target);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- subcommands ------------------------------------------------------ */

static void cmd_caps(void)
{
	static const char *const sets[][2] = {
		{ "inheritable", "CapInh" }, { "permitted", "CapPrm" }, { "effective", "CapEff" },
		{ "bounding", "CapBnd" }, { "ambient", "CapAmb" },
	};
	char *status = must_read("/proc/self/status");
	char buf[64];
	for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
		j_str(sets[i][0], status_field(status, sets[i][1], buf, sizeof buf));
	j_status_int(status, "no_new_privs", "NoNewPrivs");
	j_status_int(status, "seccomp", "Seccomp");
	j_status_int(status, "seccomp_filters", "Seccomp_filters");
	free(status);
}

static void cmd_ids(void)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	getresuid(&ruid, &euid, &suid);
	getresgid(&rgid, &egid, &sgid);
	j_int("uid", ruid);
	j_int("gid", rgid);
	j_int("euid", euid);
	j_int("egid", egid);
	j_int("suid", suid);
	j_int("sgid", sgid);
	int n = getgroups(0, NULL);
	gid_t *groups = calloc((size_t)(n > 0 ? n : 1), sizeof *groups);
	n = getgroups(n, groups);
	j_arr("groups");
	for (int i = 0; i < n; i++)
		j_int(NULL, groups[i]);
	j_end_arr();
	free(groups);
	/* Reading Umask from status leaves the umask untouched; umask(2) is
	 * only the fallback for kernels before 4.7. */
	char *status = read_file("/proc/self/status");
	char buf[16];
	if (!status || !status_field(status, "Umask", buf, sizeof buf)) {
		mode_t m = umask(0);
		umask(m);
		snprintf(buf, sizeof buf, "%04o", (unsigned)m);
	}
	j_str("umask", buf);
	free(status);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return s;
}

static void cmd_mounts(void)
{
	char *info = must_read("/proc/self/mountinfo"), *save = NULL;
	j_arr("mounts");
	for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[64], *fsave = NULL;
		int n = 0;
		for (char *t = strtok_r(line, " ", &fsave); t && n < 64; t = strtok_r(NULL, " ", &fsave))
			f[n++] = t;
		int sep = 6;
		while (sep < n && strcmp(f[sep], "-") != 0)
			sep++;
		if (sep + 2 >= n) /* needs "-", fs type and source after the optional fields */
			fail("parse /proc/self/mountinfo: short line");
		j_obj(NULL);
		j_int("id", atoi(f[0]));
		j_int("parent", atoi(f[1]));
		j_str("dev", f[2]);
		j_str("root", unescape(f[3]));
		j_str("mount_point", unescape(f[4]));
		j_str("fs_type", f[sep + 1]);
		j_str("source", unescape(f[sep + 2]));
		j_split("options", f[5]);
		j_split("super_options", sep + 3 < n ? f[sep + 3] : "");
		j_arr("propagation");
		for (int i = 6; i < sep; i++)
			j_str(NULL, f[i]);
		j_end_arr();
		j_end_obj();
	}
	j_end_arr();
	free(info);
}

static void cmd_ns(void)
{
	struct dirent **ents;
	int n = scandir("/proc/self/ns", &ents, NULL, alphasort);
	if (n < 0)
		fail("scandir /proc/self/ns: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		if (name[0] != '.') {
			char path[300];
			struct stat st;
			snprintf(path, sizeof path, "/proc/self/ns/%s", name);
			if (stat(path, &st) == 0)
				j_int(name, (long long)st.st_ino);
			else
				j_null(name);
		}
		free(ents[i]);
	}
	free(ents);
}

static void cmd_rlimits(void)
{
	static const char *const names[16] = {
		"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
		"RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
		"RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
		"RLIMIT_RTPRIO", "RLIMIT_RTTIME",
	};
	for (int i = 0; i < 16; i++) {
		struct rlimit rl;
		if (getrlimit((__rlimit_resource_t)i, &rl) != 0)
			fail("getrlimit %s: %s", names[i], strerror(errno));
		j_obj(names[i]);
		j_int("soft", rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur);
		j_int("hard", rl.rlim_max == RLIM_INFINITY ? -1 : (long long)rl.rlim_max);
		j_end_obj();
	}
}

static void cmd_hostname(void)
{
	struct utsname u;
	if (uname(&u) != 0)
		fail("uname: %s", strerror(errno));
	j_str("hostname", u.nodename);
	j_str("domainname", u.domainname);
}

static void cmd_cwd(void)
{
	char buf[4096];
	if (!getcwd(buf, sizeof buf))
		fail("getcwd: %s", strerror(errno));
	j_str("cwd", buf);
}

static void cmd_env(void)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **sorted = calloc(n + 1, sizeof *sorted);
	memcpy(sorted, environ, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp_str);
	j_arr("env");
	for (size_t i = 0; i < n; i++)
		j_str(NULL, sorted[i]);
	j_end_arr();
	free(sorted);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void cmd_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		fail("opendir /proc/self/fd: %s", strerror(errno));
	int fds[4096], n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 4096) {
		/* The directory stream's own fd is the probe's, not the container's. */
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			fds[n++] = atoi(e->d_name);
	}
	qsort(fds, (size_t)n, sizeof fds[0], cmp_int);
	j_arr("fds");
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
		j_obj(NULL);
		j_int("fd", fds[i]);
		j_link("target", path);
		j_end_obj();
	}
	j_end_arr();
	closedir(d);
}

/* Lists dir recursively (without following links), names relative to root. */
static void list_devices(const char *root, const char *rel)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		fail("scandir %s: %s", dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		char relname[4096], path[8192];
		snprintf(relname, sizeof relname, "%s%s%s", rel, *rel ? "/" : "", name);
		snprintf(path, sizeof path, "%s/%s", root, relname);
		struct stat st;
		if (lstat(path, &st) != 0)
			continue; /* vanished between readdir and lstat */
		int dev = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode);
		j_obj(NULL);
		j_str("name", relname);
		j_str("type", mode_type(st.st_mode));
		j_int("major", dev ? (long long)major(st.st_rdev) : 0);
		j_int("minor", dev ? (long long)minor(st.st_rdev) : 0);
		char mode[8];
		snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
		j_str("mode", mode);
		j_int("uid", st.st_uid);
		j_int("gid", st.st_gid);
		j_link("target", path); /* EINVAL (null) unless a link */
		j_end_obj();
		if (S_ISDIR(st.st_mode))
			list_devices(root, relname);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
}

static void cmd_devices(int argc, char **argv)
{
	j_arr("devices");
	list_devices(argc > 0 ? argv[0] : "/dev", "");
	j_end_arr();
}

/* Reads one byte of path (or lists it when a directory) to learn whether it
 * can be read and whether it is empty: 1 empty, 0 not, -errno failure. */
static int read_empty(const char *path, int is_dir)
{
	if (is_dir) {
		DIR *d = opendir(path);
		if (!d)
			return -errno;
		struct dirent *e;
		int empty = 1;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				empty = 0;
		closedir(d);
		return empty;
	}
	/* O_NONBLOCK so fifos and ttys cannot hang the probe. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	char c;
	ssize_t r = fd < 0 ? -1 : read(fd, &c, 1);
	int result = r < 0 ? -errno : r == 0;
	if (fd >= 0)
		close(fd);
	return result;
}

/* 0 when path could be written, else errno. Files are opened for writing
 * but never written, so probing /proc/sysrq-trigger is harmless. */
static int write_errno(const char *path, int is_dir)
{
	if (is_dir)
		return access(path, W_OK) == 0 ? 0 : errno;
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* For maskedPaths (empty, or unreadable) and readonlyPaths (not writable). */
static void probe_path(const char *path)
{
	struct stat st;
	int exists = stat(path, &st) == 0, stat_err = errno;
	int is_dir = exists && S_ISDIR(st.st_mode);
	int rd = exists ? read_empty(path, is_dir) : -stat_err;
	int we = exists ? write_errno(path, is_dir) : stat_err;
	j_obj(NULL);
	j_str("path", path);
	j_bool("exists", exists);
	j_str("type", exists ? mode_type(st.st_mode) : NULL);
	j_bool("readable", rd >= 0);
	j_bool("writable", we == 0);
	if (rd < 0)
		j_null("empty");
	else
		j_bool("empty", rd);
	j_str("read_error", rd < 0 ? errname(-rd) : NULL);
	j_str("write_error", we ? errname(we) : NULL);
	j_end_obj();
}

static void cmd_paths(int argc, char **argv)
{
	j_arr("paths");
	for (int i = 0; i < argc; i++)
		probe_path(argv[i]);
	j_end_arr();
}

static void cmd_cgroup(void)
{
	char *text = must_read("/proc/self/cgroup"), *save = NULL;
	j_arr("cgroup");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* hierarchy-ID:controller-list:path; the path may contain ':'. */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			fail("parse /proc/self/cgroup: %s", line);
		*c1 = *c2 = '\0';
		j_obj(NULL);
		j_int("hierarchy", atoi(line));
		j_split("controllers", c1 + 1);
		j_str("path", c2 + 1);
		j_end_obj();
	}
	j_end_arr();
	free(text);
}

static void cmd_oom(void)
{
	char *s = must_read("/proc/self/oom_score_adj");
	j_int("oom_score_adj", atoll(s));
	free(s);
}

static void cmd_personality(void)
{
	int p = personality(0xffffffff);
	if (p < 0)
		fail("personality: %s", strerror(errno));
	char hex[16];
	snprintf(hex, sizeof hex, "0x%x", (unsigned)p);
	j_int("personality", p);
	j_str("hex", hex);
}

static void cmd_sysctl(int argc, char **argv)
{
	j_obj("sysctl");
	for (int i = 0; i < argc; i++) {
		/* Same mapping as runc: kernel.shmmax -> /proc/sys/kernel/shmmax. */
		char path[4096];
		snprintf(path, sizeof path, "/proc/sys/%s", argv[i]);
		for (char *p = path + strlen("/proc/sys/"); *p; p++)
			if (*p == '.')
				*p = '/';
		char *v = read_file(path);
		j_obj(argv[i]);
		if (v) {
			v[strcspn(v, "\n")] = '\0';
			j_str("value", v);
			j_null("error");
		} else {
			j_null("value");
			j_str("error", errname(errno));
		}
		j_end_obj();
		free(v);
	}
	j_end_obj();
}

static void cmd_pid(void)
{
	j_int("pid", getpid());
	j_int("ppid", getppid());
}

static void cmd_exit(int argc, char **argv)
{
	int code = argc > 0 ? atoi(argv[0]) : 0;
	j_int("exit", code);
	j_end_obj();
	flush_out();
	exit(code);
}

static void cmd_sleep(int argc, char **argv)
{
	double secs = argc > 0 ? atof(argv[0]) : 0;
	j_int("pid", getpid());
	j_str("sleep", argc > 0 ? argv[0] : "0");
	j_end_obj();
	/* Printed before sleeping: a test waits for the line to know the
	 * process is up. */
	flush_out();
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	exit(0);
}

/* ---- dispatch --------------------------------------------------------- */

struct cmd {
	const char *name;
	void (*plain)(void);             /* subcommands without arguments */
	void (*args)(int, char **);      /* subcommands with arguments */
	int in_all;                      /* part of `all`, nested under its name */
};

static const struct cmd cmds[] = {
	{ "caps", cmd_caps, NULL, 1 }, { "ids", cmd_ids, NULL, 1 }, { "ns", cmd_ns, NULL, 1 },
	{ "rlimits", cmd_rlimits, NULL, 1 }, { "hostname", cmd_hostname, NULL, 1 },
	{ "cwd", cmd_cwd, NULL, 1 }, { "env", cmd_env, NULL, 1 },
	{ "mounts", cmd_mounts, NULL, 0 }, { "fds", cmd_fds, NULL, 0 },
	{ "cgroup", cmd_cgroup, NULL, 0 }, { "oom", cmd_oom, NULL, 0 },
	{ "personality", cmd_personality, NULL, 0 }, { "pid", cmd_pid, NULL, 0 },
	{ "devices", NULL, cmd_devices, 0 }, { "paths", NULL, cmd_paths, 0 },
	{ "sysctl", NULL, cmd_sysctl, 0 }, { "exit", NULL, cmd_exit, 0 },
	{ "sleep", NULL, cmd_sleep, 0 },
};

static void cmd_all(void)
{
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (cmds[i].in_all) {
			j_obj(cmds[i].name);
			cmds[i].plain();
			j_end_obj();
		}
	}
}

static void usage(void)
{
	fputs("usage: probe caps|ids|mounts|ns|rlimits|hostname|cwd|env|fds|devices [DIR]|\n"
	      "             paths PATH...|cgroup|oom|personality|sysctl NAME...|exit N|\n"
	      "             sleep SECS|pid|all\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const struct cmd all = { "all", cmd_all, NULL, 0 }, *cmd = strcmp(argv[1], "all") == 0 ? &all : NULL;
	for (size_t i = 0; !cmd && i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			cmd = &cmds[i];
	if (!cmd || (cmd->plain && argc > 2))
		usage();
	j_obj(NULL);
	if (cmd->plain)
		cmd->plain();
	else
		cmd->args(argc - 2, argv + 2);
	j_end_obj();
	flush_out();
	return 0;
}
