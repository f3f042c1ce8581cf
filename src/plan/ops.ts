// The single source of truth for skiff-init's opcodes. Each op has a number,
// integer fields and string fields, in this order on the wire. The C header
// native/plan_ops.h is generated from this table (scripts/gen_header.ts);
// a test fails when the header is stale.
//
// An op is "about one syscall". Ops before CLONE run in the parent stage
// (skiff-init itself); ops after it run in the container's first process.

export interface OpDef {
  code: number;
  name: string; // lower_snake, the C handler is op_<name>
  ints: readonly string[];
  strs: readonly string[];
  doc: string;
}

export const OPS = [
  { code: 1, name: "unshare_time", ints: [], strs: ["offsets"], doc: "unshare(CLONE_NEWTIME) and write timens_offsets; children enter it" },
  { code: 2, name: "setns", ints: ["nstype"], strs: ["path"], doc: "join an existing namespace by path" },
  { code: 3, name: "clone", ints: ["flags", "wait", "subreaper"], strs: [], doc: "clone3 the container process (born in the cgroup v2 directory cgroup_open opened); the parent reports its pid, then exits or waits" },
  { code: 4, name: "wait_go", ints: ["payload"], strs: ["point"], doc: "tell skiff the point reached, block until it answers go (and, with payload, the state for startContainer hooks)" },
  { code: 5, name: "become_root", ints: [], strs: [], doc: "setresuid/setresgid(0) inside a new user namespace" },
  { code: 6, name: "setsid", ints: [], strs: [], doc: "new session, so the container has no controlling terminal of ours" },
  { code: 7, name: "mount", ints: ["flags", "procfs"], strs: ["source", "target", "fstype", "data"], doc: "a new filesystem (fsopen, fsconfig per data item, fsmount) or a bind (open_tree), moved onto the target; target resolved inside the root fd; procfs: 0 a target on procfs is refused, 1 allowed, 2 allowed and the bind's source must be procfs" },
  { code: 8, name: "remount", ints: ["flags"], strs: ["target"], doc: "MS_REMOUNT|flags on target (inside root)" },
  { code: 9, name: "propagate", ints: ["flags"], strs: ["target"], doc: "change propagation of target (inside root; \"\" = the root itself)" },
  { code: 10, name: "setattr", ints: ["set", "clear", "propagation"], strs: ["target"], doc: "mount_setattr(AT_RECURSIVE) on target" },
  { code: 11, name: "open_root", ints: [], strs: ["path"], doc: "bind the rootfs onto itself (pivot_root needs a mount point), open it; later paths resolve in it" },
  { code: 12, name: "mkdir", ints: ["mode"], strs: ["path"], doc: "mkdir -p inside the root (no symlink escapes)" },
  { code: 13, name: "mkfile", ints: ["mode"], strs: ["path"], doc: "create parents and an empty file inside the root" },
  { code: 14, name: "mknod", ints: ["mode", "major", "minor", "uid", "gid"], strs: ["path"], doc: "device node inside the root; bind from the host where mknod is refused" },
  { code: 15, name: "symlink", ints: [], strs: ["target", "path"], doc: "symlink inside the root, unless the path exists" },
  { code: 16, name: "open_fifo", ints: [], strs: ["path"], doc: "open exec.fifo (O_PATH) before the host view is gone" },
  { code: 17, name: "pivot_root", ints: [], strs: [], doc: "pivot_root into the root fd and detach the old root" },
  { code: 18, name: "chroot", ints: [], strs: [], doc: "--no-pivot: MS_MOVE the root to / and chroot" },
  { code: 19, name: "mask", ints: [], strs: ["path"], doc: "hide a path: /dev/null over files, read-only tmpfs over dirs" },
  { code: 20, name: "readonly", ints: [], strs: ["path"], doc: "bind a path onto itself read-only" },
  { code: 21, name: "hostname", ints: [], strs: ["name"], doc: "sethostname(2)" },
  { code: 22, name: "domainname", ints: [], strs: ["name"], doc: "setdomainname(2)" },
  { code: 23, name: "sysctl", ints: [], strs: ["path", "value"], doc: "write a value under /proc/sys" },
  { code: 24, name: "rlimit", ints: ["resource", "soft", "hard"], strs: [], doc: "setrlimit(2); -1 is unlimited" },
  { code: 25, name: "oom_score_adj", ints: ["value"], strs: [], doc: "write /proc/self/oom_score_adj, in the parent stage before any namespace: clone passes it on" },
  { code: 26, name: "personality", ints: ["persona"], strs: [], doc: "personality(2)" },
  { code: 27, name: "ioprio", ints: ["class", "level"], strs: [], doc: "ioprio_set(IOPRIO_WHO_PROCESS, 0)" },
  { code: 28, name: "scheduler", ints: ["policy", "priority", "flags", "nice", "runtime", "deadline", "period"], strs: [], doc: "sched_setattr(2)" },
  { code: 29, name: "affinity", ints: [], strs: ["cpus"], doc: "sched_setaffinity(2) from a cpu list like 0-2,4" },
  { code: 30, name: "chdir", ints: ["early"], strs: ["path"], doc: "chdir(2), in the container's view, unless an earlier chdir op got there; early: a permission error waits for the next chdir op (after the user switch)" },
  { code: 31, name: "umask", ints: ["mask"], strs: [], doc: "umask(2)" },
  { code: 32, name: "bounding", ints: ["keep"], strs: [], doc: "drop every capability not in the bounding mask" },
  { code: 33, name: "identity", ints: ["uid", "gid", "setgroups"], strs: ["groups"], doc: "setgroups, setresgid, setresuid, keeping capabilities" },
  { code: 34, name: "capset", ints: ["effective", "permitted", "inheritable", "ambient"], strs: [], doc: "capset(2) and raise the ambient set" },
  { code: 35, name: "no_new_privs", ints: [], strs: [], doc: "PR_SET_NO_NEW_PRIVS" },
  { code: 36, name: "find_exec", ints: [], strs: ["file", "path"], doc: "resolve args[0] on the container's PATH, as runc does, before ready" },
  { code: 37, name: "close_fds", ints: ["keep"], strs: [], doc: "mark every fd >= 3+keep close-on-exec" },
  { code: 38, name: "wait_fifo", ints: [], strs: [], doc: "block until `start` opens exec.fifo" },
  { code: 39, name: "hook", ints: ["timeout"], strs: ["kind", "path", "args", "env"], doc: "run a createContainer or startContainer hook in the container, the state from skiff on stdin" },
  { code: 40, name: "exec", ints: [], strs: ["args", "env"], doc: "execve the resolved program" },
  { code: 42, name: "session_keyring", ints: [], strs: ["name"], doc: "join a new session keyring, so the container sees none of the host's keys" },
  { code: 41, name: "unshare", ints: ["flags"], strs: [], doc: "unshare(2) after the cgroup is joined (cgroup namespace)" },
  // seccomp (owner: src/seccomp/**, native/ops_seccomp.c)
  { code: 45, name: "join_cgroup", ints: [], strs: [], doc: "after clone: move this single-threaded process into its v1 cgroups (0 into each tasks file cgroup_open opened)" },
  { code: 47, name: "own_id_maps", ints: [], strs: ["uid_map", "gid_map"], doc: "unprivileged: the new user namespace's process writes its own maps (setgroups denied first)" },
  { code: 46, name: "cgroup_open", ints: [], strs: ["v2", "tasks"], doc: "before any namespace is joined: open the cgroup v2 directory for clone3 and the v1 tasks files for join_cgroup" },
  { code: 43, name: "seccomp", ints: ["flags"], strs: ["program"], doc: "seccomp(SECCOMP_SET_MODE_FILTER, flags) with a BPF program (hex); with NEW_LISTENER send the fd to the listener" },
  { code: 44, name: "seccomp_listener", ints: [], strs: ["path", "point"], doc: "connect to the seccomp listenerPath while the host is visible (path not empty); report point and take the container process state (point not empty)" },
  // terminals (owner: native/ops_tty.c)
  { code: 60, name: "console_socket", ints: ["relay"], strs: ["path"], doc: "before clone: connect to --console-socket, or (relay) make a socketpair so the parent stage gets the pty master and relays it" },
  { code: 61, name: "terminal", ints: ["height", "width", "uid", "console"], strs: [], doc: "pty from the container's /dev/ptmx (peer by TIOCGPTPEER): size, /dev/console bind, master sent, slave as stdio and controlling tty" },
  // idmapped mounts (owner: src/plan/bind_trees.ts, native/ops_tree.c): made in the parent stage, moved in after clone
  { code: 80, name: "idmap_userns", ints: ["slot"], strs: ["uid_map", "gid_map"], doc: "before clone: a user namespace with exactly these maps (a forked child unshares it, the parent writes the maps); keep its fd in slot" },
  { code: 81, name: "open_userns", ints: ["slot"], strs: ["path"], doc: "before clone: open a user namespace file (the joined one, for idmap without mappings); keep its fd in slot" },
  { code: 82, name: "open_tree", ints: ["tree", "recursive"], strs: ["source"], doc: "before clone: open_tree(OPEN_TREE_CLONE) of a bind source, a detached copy kept in tree (inherited across clone)" },
  { code: 83, name: "tree_setattr", ints: ["tree", "set", "clear", "propagation", "recursive", "userns"], strs: [], doc: "mount_setattr on a detached tree; with MOUNT_ATTR_IDMAP the user namespace in slot userns gives the mapping" },
  { code: 84, name: "close_userns", ints: [], strs: [], doc: "close every user namespace fd: the idmapped trees hold their mappings" },
  { code: 85, name: "move_tree", ints: ["tree"], strs: ["target"], doc: "move_mount a detached tree onto target (inside root), then close it" },
  // procfs and sysfs (owner: native/ops_fs.c)
  { code: 90, name: "plain_dir", ints: ["mode"], strs: ["path"], doc: "mkdir -p inside the root, refusing a path with any symlink on it (where /proc and /sys are mounted)" },
] as const satisfies readonly OpDef[];

export type OpName = (typeof OPS)[number]["name"];
type DefOf<N extends OpName> = Extract<(typeof OPS)[number], { name: N }>;
type Fields<T extends readonly string[], V> = { [K in T[number]]: V };

/** One op in a plan: its name, its fields, and where it came from in config.json. */
export type Op = {
  [N in OpName]: { op: N; origin: string } & Fields<DefOf<N>["ints"], number | bigint> &
    Fields<DefOf<N>["strs"], string>;
}[OpName];

/**
 * What skiff-init accepts, so that a plan it did not expect is refused
 * before anything is done: at most PLAN_MAX_OPS ops, at most PLAN_MAX_BYTES
 * of strings in all. Far above any real config (the default plan has under
 * 100 ops and a few KB); encodePlan refuses a bigger plan with the same limits.
 */
export const PLAN_MAX_OPS = 65536;
export const PLAN_MAX_BYTES = 64 * 1024 * 1024;

export const OP_BY_NAME: ReadonlyMap<string, OpDef> = new Map(OPS.map((d) => [d.name, d]));

/** String lists (args, env, groups) travel as one string joined by NUL. */
export function joinList(items: readonly (string | number)[]): string {
  return items.join("\0");
}
