/* Shared declarations of skiff-init: the decoded op, the error a handler
 * fills in, and the little state that ops hand to later ops. */
#ifndef SKIFF_INIT_H
#define SKIFF_INIT_H

#define _GNU_SOURCE
#include <stdint.h>
#include <limits.h>
#include "plan_ops.h"

struct op {
	uint32_t code;
	uint16_t nints, nstrs;
	int64_t i[PLAN_MAX_INTS];
	char *s[PLAN_MAX_STRS];
	uint32_t slen[PLAN_MAX_STRS];
};

struct err {
	int errnum;
	char msg[512];
};

/* What one op leaves for a later one. One process, one thread: a global. */
struct init_state {
	int sync_fd;     /* socket to skiff (TypeScript) */
	int root_fd;     /* the container's rootfs, O_PATH */
	int fifo_fd;     /* exec.fifo, O_PATH */
	int proc_fd;     /* the host's /proc, opened at start (procfs.c) */
	int last_cap;    /* /proc/sys/kernel/cap_last_cap, read at start */
	char exec_path[PATH_MAX];
	char *hook_state; /* state JSON for startContainer hooks, from skiff */
	int cgroup_fd;    /* cgroup v2 directory for clone3, or -1 */
	int *tasks_fds;   /* v1 tasks files the child writes 0 into, -1 ended */
	char **tasks_names; /* their paths, for errors */
	int cwd_done;     /* a chdir op reached process.cwd */
};
extern struct init_state g;

/* fail: fill err with errno and a printf message; returns -1. */
int fail(struct err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* plan.c */
int read_plan(int fd, struct op **ops, uint32_t *nops, struct err *e);
char **split_list(const struct op *o, int idx); /* NUL-joined list -> argv */

/* resolve.c: paths inside the rootfs, never escaping it */
int open_in_root(const char *path, int flags, struct err *e);
int mkdir_in_root(const char *path, int mode, struct err *e);
int open_parent_in_root(const char *path, const char **base, struct err *e);
int open_plain_in_root(const char *path, int flags);

/* procfs.c: /proc files and fd reopening through the host's procfs only */
int procfs_open(void);
int on_procfs(int fd);
int proc_open(const char *rel, int flags, struct err *e);
int proc_write(const char *rel, const char *value, struct err *e);
int proc_reopen(int fd, int flags, struct err *e);

/* mount_fd.c: mounts named by fd, never by a path through /proc */
int mount_target_fd(const char *target, struct err *e); /* the target fd ("" = the rootfs) */
void mount_made(int fd, const char *target); /* later ops on target use fd (-1 forgets) */
int mount_at(int fd, unsigned long flags); /* mount(2) remount or propagation of the mount at fd */
int mount_new_fs(int target, const char *src, const char *type, unsigned long flags, const char *data); /* mount_new.c */
unsigned long mount_locked_flags(int fd);
int clone_tree(int dirfd, const char *path, int recursive); /* open_tree(OPEN_TREE_CLONE), "" = dirfd itself */
int move_tree_onto(int tree, int target);
int in_root_proc(int fd); /* 1: fd is the rootfs's /proc or beneath it; 0: not; -1: cannot tell */

/* watch.c: the parent stage watches the first process until exec.fifo */
#include <stdint.h>
#include <sys/types.h>
int watch_prepare(struct err *e);  /* before clone, when there is an exec.fifo */
void watch_after_clone(int child);
void watch_at(uint32_t index);     /* the child runs op index */
void watch_release(void);          /* the child reached exec.fifo */
int watch_child(pid_t child);      /* parent: 0 when released; -1 when it died (reported) */

/* ops_tree.c */
void idmap_parent_done(void);

/* sync.c */
/* 0 when the whole line was written, -1 when skiff no longer listens. */
int sync_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int sync_wait_go(void);
int sync_read_payload(char **out);

/* ops_tty.c: the pty master's way out, and the foreground relay */
#include <sys/types.h>
extern int tty_relay_fd; /* parent stage's end, set only for a foreground terminal */
void tty_after_clone(int child); /* each side closes the other's end */
void seccomp_after_clone(int child); /* the parent stage lets go of the seccomp listener */
void tty_relay(pid_t child) __attribute__((noreturn));

#define DECLARE_OP(UP, name) int op_##name(const struct op *, struct err *);
OP_TABLE(DECLARE_OP)
#undef DECLARE_OP

#endif
