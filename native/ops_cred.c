/* Identity and privileges: umask, capabilities, user and groups. The order
 * (bounding, identity with kept capabilities, capset, ambient) is runc's. */
#include "init.h"
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int op_umask(const struct op *o, struct err *e)
{
	(void)e;
	umask((mode_t)UMASK_MASK(o));
	return 0;
}

int op_bounding(const struct op *o, struct err *e)
{
	uint64_t keep = (uint64_t)BOUNDING_KEEP(o);
	for (int c = 0; c <= g.last_cap; c++) {
		if (keep & (1ull << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return fail(e, errno, "drop capability %d from the bounding set", c);
	}
	return 0;
}

int op_identity(const struct op *o, struct err *e)
{
	if (IDENTITY_SETGROUPS(o)) {
		char **list = split_list(o, IDENTITY_GROUPS_IDX);
		size_t n = 0;
		while (list && list[n])
			n++;
		gid_t *gids = calloc(n ? n : 1, sizeof *gids);
		for (size_t k = 0; gids && k < n; k++)
			gids[k] = (gid_t)strtoul(list[k], NULL, 10);
		int rc = gids ? setgroups(n, gids) : -1;
		free(gids);
		free(list);
		if (rc < 0)
			return fail(e, errno, "setgroups");
	}
	gid_t gid = (gid_t)IDENTITY_GID(o);
	uid_t uid = (uid_t)IDENTITY_UID(o);
	if (setresgid(gid, gid, gid) < 0)
		return fail(e, errno, "setresgid %u", gid);
	/* Keep the permitted set across the uid change; capset sets it next. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail(e, errno, "keep capabilities");
	if (setresuid(uid, uid, uid) < 0)
		return fail(e, errno, "setresuid %u", uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return fail(e, errno, "reset keep capabilities");
	return 0;
}

int op_capset(const struct op *o, struct err *e)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	uint64_t eff = (uint64_t)CAPSET_EFFECTIVE(o), perm = (uint64_t)CAPSET_PERMITTED(o);
	uint64_t inh = (uint64_t)CAPSET_INHERITABLE(o), amb = (uint64_t)CAPSET_AMBIENT(o);
	for (int k = 0; k < 2; k++) {
		data[k].effective = (uint32_t)(eff >> (32 * k));
		data[k].permitted = (uint32_t)(perm >> (32 * k));
		data[k].inheritable = (uint32_t)(inh >> (32 * k));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return fail(e, errno, "set capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(e, errno, "clear ambient capabilities");
	for (int c = 0; c <= g.last_cap; c++) {
		if (!(amb & (1ull << c)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return fail(e, errno, "raise ambient capability %d", c);
	}
	return 0;
}

int op_no_new_privs(const struct op *o, struct err *e)
{
	(void)o;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? fail(e, errno, "set no_new_privs") : 0;
}
