// state.json: what skiff remembers of a container, written atomically.
// Status is never stored: it is derived from the init process when read.
import { closeSync, constants, existsSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from "node:fs";
import { StateError } from "../errors";
import { containerPaths, type ContainerPaths } from "./paths";
import type { Spec } from "../config/types";
import type { CgroupRecord } from "../cgroups/cgroup_types";
import { cgroupRecordProblem, type OnDisk } from "../cgroups/record_check";

export type Status = "creating" | "created" | "running" | "paused" | "stopped";

export interface ContainerState {
  ociVersion: string;
  id: string;
  pid: number;
  /** field 22 of /proc/PID/stat: tells our init from a reused pid */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  cgroup: CgroupRecord;
  /** the container has its own pid namespace: killing init ends it all */
  ownPidNs: boolean;
  config: Spec;
}

/** No state directory (or no state.json in it) for this id. */
export class NoSuchContainer extends StateError {
  override name = "NoSuchContainer";
}

export interface ReadStateOptions {
  /** Which of the cgroup record's paths to check on disk (record_check.ts); "all" by default. */
  cgroupOnDisk?: OnDisk;
  /** The record this process wrote itself (run's delete): when state.json still holds exactly it, it needs no check on disk. */
  ownCgroup?: CgroupRecord;
}

export function readState(root: string, id: string, opts: ReadStateOptions = {}): { state: ContainerState; paths: ContainerPaths } {
  const paths = containerPaths(root, id);
  let text: string;
  try {
    text = readFileSync(paths.state, "utf8");
  } catch {
    throw new NoSuchContainer(`container "${id}" does not exist`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StateError(`read state of container ${id}: ${paths.state} is not valid JSON`);
  }
  const problem = stateProblem(value, id, opts);
  if (problem) throw new StateError(`read state of container ${id}: ${paths.state}: ${problem}`);
  return { state: value as ContainerState, paths };
}

/**
 * state.json is input to every later command: a field skiff acts on that is
 * missing, of the wrong type, or (cgroups) names something other than a
 * cgroup is refused here, before any command acts on it.
 */
function stateProblem(v: unknown, id: string, opts: ReadStateOptions): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not an object";
  const s = v as Record<string, unknown>;
  if (s.id !== id) return `id: not ${JSON.stringify(id)}`;
  if (!Number.isInteger(s.pid) || (s.pid as number) <= 0) return "pid: not a positive integer";
  for (const k of ["pidStartTime", "bundle", "rootfs", "ociVersion"] as const) if (typeof s[k] !== "string") return `${k}: not a string`;
  if (typeof s.config !== "object" || s.config === null) return "config: not an object";
  const own = opts.ownCgroup !== undefined && JSON.stringify(s.cgroup) === JSON.stringify(opts.ownCgroup);
  return cgroupRecordProblem(s.cgroup, own ? "none" : (opts.cgroupOnDisk ?? "all"));
}

export function writeState(paths: ContainerPaths, state: ContainerState): void {
  const tmp = `${paths.state}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, paths.state);
}

/** The start time of a live, non-zombie process, or undefined. */
export function processStartTime(pid: number): string | undefined {
  if (pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parens: split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return undefined;
  return fields[19];
}

export function isAlive(state: ContainerState): boolean {
  return processStartTime(state.pid) === state.pidStartTime;
}

export function deriveStatus(state: ContainerState, paths: ContainerPaths): Status {
  if (!isAlive(state)) return "stopped";
  if (existsSync(paths.fifo)) return "created";
  if (isFrozen(state.cgroup)) return "paused";
  return "running";
}

function isFrozen(cg: CgroupRecord): boolean {
  if (cg.freezer) return readShort(`${cg.freezer}/freezer.state`) === "FROZEN";
  if (cg.unified) return readShort(`${cg.unified}/cgroup.freeze`) === "1";
  return false;
}

/**
 * The first bytes of a small file, trimmed; "" when it cannot be read (no
 * freezer: cannot be paused). Non-blocking and bounded: the record may have
 * been checked for its shape only, and a fifo there must not hang `state`.
 */
function readShort(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return "";
  }
  try {
    const buf = Buffer.alloc(64);
    return buf.subarray(0, readSync(fd, buf)).toString().trim();
  } catch {
    return "";
  } finally {
    closeSync(fd);
  }
}

/** The OCI state document, with runc's extra fields (rootfs, created, owner). */
export function ociState(state: ContainerState, status: Status): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ociVersion: state.ociVersion,
    id: state.id,
    pid: status === "stopped" ? 0 : state.pid,
    status,
    bundle: state.bundle,
    rootfs: state.rootfs,
    created: state.created,
    owner: state.owner,
  };
  if (state.annotations && Object.keys(state.annotations).length) out.annotations = state.annotations;
  return out;
}
