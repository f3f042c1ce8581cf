// The steps every container process takes last, whether it is the first
// process (compile.ts) or one added by exec (compile_exec.ts): fds, umask,
// capabilities, seccomp, identity, cwd, and finding the program. The order
// is runc's: seccomp before the user switch unless no_new_privs is set (then
// it needs no CAP_SYS_ADMIN and is loaded just before execve).
import type { Op } from "./ops";
import { joinList } from "./ops";
import type { Process } from "../config/types";
import { CAPABILITIES } from "../config/tables";
import type { SeccompPlan } from "../seccomp/plan";

export interface CredentialOptions {
  seccomp?: SeccompPlan;
  /** setgroups(2) is allowed (not denied in the user namespace) */
  setgroups: boolean;
  preserveFds: number;
}

/** From close_fds to find_exec: everything up to the moment of execve. */
export function credentialsPlan(proc: Process, opts: CredentialOptions): Op[] {
  const ops: Op[] = [];
  ops.push({ op: "umask", mask: proc.user.umask ?? 0o022, origin: "/process/user/umask" });
  // Before a seccomp filter can forbid close_range (runc's order differs
  // only in using fcntl per fd): every later fd is opened close-on-exec.
  ops.push({ op: "close_fds", keep: opts.preserveFds, origin: "--preserve-fds" });
  const caps = proc.capabilities ?? {};
  ops.push({ op: "bounding", keep: capMask(caps.bounding), origin: "/process/capabilities/bounding" });
  if (proc.noNewPrivileges) ops.push({ op: "no_new_privs", origin: "/process/noNewPrivileges" });
  if (opts.seccomp && !proc.noNewPrivileges) ops.push(opts.seccomp.load);
  // As runc: the cwd first as root (the user may not search a 0700 dir that
  // root may), and once more after the user switch only if that was refused.
  ops.push({ op: "chdir", path: proc.cwd, early: 1, origin: "/process/cwd" });
  ops.push({
    op: "identity",
    uid: proc.user.uid,
    gid: proc.user.gid,
    setgroups: opts.setgroups ? 1 : 0,
    groups: joinList(proc.user.additionalGids ?? []),
    origin: "/process/user",
  });
  ops.push({
    op: "capset",
    effective: capMask(caps.effective),
    permitted: capMask(caps.permitted),
    inheritable: capMask(caps.inheritable),
    // The kernel raises an ambient cap only if it is permitted and
    // inheritable; runc skips the others, and so do we.
    ambient: capMask(caps.ambient) & capMask(caps.permitted) & capMask(caps.inheritable),
    origin: "/process/capabilities",
  });
  ops.push({ op: "chdir", path: proc.cwd, early: 0, origin: "/process/cwd" });
  if (proc.execCPUAffinity?.final) ops.push({ op: "affinity", cpus: proc.execCPUAffinity.final, origin: "/process/execCPUAffinity/final" });
  const pathVar = (proc.env ?? []).findLast((e) => e.startsWith("PATH="))?.slice(5) ?? "";
  ops.push({ op: "find_exec", file: proc.args?.[0] ?? "", path: pathVar, origin: "/process/args/0" });
  return ops;
}

/** The very end: the late seccomp load (with no_new_privs; create loads it itself, before startContainer hooks) and execve. */
export function execPlan(proc: Process, opts: { seccomp?: SeccompPlan }): Op[] {
  const ops: Op[] = [];
  if (opts.seccomp && proc.noNewPrivileges) ops.push(opts.seccomp.load);
  ops.push({ op: "exec", args: joinList(proc.args ?? []), env: joinList(proc.env ?? []), origin: "/process/args" });
  return ops;
}

export function capMask(names: readonly string[] | undefined): bigint {
  let mask = 0n;
  for (const n of names ?? []) mask |= 1n << BigInt(CAPABILITIES[n]!);
  return mask;
}
