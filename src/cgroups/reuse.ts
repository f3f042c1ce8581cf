// A container may be given a cgroup that already exists: an engine's pod
// cgroup reused, or one left behind. What runc checks before using it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SkiffError } from "../errors";
import type { CgroupRecord } from "./cgroup_types";
import { cgroupPids } from "./manage";

/**
 * A frozen cgroup would stop the container's first process in the kernel
 * the moment it is born there, and skiff would wait for it forever: refuse.
 * Processes already there are allowed, with runc's warning.
 */
export function checkExistingCgroup(rec: CgroupRecord, warn: (msg: string) => void): void {
  if (isFrozen(rec)) throw new SkiffError("container's cgroup unexpectedly frozen");
  const pids = cgroupPids(rec);
  if (pids.length) warn(`container's cgroup is not empty: ${pids.length} process(es) found`);
}

function isFrozen(rec: CgroupRecord): boolean {
  // v1: FREEZING counts too (a frozen ancestor, or a freeze under way)
  if (rec.freezer && /^(FROZEN|FREEZING)$/.test(readOr(join(rec.freezer, "freezer.state")))) return true;
  // v2: cgroup.events says frozen 1 also when an ancestor is frozen
  if (rec.unified && /^frozen 1$/m.test(readOr(join(rec.unified, "cgroup.events")))) return true;
  return false;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return ""; // a hierarchy without the file has nothing to say
  }
}
