// The plan of `skiff exec`: a new process in a running container's
// namespaces. Pure, like compilePlan: which namespaces to join (and their
// paths) comes in from the caller, who compared them with its own.
//
// Parent stage (skiff-init itself): the process attributes that fork
// inherits (rlimits, oom score, io priority, scheduler, initial affinity),
// set while we are still in the host's user namespace, so raising a limit
// works as it does for runc (which sets them from outside with prlimit);
// then setns into each namespace, the mount namespace last (after it,
// /proc/<pid>/ns paths would resolve in the container's /proc). A caller
// without privilege joins the user namespace first, for the capabilities it
// gives; a privileged one joins it just before the mount namespace, so that
// namespaces owned by an outer user namespace (a time namespace skiff made
// before the container's user namespace, a shared network namespace) can
// still be joined: setns needs CAP_SYS_ADMIN in the caller's user namespace. The clone makes no new namespace: the child lands in
// the pid namespace joined above. No mounts, no exec.fifo.
import type { Op } from "./ops";
import type { Process } from "../config/types";
import { cgroupOpenOp, consoleSocketOp, terminalOp } from "./compile";
import { credentialsPlan, execPlan } from "./process_plan";
import type { SeccompPlan } from "../seccomp/plan";
import { processAttributePlan } from "./process_attrs";

/** Namespace names as in /proc/PID/ns, in the order they are joined. */
export const EXEC_NAMESPACES = ["user", "cgroup", "ipc", "uts", "net", "pid", "time", "mnt"] as const;
export type ExecNamespace = (typeof EXEC_NAMESPACES)[number];

export const NS_CLONE_FLAG: Record<ExecNamespace, number> = {
  user: 0x10000000,
  cgroup: 0x02000000,
  ipc: 0x08000000,
  uts: 0x04000000,
  net: 0x40000000,
  pid: 0x20000000,
  time: 0x00000080,
  mnt: 0x00020000,
};

export interface ExecPlanOptions {
  id: string;
  /** the namespaces to join, by name, with the path to open (e.g. /proc/123/ns/net) */
  join: Partial<Record<ExecNamespace, string>>;
  /** wait in the parent stage and exit with the process's status */
  foreground: boolean;
  preserveFds?: number;
  noNewKeyring?: boolean;
  /** join the user namespace before the others (an unprivileged caller) */
  userFirst?: boolean;
  /** setgroups(2) is denied in the joined user namespace */
  denySetgroups?: boolean;
  /** with proc.terminal: where the pty master goes (else the foreground parent stage relays it) */
  consoleSocket?: string;
  /** cgroup directories the process joins itself (absent: skiff moves it by pid) */
  cgroups?: { v1: string[]; v2?: string };
  /** the container's seccomp filter: an exec'd process gets it too */
  seccomp?: SeccompPlan;
}

export function compileExecPlan(proc: Process, opts: ExecPlanOptions): Op[] {
  const ops: Op[] = [];
  // Before any namespace is joined: these paths are the host's.
  if (proc.terminal) ops.push(consoleSocketOp(opts.consoleSocket));
  if (opts.cgroups) ops.push(cgroupOpenOp(opts.cgroups));
  if (opts.seccomp?.execListener) ops.push(opts.seccomp.execListener.connect);

  // Everything processAttributePlan makes is inherited by the clone; the
  // final cpu affinity comes after the cgroup join, in the child.
  ops.push(...processAttributePlan(proc));
  const order = opts.userFirst ? EXEC_NAMESPACES : [...EXEC_NAMESPACES.filter((n) => n !== "user" && n !== "mnt"), "user", "mnt"] as const;
  for (const name of order) {
    const path = opts.join[name];
    if (path) ops.push({ op: "setns", nstype: NS_CLONE_FLAG[name], path, origin: `namespace ${name}` });
  }
  ops.push({ op: "clone", flags: 0, wait: opts.foreground ? 1 : 0, subreaper: 0, origin: "" });

  // The child: in its cgroups, born there (v2) and moving itself (v1), or
  // moved by skiff before it answered the pid line (a user namespace).
  if (opts.cgroups) ops.push({ op: "join_cgroup", origin: "--cgroup" });
  ops.push({ op: "setsid", origin: "" });
  if (!opts.noNewKeyring) ops.push({ op: "session_keyring", name: `_ses.${opts.id}`, origin: "--no-new-keyring" });
  // seccomp notify: skiff answers with the state the agent gets with the fd.
  if (opts.seccomp?.execListener) ops.push(opts.seccomp.execListener.state);
  // The pty from the container's devpts (/dev/ptmx after the mount
  // namespace was joined), before the user switch, as runc's setns init.
  if (proc.terminal) ops.push(terminalOp(proc, { console: false }));
  ops.push(...credentialsPlan(proc, { seccomp: opts.seccomp, setgroups: !(opts.join.user && opts.denySetgroups), preserveFds: opts.preserveFds ?? 0 }));
  ops.push(...execPlan(proc, { seccomp: opts.seccomp }));
  return ops;
}
