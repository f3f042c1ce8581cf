/* Process and namespace attributes: names, sysctls, limits, scheduling. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int op_hostname(const struct op *o, struct err *e)
{
	const char *n = HOSTNAME_NAME(o);
	return sethostname(n, strlen(n)) < 0 ? fail(e, errno, "set hostname %s", n) : 0;
}

int op_domainname(const struct op *o, struct err *e)
{
	const char *n = DOMAINNAME_NAME(o);
	return setdomainname(n, strlen(n)) < 0 ? fail(e, errno, "set domainname %s", n) : 0;
}

/* /proc files are written through the host's procfs (procfs.c): after
 * pivot_root the container's /proc may hold anything at these names. A
 * sysctl under /proc/sys still acts on this process's namespaces. */
static int write_proc(const char *rel, const char *value, struct err *e, const char *what)
{
	if (proc_write(rel, value, e) == 0)
		return 0;
	char msg[sizeof e->msg];
	snprintf(msg, sizeof msg, "%s", e->msg);
	return fail(e, e->errnum, "%s: %s", what, msg);
}

int op_sysctl(const struct op *o, struct err *e)
{
	const char *path = SYSCTL_PATH(o);
	if (strncmp(path, "/proc/sys/", 10) != 0)
		return fail(e, EINVAL, "set sysctl: %s is not under /proc/sys", path);
	return write_proc(path + 6, SYSCTL_VALUE(o), e, "set sysctl");
}

/* Run in the parent stage, before any namespace is joined or made: the
 * container inherits the value across clone (a new user namespace's root
 * may not write it, and lowering needs CAP_SYS_RESOURCE in the host's). A
 * non-dumpable process's /proc files belong to root: an unprivileged caller
 * (rootless) is dumpable for this one write, as runc writes it before it
 * turns non-dumpable. Nothing of a container exists yet, and a process that
 * could look in meanwhile is the same unprivileged user. */
int op_oom_score_adj(const struct op *o, struct err *e)
{
	char v[32];
	snprintf(v, sizeof v, "%lld", (long long)OOM_SCORE_ADJ_VALUE(o));
	int unprivileged = geteuid() != 0;
	if (unprivileged)
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	int rc = write_proc("self/oom_score_adj", v, e, "set oom_score_adj");
	if (unprivileged)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return rc;
}

int op_rlimit(const struct op *o, struct err *e)
{
	struct rlimit rl = {(rlim_t)RLIMIT_SOFT(o), (rlim_t)RLIMIT_HARD(o)};
	if (prlimit(0, (int)RLIMIT_RESOURCE(o), &rl, NULL) < 0)
		return fail(e, errno, "set rlimit %lld", (long long)RLIMIT_RESOURCE(o));
	return 0;
}

int op_personality(const struct op *o, struct err *e)
{
	return personality((unsigned long)PERSONALITY_PERSONA(o)) < 0 ? fail(e, errno, "set personality") : 0;
}

int op_ioprio(const struct op *o, struct err *e)
{
	long prio = (IOPRIO_CLASS(o) << 13) | IOPRIO_LEVEL(o);
	return syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, prio) < 0 ? fail(e, errno, "set io priority") : 0;
}

struct sched_attr_v1 {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

int op_scheduler(const struct op *o, struct err *e)
{
	struct sched_attr_v1 a = {
		.size = sizeof a,
		.policy = (uint32_t)SCHEDULER_POLICY(o),
		.flags = (uint64_t)SCHEDULER_FLAGS(o),
		.nice = (int32_t)SCHEDULER_NICE(o),
		.priority = (uint32_t)SCHEDULER_PRIORITY(o),
		.runtime = (uint64_t)SCHEDULER_RUNTIME(o),
		.deadline = (uint64_t)SCHEDULER_DEADLINE(o),
		.period = (uint64_t)SCHEDULER_PERIOD(o),
	};
	return syscall(SYS_sched_setattr, 0, &a, 0) < 0 ? fail(e, errno, "set scheduler") : 0;
}

/* A cpu list as in cpuset: "0-2,5". Validated by skiff already. */
int op_affinity(const struct op *o, struct err *e)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	const char *s = AFFINITY_CPUS(o);
	while (*s) {
		char *end;
		long lo = strtol(s, &end, 10), hi = lo;
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		for (long c = lo; c <= hi && c < CPU_SETSIZE; c++)
			CPU_SET((int)c, &set);
		s = *end == ',' ? end + 1 : end;
		if (end == s && *s)
			break;
	}
	return sched_setaffinity(0, sizeof set, &set) < 0 ? fail(e, errno, "set cpu affinity %s", AFFINITY_CPUS(o)) : 0;
}
