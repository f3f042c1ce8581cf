// linux.resources -> the unit properties systemd owns, as runc's systemd
// driver for cgroup v2 sets them. Pure: tested without systemd. What is not
// here (io weights, hugetlb, rdma, swappiness...) is written to the cgroup
// files afterwards, as under the cgroupfs driver.
import { deviceRuleList, emulateDeviceRules } from "../cgroups/devices_bpf";
import type { LinuxResources } from "../cgroups/resources_types";
import { ResourceError, sharesToWeight, swapToV2 } from "../cgroups/translate";
import { variant, type Variant } from "./dbus_wire";

export type Property = [string, Variant];

const U64_MAX = 0xffffffffffffffffn; // systemd's "infinity"
const DEFAULT_PERIOD = 100000;
const P = "/linux/resources";

const t = (n: number | bigint) => variant("t", typeof n === "bigint" ? n : n < 0 ? U64_MAX : BigInt(n));

export interface ScopeOptions {
  id: string;
  slice: string;
  pid: number;
  /** systemd's version (Manager.Version), for properties older ones lack */
  systemdVersion: number;
  /** /proc/devices: major -> name, for a rule with every minor of one major */
  deviceNames?: (type: "b" | "c", major: number) => string | undefined;
  warn?: (msg: string) => void;
}

/** StartTransientUnit's properties for a container's scope. */
export function scopeProperties(res: LinuxResources | undefined, o: ScopeOptions): Property[] {
  return [
    ["Description", variant("s", `skiff container ${o.id}`)],
    ["Slice", variant("s", o.slice)],
    ["PIDs", variant("au", [o.pid])],
    // The container's cgroup is skiff's to manage below the scope (as runc).
    ["Delegate", variant("b", true)],
    // Accounting on for every controller, so that their files exist in the
    // scope whatever the config asks for (as runc, and as cgroupfs gives).
    ["MemoryAccounting", variant("b", true)],
    ["CPUAccounting", variant("b", true)],
    ["IOAccounting", variant("b", true)],
    ["TasksAccounting", variant("b", true)],
    // No ordering against shutdown.target and the like: the engine owns the lifecycle.
    ["DefaultDependencies", variant("b", false)],
    ...resourceProperties(res, { ...o, devices: true }),
  ];
}

/** The resource properties alone (update: SetUnitProperties; devices are left as they are). */
export function resourceProperties(res: LinuxResources | undefined, o: Omit<ScopeOptions, "id" | "slice" | "pid"> & { devices?: boolean }): Property[] {
  const props: Property[] = [];
  if (o.devices) props.push(...deviceProperties(res, o));
  const mem = res?.memory;
  if (mem?.limit) props.push(["MemoryMax", t(mem.limit)]);
  if (mem?.reservation) props.push(["MemoryLow", t(mem.reservation)]);
  if (mem?.swap !== undefined && mem.swap !== 0) {
    const swap = swapToV2(mem.swap, mem.limit ?? 0);
    if (swap !== 0) props.push(["MemorySwapMax", t(swap)]);
  }
  const cpu = res?.cpu;
  if (cpu?.shares) props.push(["CPUWeight", t(sharesToWeight(cpu.shares))]);
  props.push(...cpuQuota(cpu?.quota ?? 0, cpu?.period ?? 0, o.systemdVersion));
  if (res?.pids?.limit !== undefined && (res.pids.limit > 0 || res.pids.limit === -1)) props.push(["TasksMax", t(res.pids.limit)]);
  if (o.systemdVersion >= 244) {
    if (cpu?.cpus) props.push(["AllowedCPUs", variant("ay", rangeToBits(cpu.cpus, `${P}/cpu/cpus`))]);
    if (cpu?.mems) props.push(["AllowedMemoryNodes", variant("ay", rangeToBits(cpu.mems, `${P}/cpu/mems`))]);
  }
  for (const [file, value] of Object.entries(res?.unified ?? {})) props.push(...unifiedProperty(file, value.trim(), o.systemdVersion));
  return props;
}

/**
 * CPUQuotaPerSecUSec is µs of CPU per second of wall time. systemd keeps it
 * as a percentage, so round up to 10 ms: the files written next then hold
 * the exact quota the config asks for (as runc).
 */
function cpuQuota(quota: number, period: number, version: number): Property[] {
  const out: Property[] = [];
  if (period && version >= 242) out.push(["CPUQuotaPeriodUSec", t(period)]);
  if (quota !== 0 || period !== 0) {
    let perSec = U64_MAX;
    if (quota > 0) {
      let v = BigInt(Math.floor((quota * 1_000_000) / (period || DEFAULT_PERIOD)));
      if (v % 10000n !== 0n) v = (v / 10000n + 1n) * 10000n;
      perSec = v;
    }
    out.push(["CPUQuotaPerSecUSec", t(perSec)]);
  }
  return out;
}

const UNIFIED_MEMORY: Record<string, string> = {
  "memory.max": "MemoryMax",
  "memory.high": "MemoryHigh",
  "memory.low": "MemoryLow",
  "memory.min": "MemoryMin",
  "memory.swap.max": "MemorySwapMax",
};

/** linux.resources.unified entries that systemd has a property for; the rest only go to the files. */
function unifiedProperty(file: string, value: string, version: number): Property[] {
  const pointer = `${P}/unified/${file.replaceAll("~", "~0").replaceAll("/", "~1")}`;
  const count = (v: string) => {
    if (v === "max") return U64_MAX;
    if (!/^\d+$/.test(v)) throw new ResourceError(pointer, `${JSON.stringify(v)} is not a number or "max"`);
    return BigInt(v);
  };
  if (UNIFIED_MEMORY[file]) return [[UNIFIED_MEMORY[file], t(count(value))]];
  if (file === "pids.max") return [["TasksMax", t(count(value))]];
  if (file === "cpu.weight") return [["CPUWeight", t(count(value))]];
  if (file === "cpu.max") {
    const [q = "", p] = value.split(/\s+/);
    const quota = q === "max" ? 0 : Number(count(q));
    return cpuQuota(quota, p === undefined ? DEFAULT_PERIOD : Number(count(p)), version);
  }
  if ((file === "cpuset.cpus" || file === "cpuset.mems") && version >= 244) {
    return [[file === "cpuset.cpus" ? "AllowedCPUs" : "AllowedMemoryNodes", variant("ay", rangeToBits(value, pointer))]];
  }
  return [];
}

/** "0-2,7" -> the bitmask systemd takes for AllowedCPUs: bytes, least significant first. */
export function rangeToBits(list: string, pointer: string): number[] {
  const bytes: number[] = [];
  for (const part of list.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ResourceError(pointer, `invalid cpu or node list ${JSON.stringify(list)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 8191) throw new ResourceError(pointer, `invalid range ${JSON.stringify(part)} in ${JSON.stringify(list)}`);
    for (let i = lo; i <= hi; i++) {
      while (bytes.length <= i >> 3) bytes.push(0);
      bytes[i >> 3]! |= 1 << (i & 7);
    }
  }
  if (!bytes.length) throw new ResourceError(pointer, `empty cpu or node list ${JSON.stringify(list)}`);
  return bytes;
}

/**
 * The device rules (the config's, then runc's defaults) as DevicePolicy and
 * DeviceAllow. An allow-all base with denials cannot be said to systemd:
 * then the policy is "auto" and skiff's own eBPF filter (attached to the
 * scope's cgroup next) enforces the rules, as it does in every case.
 */
export function deviceProperties(res: LinuxResources | undefined, o: Pick<ScopeOptions, "deviceNames" | "warn">): Property[] {
  const { defaultAllow, exceptions } = emulateDeviceRules(deviceRuleList(res?.devices ?? []));
  if (defaultAllow) return [["DevicePolicy", variant("s", "auto")], ["DeviceAllow", variant("a(ss)", [])]];
  const allow: [string, string][] = [];
  for (const e of exceptions) {
    const group = e.type === "c" ? "char" : "block";
    let what: string | undefined;
    if (e.major < 0) what = `${group}-*`;
    else if (e.minor < 0) {
      const name = o.deviceNames?.(e.type, e.major);
      // systemd takes a whole major by its /proc/devices name only.
      if (!name) o.warn?.(`the device rule ${e.type} ${e.major}:* ${e.access} has no name in /proc/devices: left to skiff's device filter`);
      what = name ? `${group}-${name}` : undefined;
    } else what = `/dev/${group}/${e.major}:${e.minor}`;
    if (what) allow.push([what, e.access]);
  }
  return [["DevicePolicy", variant("s", "strict")], ["DeviceAllow", variant("a(ss)", allow)]];
}

/** /proc/devices read as deviceNames wants it. */
export function procDevices(text: string): (type: "b" | "c", major: number) => string | undefined {
  const names = new Map<string, string>();
  let section: "b" | "c" | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("Character")) section = "c";
    else if (line.startsWith("Block")) section = "b";
    const m = /^\s*(\d+)\s+(\S+)$/.exec(line);
    if (m && section) names.set(`${section} ${m[1]}`, m[2]!);
  }
  return (type, major) => names.get(`${type} ${major}`);
}
