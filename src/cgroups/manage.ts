// Create, join and remove a container's cgroups. skiff only ever removes
// directories it created itself (recorded in state.json), never others.
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { SystemError, describeErrno } from "../errors";
import type { CgroupRecord } from "./cgroup_types";
import { checkCgroupsPath, cgroupDir } from "./cgroups_path";
import { parseProcCgroup, type CgroupLayout } from "./layout";

/**
 * Make the directories (parents too) and note which ones are new.
 * cgroupsPath is linux.cgroupsPath (or the id); `file` names config.json in
 * messages about it.
 */
export function createCgroups(layout: CgroupLayout, opts: { cgroupsPath: string; file: string; rootless?: boolean }): CgroupRecord {
  checkCgroupsPath(opts.cgroupsPath, opts.file);
  const own = parseProcCgroup(readFileSync("/proc/self/cgroup", "utf8"));
  const dirs = layout.hierarchies.map((h) => ({ h, dir: cgroupDir(h, { cgroupsPath: opts.cgroupsPath, own, file: opts.file }) }));
  const rec: CgroupRecord = { paths: {}, created: [] };
  try {
    for (const { h, dir } of dirs) {
      if (opts.rootless && !mayCreateIn(dir, h.mount)) continue; // as runc: no cgroup, no limits
      rec.paths[h.name] = dir;
      if (h.name === "freezer") rec.freezer = dir;
      if (h.fstype === "cgroup2") rec.unified = dir;
      for (const d of missingAncestors(dir, h.mount)) {
        try {
          mkdirSync(d);
        } catch (e) {
          throw new SystemError("create cgroup", describeErrno(e), d);
        }
        rec.created.push(d);
      }
      // A v1 cpuset without cpus or mems refuses tasks (ENOSPC): fill every
      // empty level from its parent, the engine's pod cgroup too, as runc does.
      if (h.options.split(",").includes("cpuset")) fillCpusets(dir, h.mount);
    }
  } catch (e) {
    removeCgroups(rec);
    throw e;
  }
  return rec;
}

/** An unprivileged caller may use a hierarchy only where it can write (a delegated subtree). */
function mayCreateIn(dir: string, mount: string): boolean {
  let d = dir;
  while (d.length > mount.length && !existsSync(d)) d = join(d, "..");
  try {
    accessSync(d, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function missingAncestors(dir: string, mount: string): string[] {
  const out: string[] = [];
  for (let d = dir; d.length > mount.length && !existsSync(d); d = join(d, "..")) out.unshift(d);
  return out;
}

function fillCpusets(dir: string, mount: string): void {
  const chain: string[] = [];
  for (let d = dir; d.length > mount.length; d = dirname(d)) chain.unshift(d);
  for (const d of chain) {
    for (const f of ["cpuset.cpus", "cpuset.mems"]) {
      try {
        if (readFileSync(join(d, f), "utf8").trim()) continue;
        writeFileSync(join(d, f), readFileSync(join(dirname(d), f), "utf8").trim());
      } catch (e) {
        throw new SystemError(`fill ${f} of cgroup`, describeErrno(e), d);
      }
    }
  }
}

/** Move a process into every cgroup of the record, by pid (the slow way: see compile.ts). */
export function joinCgroups(rec: CgroupRecord, pid: number): void {
  for (const dir of Object.values(rec.paths)) {
    try {
      writeFileSync(join(dir, "cgroup.procs"), String(pid));
    } catch (e) {
      throw new SystemError("join cgroup", describeErrno(e), dir);
    }
  }
}

/** The record's directories split as clone3 and the v1 tasks files want them. */
export function cgroupDirs(rec: CgroupRecord): { v1: string[]; v2?: string } {
  const v1 = Object.entries(rec.paths).filter(([, dir]) => dir !== rec.unified).map(([, dir]) => dir);
  return { v1, v2: rec.unified };
}

/** Pids in the container's cgroup (read from one hierarchy that has them). */
export function cgroupPids(rec: CgroupRecord): number[] {
  const dir = rec.paths["pids"] ?? rec.unified ?? Object.values(rec.paths)[0];
  if (!dir) return [];
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Remove what createCgroups made, deepest first; waits briefly for exiting tasks. */
export function removeCgroups(rec: CgroupRecord): void {
  const errors: string[] = [];
  const leaves = new Set(Object.values(rec.paths));
  for (const dir of [...rec.created].sort((a, b) => b.length - a.length)) {
    // A parent we made may hold another container's cgroup by now: keep it.
    const retries = leaves.has(dir) ? 50 : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(dir);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") break;
        if (!leaves.has(dir) && (code === "EBUSY" || code === "ENOTEMPTY")) break;
        if (code === "EBUSY" && attempt < retries) {
          Bun.sleepSync(10); // the last tasks are still exiting
          continue;
        }
        errors.push(`${dir}: ${describeErrno(e)}`);
        break;
      }
    }
  }
  if (errors.length) throw new SystemError("remove cgroup", errors.join("; "));
}
