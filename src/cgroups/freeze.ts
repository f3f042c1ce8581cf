// Freeze and thaw a container's cgroup (v1 freezer.state, v2 cgroup.freeze),
// and signal every process in it without letting any fork away meanwhile.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SkiffError, SystemError, describeErrno } from "../errors";
import type { CgroupRecord } from "./cgroup_types";
import { cgroupPids } from "./manage";

type Freezer = { kind: "v1"; dir: string } | { kind: "v2"; dir: string };

export function freezerOf(rec: CgroupRecord): Freezer | undefined {
  if (rec.freezer && existsSync(join(rec.freezer, "freezer.state"))) return { kind: "v1", dir: rec.freezer };
  if (rec.unified && existsSync(join(rec.unified, "cgroup.freeze"))) return { kind: "v2", dir: rec.unified };
  return undefined;
}

function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw new SystemError(`write ${JSON.stringify(value)} to`, describeErrno(e), path);
  }
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (e) {
    throw new SystemError("read", describeErrno(e), path);
  }
}

/** Freeze the cgroup and wait until the kernel says it is frozen. */
export function freeze(rec: CgroupRecord): void {
  const f = freezerOf(rec);
  if (!f) throw new SkiffError("freeze container: this host has no freezer cgroup for it");
  if (f.kind === "v1") return freezeV1(f.dir);
  const file = join(f.dir, "cgroup.freeze");
  write(file, "1");
  for (let i = 0; i < 1000; i++) {
    if (/^frozen 1$/m.test(read(join(f.dir, "cgroup.events")))) return;
    Bun.sleepSync(5);
  }
  write(file, "0");
  throw new SkiffError(`freeze container: ${f.dir} did not reach frozen within 5 s`);
}

// As runc: keep writing FROZEN while the state is FREEZING; thaw now and
// then so that a task stuck in the kernel gets another chance.
function freezeV1(dir: string): void {
  const file = join(dir, "freezer.state");
  for (let i = 0; i < 1000; i++) {
    if (i % 50 === 49) {
      write(file, "THAWED");
      Bun.sleepSync(10);
    }
    write(file, "FROZEN");
    if (i % 25 === 24) Bun.sleepSync(1);
    const state = read(file);
    if (state === "FROZEN") return;
    if (state !== "FREEZING") throw new SkiffError(`freeze container: unexpected state ${state} after writing FROZEN to ${file}`);
  }
  write(file, "THAWED");
  throw new SkiffError(`freeze container: ${dir} stayed FREEZING`);
}

export function thaw(rec: CgroupRecord): void {
  const f = freezerOf(rec);
  if (!f) throw new SkiffError("thaw container: this host has no freezer cgroup for it");
  if (f.kind === "v1") {
    write(join(f.dir, "freezer.state"), "THAWED");
    for (let i = 0; i < 1000 && read(join(f.dir, "freezer.state")) !== "THAWED"; i++) Bun.sleepSync(5);
    return;
  }
  write(join(f.dir, "cgroup.freeze"), "0");
  for (let i = 0; i < 1000 && !/^frozen 0$/m.test(read(join(f.dir, "cgroup.events"))); i++) Bun.sleepSync(5);
}

export function isFrozen(rec: CgroupRecord): boolean {
  const f = freezerOf(rec);
  try {
    if (f?.kind === "v1") return read(join(f.dir, "freezer.state")) === "FROZEN";
    if (f?.kind === "v2") return read(join(f.dir, "cgroup.freeze")) === "1";
  } catch {
    // gone
  }
  return false;
}

/**
 * Send signal to every process of the cgroup. With a freezer, the cgroup is
 * frozen first so that no process forks a child we would miss, then thawed
 * (a SIGKILL takes effect on thaw); a cgroup that was paused stays paused.
 * Returns the pids signalled.
 */
export function signalAll(rec: CgroupRecord, signal: number): number[] {
  // cgroup v2 kills a whole cgroup in one step, racing no fork, frozen or
  // not (Linux 5.14+). Not with a v1 freezer: its frozen tasks die only thawed.
  if (signal === 9 && !rec.freezer && rec.unified && existsSync(`${rec.unified}/cgroup.kill`)) {
    const pids = cgroupPids(rec);
    try {
      writeFileSync(`${rec.unified}/cgroup.kill`, "1");
      return pids;
    } catch {
      // fall back to freeze, kill each, thaw
    }
  }
  const f = freezerOf(rec);
  const wasFrozen = isFrozen(rec);
  if (f && !wasFrozen) freeze(rec);
  const pids = cgroupPids(rec);
  try {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw new SystemError(`kill ${pid}`, describeErrno(e));
      }
    }
  } finally {
    if (f && (!wasFrozen || signal === 9)) thaw(rec);
  }
  return pids;
}
