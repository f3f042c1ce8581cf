// Write linux.resources into a container's cgroups (create and update).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describeErrno } from "../errors";
import type { CgroupRecord } from "./cgroup_types";
import type { CgroupLayout } from "./layout";
import type { LinuxResources } from "./resources_types";
import { ResourceError, translateV1, translateV2, type CgroupWrite, type Probe, type Translation } from "./translate";
import { deviceFilter, programHex } from "./devices_bpf";
import { attachDeviceFilter } from "./devices_attach";

export interface ApplyOptions {
  update?: boolean;
  skipDevices?: boolean;
  warn?: (msg: string) => void;
  debug?: (msg: string) => void;
  /** cgroup v2: loads the device filter (default: build/skiff-bpf; tests pass a fake) */
  attachDeviceFilter?: (dir: string, hex: string) => void;
}

/** The directory of one controller ("unified" = the cgroup2 one) of a container, or undefined. */
export function controllerDir(rec: CgroupRecord, ctrl: string): string | undefined {
  if (ctrl === "unified") return rec.unified;
  for (const [name, dir] of Object.entries(rec.paths)) {
    if (name !== "unified" && name.split(",").includes(ctrl)) return dir;
  }
  return undefined;
}

export function cgroupProbe(rec: CgroupRecord): Probe {
  // translate asks once per rule (a dozen device rules ask the same): remember.
  const seen = new Map<string, boolean>();
  return {
    exists(ctrl, file) {
      const dir = controllerDir(rec, ctrl);
      if (dir === undefined) return false;
      const path = file ? join(dir, file) : dir;
      let found = seen.get(path);
      if (found === undefined) seen.set(path, (found = existsSync(path)));
      return found;
    },
    read(ctrl, file) {
      const dir = controllerDir(rec, ctrl);
      if (!dir) return undefined;
      try {
        return readFileSync(join(dir, file), "utf8");
      } catch {
        return undefined;
      }
    },
  };
}

/** What would be written, without writing (for `skiff plan`-like views and tests). */
export function translateResources(kind: CgroupLayout["kind"], rec: CgroupRecord, res: LinuxResources | undefined, opts: ApplyOptions = {}): Translation {
  const t = { probe: cgroupProbe(rec), update: opts.update, skipDevices: opts.skipDevices };
  if (kind === "none") {
    if (res && Object.keys(res).some((k) => k !== "devices")) {
      throw new ResourceError("/linux/resources", "this host has no cgroup file system mounted");
    }
    return { writes: [], warnings: [], debug: [] };
  }
  return kind === "v2" ? translateV2(res, t) : translateV1(res, t);
}

export function applyResources(layout: CgroupLayout, rec: CgroupRecord, res: LinuxResources | undefined, opts: ApplyOptions = {}): Translation {
  if (layout.kind === "v2" && rec.unified) enableControllers(rec.unified, layout);
  const t = translateResources(layout.kind, rec, res, opts);
  // cgroup v2 devices: an eBPF program from the rules (compiled first, so bad rules fail before any write)
  const filter = layout.kind === "v2" && rec.unified && !opts.skipDevices ? deviceFilter(res?.devices ?? []) : undefined;
  for (const w of t.warnings) opts.warn?.(w);
  for (const d of t.debug) opts.debug?.(d);
  for (const w of t.writes) writeOne(rec, w);
  if (filter) {
    const attach = opts.attachDeviceFilter ?? ((dir, hex) => attachDeviceFilter(dir, hex, { warn: opts.warn, debug: opts.debug }));
    attach(rec.unified!, programHex(filter.insns));
  }
  return t;
}

function writeOne(rec: CgroupRecord, w: CgroupWrite): void {
  const dir = controllerDir(rec, w.ctrl)!;
  const path = join(dir, w.file);
  try {
    // "w", not "r+": many cgroup files are write-only and refuse O_RDWR.
    writeFileSync(path, w.value);
  } catch (e) {
    if (w.soft) return;
    let cause = describeErrno(e);
    if (w.file === "memory.limit_in_bytes" && (e as NodeJS.ErrnoException).code === "EBUSY") {
      const usage = readTrim(join(dir, "memory.usage_in_bytes"));
      const peak = readTrim(join(dir, "memory.max_usage_in_bytes"));
      cause = `unable to set memory limit to ${w.value} (current usage: ${usage}, peak usage: ${peak})`;
    }
    throw new ResourceError(w.pointer, `write ${JSON.stringify(w.value)} to ${path}: ${cause}`);
  }
  if (w.verify) {
    const got = readTrim(path);
    if (got !== w.value) {
      const want = Number(w.value);
      const bound = Number(got) < want ? "maximum" : "minimum";
      throw new ResourceError(w.pointer, `the ${bound} allowed cpu-shares is ${got}`);
    }
  }
}

function readTrim(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "?";
  }
}

/**
 * cgroup v2: a controller's files exist in a cgroup only when its parent
 * delegates the controller (cgroup.subtree_control). Enable, from the top
 * down, every controller each level has, as runc does. Only on a pure v2
 * host (a hybrid host's cgroup2 hierarchy has no controllers).
 */
function enableControllers(dir: string, layout: CgroupLayout): void {
  const mount = layout.hierarchies.find((h) => h.fstype === "cgroup2")?.mount;
  if (!mount) return;
  const chain: string[] = [];
  for (let d = dirname(dir); d.length >= mount.length; d = dirname(d)) {
    chain.unshift(d);
    if (d === mount) break;
  }
  for (const d of chain) {
    const available = readTrim(join(d, "cgroup.controllers")).split(" ").filter((c) => c && c !== "?");
    const enabled = new Set(readTrim(join(d, "cgroup.subtree_control")).split(" "));
    const add = available.filter((c) => !enabled.has(c));
    if (!add.length) continue;
    try {
      writeFileSync(join(d, "cgroup.subtree_control"), add.map((c) => `+${c}`).join(" "));
    } catch (e) {
      throw new ResourceError("/linux/resources", `enable controllers ${add.join(",")} in ${d}: ${describeErrno(e)}`);
    }
  }
}
