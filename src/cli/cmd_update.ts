import { readFileSync } from "node:fs";
import type { Command } from "./command";
import { requireId } from "./command";
import { SpecError, UsageError } from "../errors";
import { validateSpec } from "../config/validate";
import type { FlagDefs, Parsed } from "./args";
import type { LinuxResources } from "../cgroups/resources_types";
import { intFlag, ramInBytes } from "../cgroups/units";
import { updateContainer } from "../container/update";
import { dropNullMembers } from "../config/validate";

const FLAGS: FlagDefs = {
  resources: { kind: "string", short: "r", help: 'path to a file with the resources to update (a JSON LinuxResources), or "-" for stdin' },
  "blkio-weight": { kind: "string", help: "specifies per cgroup weight, range is from 10 to 1000" },
  "cpu-period": { kind: "string", help: "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default" },
  "cpu-quota": { kind: "string", help: "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period" },
  "cpu-burst": { kind: "string", help: "CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period" },
  "cpu-share": { kind: "string", help: "CPU shares (relative weight vs. other containers)" },
  "cpu-rt-period": { kind: "string", help: "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default" },
  "cpu-rt-runtime": { kind: "string", help: "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period" },
  "cpuset-cpus": { kind: "string", help: "CPU(s) to use" },
  "cpuset-mems": { kind: "string", help: "Memory node(s) to use" },
  "cpu-idle": { kind: "string", help: "set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE" },
  "kernel-memory": { kind: "string", help: "(obsoleted; do not use)" },
  "kernel-memory-tcp": { kind: "string", help: "(obsoleted; do not use)" },
  memory: { kind: "string", help: "Memory limit (in bytes; suffixes k, m, g allowed)" },
  "memory-reservation": { kind: "string", help: "Memory reservation or soft_limit (in bytes)" },
  "memory-swap": { kind: "string", help: "Total memory usage (memory + swap); set '-1' to enable unlimited swap" },
  "pids-limit": { kind: "string", help: "Maximum number of pids allowed in the container" },
  "l3-cache-schema": { kind: "string", help: "The string of Intel RDT/CAT L3 cache schema (not supported)" },
  "mem-bw-schema": { kind: "string", help: "The string of Intel RDT/MBA memory bandwidth schema (not supported)" },
};

/**
 * The file is config.json's linux.resources and gets the same checks: a
 * string where a number belongs ("5\n6" as a pids limit) would otherwise be
 * written to the cgroup file as it is, and stored in state.json.
 */
function checkResources(r: unknown, file: string): void {
  const P = "/linux/resources";
  const issues = validateSpec({ ociVersion: "1.0.0", root: { path: "rootfs" }, linux: { resources: r } }, { requireProcess: false })
    .filter((i) => i.pointer.startsWith(P))
    .map((i) => ({ pointer: i.pointer.slice(P.length) || "/", message: i.message }));
  if (issues.length) throw new SpecError(`${file} (from --resources)`, issues);
}

/** The resources asked for: from -r (JSON; other flags are then ignored, as runc does) or from flags. */
export function resourcesFromFlags(p: Parsed, readStdin: () => string = () => readFileSync(0, "utf8")): LinuxResources {
  const f = p.flags as Record<string, string | undefined>;
  if (f["l3-cache-schema"] !== undefined || f["mem-bw-schema"] !== undefined) throw new UsageError("intel RDT is not supported (from --l3-cache-schema/--mem-bw-schema)");
  if (f.resources !== undefined) {
    const text = f.resources === "-" ? readStdin() : readFileSync(f.resources, "utf8");
    let r: unknown;
    try {
      // null is a member left out, as in config.json (Go engines write it)
      r = dropNullMembers(JSON.parse(text));
    } catch (e) {
      throw new UsageError(`parse resources (from --resources): ${(e as Error).message}`);
    }
    if (!r || typeof r !== "object" || Array.isArray(r)) throw new UsageError("parse resources (from --resources): not a JSON object");
    checkResources(r, f.resources === "-" ? "resources from stdin" : f.resources);
    return r as LinuxResources;
  }
  const r: LinuxResources = {};
  const mem = (r.memory = {} as NonNullable<LinuxResources["memory"]>);
  const cpu = (r.cpu = {} as NonNullable<LinuxResources["cpu"]>);
  for (const [flag, key] of [
    ["memory", "limit"],
    ["memory-swap", "swap"],
    ["memory-reservation", "reservation"],
    ["kernel-memory", "kernel"],
    ["kernel-memory-tcp", "kernelTCP"],
  ] as const) {
    const v = f[flag];
    if (v !== undefined && v !== "") mem[key] = ramInBytes(v, flag);
  }
  for (const [flag, key, min] of [
    ["cpu-share", "shares", 0],
    ["cpu-quota", "quota", undefined],
    ["cpu-period", "period", 0],
    ["cpu-burst", "burst", 0],
    ["cpu-rt-period", "realtimePeriod", 0],
    ["cpu-rt-runtime", "realtimeRuntime", undefined],
    ["cpu-idle", "idle", undefined],
  ] as const) {
    const v = f[flag];
    if (v !== undefined && v !== "") cpu[key] = intFlag(v, flag, { min });
  }
  if (f["cpuset-cpus"]) cpu.cpus = f["cpuset-cpus"];
  if (f["cpuset-mems"]) cpu.mems = f["cpuset-mems"];
  if (f["blkio-weight"]) {
    const w = intFlag(f["blkio-weight"], "blkio-weight", { min: 0 });
    if (w !== 0 && (w < 10 || w > 1000)) throw new UsageError(`invalid value ${w} for flag --blkio-weight: the range is 10 to 1000`);
    r.blockIO = { weight: w };
  }
  if (f["pids-limit"]) r.pids = { limit: intFlag(f["pids-limit"], "pids-limit") };
  if (!Object.keys(mem).length) delete r.memory;
  if (!Object.keys(cpu).length) delete r.cpu;
  return r;
}

export const command: Command = {
  flags: FLAGS,
  usage: "[command options] <container-id>",
  run(p, g) {
    const id = requireId(p, "skiff update [options] <container-id>");
    updateContainer(g.root, id, resourcesFromFlags(p));
    return 0;
  },
};
