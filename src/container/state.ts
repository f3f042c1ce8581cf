// state.json: what skiff remembers of a container, written atomically.
// Status is never stored: it is derived from the init process when read.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { StateError } from "../errors";
import { containerPaths, type ContainerPaths } from "./paths";
import type { Spec } from "../config/types";
import type { CgroupRecord } from "../cgroups/cgroup_types";
import { cgroupRecordProblem } from "../cgroups/record_check";

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

export function readState(root: string, id: string): { state: ContainerState; paths: ContainerPaths } {
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
  const problem = stateProblem(value, id);
  if (problem) throw new StateError(`read state of container ${id}: ${paths.state}: ${problem}`);
  return { state: value as ContainerState, paths };
}

/**
 * state.json is input to every later command: a field skiff acts on that is
 * missing, of the wrong type, or (cgroups) names something other than a
 * cgroup is refused here, before any command acts on it.
 */
function stateProblem(v: unknown, id: string): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not an object";
  const s = v as Record<string, unknown>;
  if (s.id !== id) return `id: not ${JSON.stringify(id)}`;
  if (!Number.isInteger(s.pid) || (s.pid as number) <= 0) return "pid: not a positive integer";
  for (const k of ["pidStartTime", "bundle", "rootfs", "ociVersion"] as const) if (typeof s[k] !== "string") return `${k}: not a string`;
  if (typeof s.config !== "object" || s.config === null) return "config: not an object";
  return cgroupRecordProblem(s.cgroup);
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
  try {
    if (cg.freezer) return readFileSync(`${cg.freezer}/freezer.state`, "utf8").trim() === "FROZEN";
    if (cg.unified) return readFileSync(`${cg.unified}/cgroup.freeze`, "utf8").trim() === "1";
  } catch {
    // no freezer: cannot be paused
  }
  return false;
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
