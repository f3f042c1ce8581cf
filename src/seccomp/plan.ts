// The plan ops that load a compiled seccomp filter in skiff-init.
//   seccomp_listener  (notify only) connect to listenerPath while the host is
//                     still visible, and take the container process state from skiff
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
  load: Op;
}

export function seccompPlan(profile: Seccomp, opts: { native?: string } = {}): SeccompPlan {
  const compiled = compileSeccomp(profile, { native: opts.native, pointer: "/linux/seccomp" });
  const load: Op = { op: "seccomp", flags: compiled.flags, program: toHex(encodeProgram(compiled.program)), origin: "/linux/seccomp" };
  if (!compiled.notify) return { compiled, load };
  const listener: Op = { op: "seccomp_listener", path: profile.listenerPath!, point: SECCOMP_LISTENER_POINT, origin: "/linux/seccomp/listenerPath" };
  return { compiled, listener, load };
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
