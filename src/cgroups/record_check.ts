// state.json's cgroup record is read back by delete, kill, pause, update,
// exec, ps and events, which write into (and rmdir) the directories it
// names. The state directory is root's, but a record that names anything
// other than a cgroup is refused rather than acted on: every path must be
// clean and absolute and, where it exists, on a cgroup file system.
import { statSync, statfsSync } from "node:fs";
import { posix } from "node:path";

const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

/**
 * Which paths of a record are checked on disk: all of them (the default);
 * only the freezer's, for commands that read no more than the status
 * (state, list, start, kill of the init alone) and so spare a dozen stat
 * calls; none, for a record this process wrote itself. The shape (clean
 * absolute paths, leaves and their ancestors) is always checked.
 */
export type OnDisk = "all" | "status" | "none";

/** Why rec is not a cgroup record skiff could have written, or undefined. */
export function cgroupRecordProblem(rec: unknown, onDisk: OnDisk = "all"): string | undefined {
  if (typeof rec !== "object" || rec === null || Array.isArray(rec)) return "cgroup: not an object";
  const r = rec as Record<string, unknown>;
  if (typeof r.paths !== "object" || r.paths === null || Array.isArray(r.paths)) return "cgroup.paths: not an object";
  if (!Array.isArray(r.created)) return "cgroup.created: not an array";
  const dirs = Object.entries(r.paths as Record<string, unknown>);
  const status = [r.freezer, r.unified];
  for (const [name, dir] of dirs) {
    const p = pathProblem(dir, onDisk === "all" || (onDisk === "status" && status.includes(dir)));
    if (p) return `cgroup.paths.${name}: ${p}`;
  }
  const leaves = dirs.map(([, d]) => d as string);
  for (const [i, dir] of (r.created as unknown[]).entries()) {
    const p = pathProblem(dir, onDisk === "all");
    if (p) return `cgroup.created[${i}]: ${p}`;
    // skiff records only the directories it made on the way to a leaf
    if (!leaves.some((l) => l === dir || l.startsWith(`${dir as string}/`))) return `cgroup.created[${i}]: ${JSON.stringify(dir)} is no leaf's ancestor`;
  }
  for (const key of ["freezer", "unified"] as const) {
    if (r[key] === undefined) continue;
    if (typeof r[key] !== "string" || !leaves.includes(r[key] as string)) return `cgroup.${key}: not one of cgroup.paths`;
  }
  return undefined;
}

function pathProblem(dir: unknown, onDisk: boolean): string | undefined {
  if (typeof dir !== "string") return "not a string";
  if (!dir.startsWith("/") || dir.includes("\0") || dir.length === 1 || posix.normalize(dir) !== dir || dir.endsWith("/")) return `${JSON.stringify(dir)} is not a clean absolute path`;
  if (!onDisk) return undefined;
  let type: number;
  try {
    type = statfsSync(dir).type;
  } catch {
    return undefined; // gone (or never made): nothing will be written there
  }
  if (type !== CGROUP_SUPER_MAGIC && type !== CGROUP2_SUPER_MAGIC) return `${JSON.stringify(dir)} is not on a cgroup file system`;
  // A hierarchy's root holds every host process that has no other cgroup:
  // delete would signal them all. A mount root's parent is on another device.
  try {
    if (statSync(dir).dev !== statSync(posix.dirname(dir)).dev) return `${JSON.stringify(dir)} is the root of a cgroup hierarchy`;
  } catch {
    return undefined;
  }
  return undefined;
}
