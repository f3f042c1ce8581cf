/* Namespaces and the handshake with skiff: join, unshare, clone, wait. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ns_name(int type)
{
	switch (type) {
	case CLONE_NEWNS: return "mount";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUSER: return "user";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWNET: return "network";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWTIME: return "time";
	}
	return "unknown";
}

int op_setns(const struct op *o, struct err *e)
{
	int fd = open(SETNS_PATH(o), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(e, errno, "open namespace %s", SETNS_PATH(o));
	int rc = setns(fd, (int)SETNS_NSTYPE(o));
	int saved = errno;
	/* EINVAL mostly means a file of the wrong kind: say which kind it is. */
	int actual = rc < 0 && saved == EINVAL ? ioctl(fd, NS_GET_NSTYPE) : -1;
	close(fd);
	if (rc == 0)
		return 0;
	if (actual == -1 && saved == EINVAL)
		return fail(e, 0, "join namespace %s: not a namespace file", SETNS_PATH(o));
	if (actual > 0 && actual != (int)SETNS_NSTYPE(o))
		return fail(e, 0, "join namespace %s: it is a %s namespace, not a %s one", SETNS_PATH(o),
			    ns_name(actual), ns_name((int)SETNS_NSTYPE(o)));
	return fail(e, saved, "join namespace %s", SETNS_PATH(o));
}

int op_unshare(const struct op *o, struct err *e)
{
	return unshare((int)UNSHARE_FLAGS(o)) < 0 ? fail(e, errno, "unshare namespaces") : 0;
}

int op_unshare_time(const struct op *o, struct err *e)
{
	if (unshare(CLONE_NEWTIME) < 0)
		return fail(e, errno, "unshare time namespace");
	const char *offsets = UNSHARE_TIME_OFFSETS(o);
	if (!*offsets)
		return 0;
	return proc_write("self/timens_offsets", offsets, e);
}

/* The parent stage stays only for a foreground `run`: it reaps, and exits
 * with the container's status so that skiff can return it. */
static void wait_and_exit(pid_t child, int subreaper)
{
	if (subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* skiff forwards signals to the container; we must survive them. */
	for (int s = 1; s < NSIG; s++)
		if (s != SIGCHLD && s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_IGN);
	if (tty_relay_fd >= 0)
		tty_relay(child); /* a terminal: relay it on the caller's stdio */
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && devnull >= 0; fd++)
		dup2(devnull, fd); /* don't hold the caller's pipes open */
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			_exit(255);
		if (pid != child)
			continue;
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
}

/* clone3: fork-like (no new stack), born in the cgroup v2 directory that
 * cgroup_open opened, which spares the lock that moving it later takes. */
static long clone_into(uint64_t flags, struct err *e)
{
	struct clone_args args;
	memset(&args, 0, sizeof args);
	args.flags = flags;
	args.exit_signal = SIGCHLD;
	if (g.cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)g.cgroup_fd;
	}
	long pid = syscall(SYS_clone3, &args, sizeof args);
	if (pid < 0)
		return fail(e, errno, "clone container process");
	if (g.cgroup_fd >= 0)
		close(g.cgroup_fd);
	g.cgroup_fd = -1;
	return pid;
}

int op_clone(const struct op *o, struct err *e)
{
	if (watch_prepare(e) < 0)
		return -1;
	long pid = clone_into((uint64_t)CLONE_FLAGS(o), e);
	if (pid < 0)
		return -1;
	tty_after_clone(pid == 0);
	seccomp_after_clone(pid == 0);
	watch_after_clone(pid == 0);
	if (pid == 0) {
		/* Wait until skiff has written id maps and joined the cgroup. */
		if (sync_wait_go() < 0)
			_exit(1);
		return 0;
	}
	sync_send("pid %ld", pid);
	idmap_parent_done();
	/* A first process that dies before it is ready: say how (watch.c). */
	if (watch_child((pid_t)pid) < 0)
		_exit(1);
	close(g.sync_fd);
	if (CLONE_WAIT(o))
		wait_and_exit((pid_t)pid, (int)CLONE_SUBREAPER(o));
	_exit(0);
}

int op_wait_go(const struct op *o, struct err *e)
{
	(void)e;
	sync_send("point %s", WAIT_GO_POINT(o));
	if (sync_wait_go() < 0)
		_exit(1); /* skiff gave up on us and cleans up */
	if (WAIT_GO_PAYLOAD(o) && sync_read_payload(&g.hook_state) < 0)
		_exit(1);
	return 0;
}

int op_become_root(const struct op *o, struct err *e)
{
	(void)o;
	if (setresgid(0, 0, 0) < 0)
		return fail(e, errno, "setresgid to root in user namespace");
	if (setresuid(0, 0, 0) < 0)
		return fail(e, errno, "setresuid to root in user namespace");
	return 0;
}

int op_setsid(const struct op *o, struct err *e)
{
	(void)o;
	return setsid() < 0 ? fail(e, errno, "setsid") : 0;
}

int op_session_keyring(const struct op *o, struct err *e)
{
	/* KEYCTL_JOIN_SESSION_KEYRING = 1: a new keyring with this name */
	if (syscall(SYS_keyctl, 1, SESSION_KEYRING_NAME(o), 0, 0, 0) < 0)
		return fail(e, errno, "join session keyring %s", SESSION_KEYRING_NAME(o));
	return 0;
}

int op_cgroup_open(const struct op *o, struct err *e)
{
	const char *v2 = CGROUP_OPEN_V2(o);
	if (*v2) {
		g.cgroup_fd = open(v2, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (g.cgroup_fd < 0)
			return fail(e, errno, "open cgroup %s", v2);
	}
	char **tasks = split_list(o, CGROUP_OPEN_TASKS_IDX);
	size_t n = 0;
	while (tasks && tasks[n])
		n++;
	g.tasks_fds = calloc(n + 1, sizeof *g.tasks_fds);
	if (!tasks || !g.tasks_fds)
		return fail(e, ENOMEM, "open cgroups");
	for (size_t k = 0; k < n; k++) {
		g.tasks_fds[k] = open(tasks[k], O_WRONLY | O_CLOEXEC);
		if (g.tasks_fds[k] < 0)
			return fail(e, errno, "open cgroup %s", tasks[k]);
	}
	g.tasks_fds[n] = -1;
	g.tasks_names = tasks;
	return 0;
}

int op_join_cgroup(const struct op *o, struct err *e)
{
	(void)o;
	/* "0" is the writing thread: our only one, so the whole process. */
	for (int k = 0; g.tasks_fds && g.tasks_fds[k] >= 0; k++) {
		if (write(g.tasks_fds[k], "0", 1) != 1)
			return fail(e, errno, "join cgroup: write %s", g.tasks_names[k]);
		close(g.tasks_fds[k]);
	}
	return 0;
}

static int write_self(const char *file, const char *text, struct err *e)
{
	return *text ? proc_write(file, text, e) : 0;
}

int op_own_id_maps(const struct op *o, struct err *e)
{
	/* A non-dumpable process's /proc files belong to root, whom this user
	 * namespace does not map: dumpable for the three writes only. The caller
	 * is the same unprivileged user, so nobody gains a view in between. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	/* An unprivileged gid_map is taken only after setgroups is denied. */
	int rc = write_self("self/setgroups", "deny", e);
	if (rc == 0)
		rc = write_self("self/uid_map", OWN_ID_MAPS_UID_MAP(o), e);
	if (rc == 0)
		rc = write_self("self/gid_map", OWN_ID_MAPS_GID_MAP(o), e);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return rc;
}
