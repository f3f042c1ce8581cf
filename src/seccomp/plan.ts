// The plan ops that load a compiled seccomp filter in skiff-init.
//   seccomp_listener  (notify only) connect to listenerPath while the host is
//                     still visible, and take the container process state from
//                     skiff; exec splits it in two (connect, then state)
//   seccomp           seccomp(SECCOMP_SET_MODE_FILTER, flags, prog); with
//                     NEW_LISTENER, send the fd and the state to the listener
import type { Op } from "../plan/ops";
import { encodeProgram, toHex } from "./bpf";
import { compileSeccomp, type Seccomp, type CompiledSeccomp } from "./compile";

/** The point skiff-init reports to get the container process state (create.ts answers it). */
export const SECCOMP_LISTENER_POINT = "seccompListener";

export interface SeccompPlan {
  compiled: CompiledSeccomp;
  /** before pivot_root, when notify */
  listener?: Op;
  /**
   * The same for exec, in two: connect in the parent stage, before the
   * container's mount namespace is joined; take the state in the child,
   * whose pid skiff then knows.
   */
  execListener?: { connect: Op; state: Op };
  load: Op;
}

export function seccompPlan(profile: Seccomp, opts: { native?: string } = {}): SeccompPlan {
  const compiled = compileSeccomp(profile, { native: opts.native, pointer: "/linux/seccomp" });
  const load: Op = { op: "seccomp", flags: compiled.flags, program: toHex(encodeProgram(compiled.program)), origin: "/linux/seccomp" };
  if (!compiled.notify) return { compiled, load };
  const origin = "/linux/seccomp/listenerPath";
  const listener: Op = { op: "seccomp_listener", path: profile.listenerPath!, point: SECCOMP_LISTENER_POINT, origin };
  const execListener: SeccompPlan["execListener"] = {
    connect: { op: "seccomp_listener", path: profile.listenerPath!, point: "", origin },
    state: { op: "seccomp_listener", path: "", point: SECCOMP_LISTENER_POINT, origin },
  };
  return { compiled, listener, execListener, load };
}

/** The container process state the runtime-spec sends with the listener fd. */
export function listenerState(opts: {
  ociVersion: string;
  pid: number;
  metadata?: string;
  state: Record<string, unknown>;
}): string {
  return JSON.stringify({
    ociVersion: opts.ociVersion,
    fds: ["seccompFd"],
    pid: opts.pid,
    metadata: opts.metadata ?? "",
    state: opts.state,
  });
}

/**
 * What the agent gets with an exec'd process's listener fd (runc's shape):
 * the process's pid, and the container's state, running, with init's pid.
 */
export function execListenerState(opts: {
  ociVersion: string;
  pid: number;
  metadata?: string;
  container: { ociVersion?: string; id: string; pid: number; bundle: string; annotations?: Record<string, string> };
}): string {
  const c = opts.container;
  const state: Record<string, unknown> = { ociVersion: c.ociVersion ?? opts.ociVersion, id: c.id, status: "running", pid: c.pid, bundle: c.bundle };
  if (c.annotations && Object.keys(c.annotations).length) state.annotations = c.annotations;
  return listenerState({ ociVersion: opts.ociVersion, pid: opts.pid, metadata: opts.metadata, state });
}
