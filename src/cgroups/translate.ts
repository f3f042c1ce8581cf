// linux.resources -> the cgroup files to write, in the order to write them,
// for cgroup v1 (and the cgroup2 part of a hybrid host) and for cgroup v2.
// Pure apart from the probe, which says which files the kernel has and what
// some of them hold now (a real cgroupfs, or a fake tree in tests).
import { SkiffError } from "../errors";
import type { DeviceRule, LinuxResources } from "./resources_types";

export interface CgroupWrite {
  /** v1 controller ("memory", "cpu", ...) or "unified" for the cgroup2 directory */
  ctrl: string;
  file: string;
  value: string;
  /** where in config.json the value comes from */
  pointer: string;
  /** a failure is ignored: the same file is written again later (kernel ordering rules) */
  soft?: boolean;
  /** read the file back and fail when the kernel stored another value (cpu.shares) */
  verify?: boolean;
}

export interface Probe {
  /** ctrl's directory has this file (file "" = the controller is there at all) */
  exists(ctrl: string, file: string): boolean;
  read(ctrl: string, file: string): string | undefined;
}

export interface Translation {
  writes: CgroupWrite[];
  warnings: string[];
  debug: string[];
}

/** A resource the config asks for that cannot be applied, named by its JSON pointer. */
export class ResourceError extends SkiffError {
  override name = "ResourceError";
  constructor(
    readonly pointer: string,
    message: string,
  ) {
    super(`apply cgroup resources: ${pointer}: ${message}`);
  }
}

const P = "/linux/resources";

/** runc's (and crun's) cpu.shares -> cpu.weight conversion. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** runc's blkio.weight (10..1000) -> io.weight (1..10000) conversion. */
export function blkioToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** runc's memory+swap (v1 semantics) -> memory.swap.max (v2) conversion. */
export function swapToV2(swap: number, memory: number, pointer = `${P}/memory/swap`): number {
  if (memory === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (memory === 0 || memory === -1) throw new ResourceError(pointer, "unable to set swap limit without memory limit");
  if (memory < 0) throw new ResourceError(`${P}/memory/limit`, `invalid memory value: ${memory}`);
  if (swap < memory) throw new ResourceError(pointer, "memory+swap limit should be >= memory limit");
  return swap - memory;
}

/** runc's default device rules (specconv.AllowedDevices), appended after the config's rules. */
export const DEFAULT_DEVICE_RULES: Required<DeviceRule>[] = [
  { allow: true, type: "c", major: -1, minor: -1, access: "m" },
  { allow: true, type: "b", major: -1, minor: -1, access: "m" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, // /dev/null
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" }, // /dev/random
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" }, // /dev/full
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" }, // /dev/tty
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }, // /dev/zero
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" }, // /dev/urandom
  { allow: true, type: "c", major: 136, minor: -1, access: "rwm" }, // /dev/pts/*
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // /dev/ptmx
  { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }, // /dev/net/tun
];

export interface TranslateOptions {
  probe: Probe;
  /** an update of a running container rather than a new cgroup */
  update?: boolean;
  /** skip devices (update never touches them) */
  skipDevices?: boolean;
}

const num = (n: number) => String(n);

// ---------------------------------------------------------------- cgroup v1

export function translateV1(res: LinuxResources | undefined, opts: TranslateOptions): Translation {
  const t = new Builder(opts.probe, "v1");
  if (!res) res = {};
  // cpuset
  const cpu = res.cpu ?? {};
  if (cpu.cpus) t.add("cpuset", "cpuset.cpus", cpu.cpus, `${P}/cpu/cpus`);
  if (cpu.mems) t.add("cpuset", "cpuset.mems", cpu.mems, `${P}/cpu/mems`);
  // devices
  if (!opts.skipDevices) {
    for (const w of deviceWritesV1(res.devices ?? [])) t.add("devices", w.file, w.value, w.pointer);
  }
  // memory
  memoryV1(t, res, opts);
  // cpu
  if (cpu.realtimePeriod) t.add("cpu", "cpu.rt_period_us", num(cpu.realtimePeriod), `${P}/cpu/realtimePeriod`);
  if (cpu.realtimeRuntime) t.add("cpu", "cpu.rt_runtime_us", num(cpu.realtimeRuntime), `${P}/cpu/realtimeRuntime`);
  if (cpu.shares) t.add("cpu", "cpu.shares", num(cpu.shares), `${P}/cpu/shares`, { verify: true });
  const quota = cpu.quota ?? 0;
  if (cpu.period || quota) {
    // A smaller period may be refused until the quota is written: try, write the quota, retry.
    if (cpu.period) t.add("cpu", "cpu.cfs_period_us", num(cpu.period), `${P}/cpu/period`, { soft: quota !== 0 });
    if (cpu.burst !== undefined && quota) t.add("cpu", "cpu.cfs_burst_us", num(cpu.burst), `${P}/cpu/burst`, { soft: true });
    if (quota) t.add("cpu", "cpu.cfs_quota_us", num(quota), `${P}/cpu/quota`);
    if (cpu.period && quota) t.add("cpu", "cpu.cfs_period_us", num(cpu.period), `${P}/cpu/period`);
  }
  if (cpu.burst !== undefined) t.add("cpu", "cpu.cfs_burst_us", num(cpu.burst), `${P}/cpu/burst`);
  if (cpu.idle !== undefined) t.add("cpu", "cpu.idle", num(cpu.idle), `${P}/cpu/idle`);
  // pids
  if (res.pids && res.pids.limit !== 0) t.add("pids", "pids.max", res.pids.limit > 0 ? num(res.pids.limit) : "max", `${P}/pids/limit`);
  // blkio: blkio.weight with CFQ, blkio.bfq.weight with BFQ (as runc picks)
  const bio = res.blockIO ?? {};
  const bfq = !opts.probe.exists("blkio", "blkio.weight") && opts.probe.exists("blkio", "blkio.bfq.weight");
  const weightFile = bfq ? "blkio.bfq.weight" : "blkio.weight";
  if (bio.weight) t.add("blkio", weightFile, num(bio.weight), `${P}/blockIO/weight`);
  if (bio.leafWeight) t.add("blkio", "blkio.leaf_weight", num(bio.leafWeight), `${P}/blockIO/leafWeight`);
  (bio.weightDevice ?? []).forEach((d, i) => {
    if (d.weight) t.add("blkio", `${weightFile}_device`, `${d.major}:${d.minor} ${d.weight}`, `${P}/blockIO/weightDevice/${i}/weight`);
    if (d.leafWeight) t.add("blkio", "blkio.leaf_weight_device", `${d.major}:${d.minor} ${d.leafWeight}`, `${P}/blockIO/weightDevice/${i}/leafWeight`);
  });
  for (const [key, file] of THROTTLE_V1) {
    (bio[key] ?? []).forEach((d, i) => t.add("blkio", file, `${d.major}:${d.minor} ${d.rate}`, `${P}/blockIO/${key}/${i}`));
  }
  // hugetlb
  (res.hugepageLimits ?? []).forEach((h, i) => t.add("hugetlb", `hugetlb.${h.pageSize}.limit_in_bytes`, num(h.limit), `${P}/hugepageLimits/${i}`));
  // net_cls, net_prio
  if (res.network?.classID) t.add("net_cls", "net_cls.classid", num(res.network.classID), `${P}/network/classID`);
  (res.network?.priorities ?? []).forEach((p, i) => t.add("net_prio", "net_prio.ifpriomap", `${p.name} ${p.priority}`, `${P}/network/priorities/${i}`));
  // rdma
  for (const w of rdmaWrites(res.rdma)) t.add("rdma", "rdma.max", w.value, w.pointer);
  // unified: only the cgroup2 part of a hybrid host can take these
  for (const [key, value] of Object.entries(res.unified ?? {})) {
    const pointer = `${P}/unified/${escapePointer(key)}`;
    checkUnifiedKey(key, pointer);
    if (!opts.probe.exists("unified", "")) throw new ResourceError(pointer, "unified resources need cgroup v2, and this host has cgroup v1 only");
    t.add("unified", key, value, pointer);
  }
  return t.done();
}

const THROTTLE_V1 = [
  ["throttleReadBpsDevice", "blkio.throttle.read_bps_device"],
  ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device"],
  ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device"],
  ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"],
] as const;

function memoryV1(t: Builder, res: LinuxResources, opts: TranslateOptions): void {
  const m = res.memory;
  if (!m) return;
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  // Unlimited memory without a swap value means unlimited swap too (if the kernel accounts swap).
  if (limit === -1 && swap === 0 && t.probe.exists("memory", "memory.memsw.limit_in_bytes")) swap = -1;
  if (m.checkBeforeUpdate && limit > 0) checkUsage(t.probe, "memory", "memory.usage_in_bytes", limit);
  const setLimit = () => limit !== 0 && t.add("memory", "memory.limit_in_bytes", num(limit), `${P}/memory/limit`);
  const setSwap = () => swap !== 0 && t.add("memory", "memory.memsw.limit_in_bytes", num(swap), `${P}/memory/swap`);
  // The kernel wants memsw >= limit at every moment: raise swap first when
  // the new swap exceeds the current limit (or is unlimited), else limit first.
  let swapFirst = false;
  if (limit !== 0 && swap !== 0) {
    const cur = BigInt((t.probe.read("memory", "memory.limit_in_bytes") ?? "0").trim() || "0");
    swapFirst = swap === -1 || cur < BigInt(swap);
  }
  if (swapFirst) {
    setSwap();
    setLimit();
  } else {
    setLimit();
    setSwap();
  }
  if (m.reservation) t.add("memory", "memory.soft_limit_in_bytes", num(m.reservation), `${P}/memory/reservation`);
  if (m.kernel) {
    t.warnings.push(`${P}/memory/kernel: kernel memory limits are deprecated (the kernel ignores them since 5.16); setting memory.kmem.limit_in_bytes anyway`);
    t.add("memory", "memory.kmem.limit_in_bytes", num(m.kernel), `${P}/memory/kernel`);
  }
  if (m.kernelTCP) {
    t.warnings.push(`${P}/memory/kernelTCP: kernel TCP memory limits are deprecated (cgroup v1 only)`);
    t.add("memory", "memory.kmem.tcp.limit_in_bytes", num(m.kernelTCP), `${P}/memory/kernelTCP`);
  }
  if (m.disableOOMKiller) t.add("memory", "memory.oom_control", "1", `${P}/memory/disableOOMKiller`);
  if (m.swappiness !== undefined && m.swappiness !== -1) {
    if (m.swappiness < 0 || m.swappiness > 100) {
      throw new ResourceError(`${P}/memory/swappiness`, `invalid memory swappiness value: ${m.swappiness} (valid range is 0-100)`);
    }
    t.add("memory", "memory.swappiness", num(m.swappiness), `${P}/memory/swappiness`);
  }
  void opts;
}

function checkUsage(probe: Probe, ctrl: string, file: string, limit: number): void {
  const cur = probe.read(ctrl, file)?.trim();
  if (cur && /^\d+$/.test(cur) && BigInt(cur) > BigInt(limit)) {
    throw new ResourceError(`${P}/memory/limit`, `rejecting memory limit ${limit} below usage ${cur} (checkBeforeUpdate)`);
  }
}

/**
 * runc's device rules on cgroup v1: the config's rules, then the default
 * allowed devices (linux.devices grant nothing by themselves); from a default of "deny all", the last
 * "all devices" rule resets the list. The result is written as "a" to
 * devices.deny (or devices.allow) followed by the exceptions.
 */
export function deviceWritesV1(rules: DeviceRule[]): { file: string; value: string; pointer: string }[] {
  type Entry = { rule: Required<DeviceRule>; pointer: string };
  let defaultAllow = false;
  let resetPointer = `${P}/devices`;
  let list: Entry[] = [];
  const all: Entry[] = [
    ...rules.map((r, i) => ({ rule: normalize(r), pointer: `${P}/devices/${i}` })),
    ...DEFAULT_DEVICE_RULES.map((r) => ({ rule: r, pointer: `${P}/devices` })),
  ];
  for (const e of all) {
    const r = e.rule;
    if (r.type === "a") {
      defaultAllow = r.allow;
      resetPointer = e.pointer;
      list = [];
      continue;
    }
    const same = list.findIndex((x) => x.rule.type === r.type && x.rule.major === r.major && x.rule.minor === r.minor && x.rule.allow === r.allow && x.rule.access === r.access);
    if (same >= 0) continue;
    if (r.allow === defaultAllow) {
      // same as the default: drop earlier exceptions for exactly this device
      list = list.filter((x) => !(x.rule.type === r.type && x.rule.major === r.major && x.rule.minor === r.minor));
      continue;
    }
    list.push(e);
  }
  const out = [{ file: defaultAllow ? "devices.allow" : "devices.deny", value: "a", pointer: resetPointer }];
  for (const e of list) out.push({ file: e.rule.allow ? "devices.allow" : "devices.deny", value: deviceRuleText(e.rule), pointer: e.pointer });
  return out;
}

function normalize(r: DeviceRule): Required<DeviceRule> {
  return { allow: r.allow, type: r.type ?? "a", major: r.major ?? -1, minor: r.minor ?? -1, access: r.access || "rwm" };
}

export function deviceRuleText(r: Required<DeviceRule>): string {
  if (r.type === "a") return "a";
  const n = (x: number) => (x < 0 ? "*" : String(x));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

function rdmaWrites(rdma: LinuxResources["rdma"]): { value: string; pointer: string }[] {
  return Object.entries(rdma ?? {}).map(([dev, l]) => ({
    value: `${dev} hca_handle=${l.hcaHandles ?? "max"} hca_object=${l.hcaObjects ?? "max"}`,
    pointer: `${P}/rdma/${escapePointer(dev)}`,
  }));
}

function checkUnifiedKey(key: string, pointer: string): void {
  if (!key || key.includes("/") || key === "." || key === ".." || !key.includes(".")) {
    throw new ResourceError(pointer, `invalid unified resource key ${JSON.stringify(key)}`);
  }
}

const escapePointer = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");

// ---------------------------------------------------------------- cgroup v2

export function translateV2(res: LinuxResources | undefined, opts: TranslateOptions): Translation {
  const t = new Builder(opts.probe, "v2");
  const u = "unified";
  if (!res) res = {};
  const unified = res.unified ?? {};
  // pids
  if (res.pids && res.pids.limit !== 0) t.add(u, "pids.max", res.pids.limit > 0 ? num(res.pids.limit) : "max", `${P}/pids/limit`);
  // memory
  const m = res.memory;
  if (m) {
    const limit = m.limit ?? 0;
    const swap = swapToV2(m.swap ?? 0, limit);
    if (m.checkBeforeUpdate && limit > 0) checkUsage(t.probe, u, "memory.current", limit);
    let swapStr = v2num(swap);
    if (swapStr === "" && swap === 0 && (m.swap ?? 0) > 0) swapStr = "0"; // swap == limit: no swap
    if (swapStr !== "") {
      // No swap accounting in the kernel: "max" or "0" are what it does anyway.
      if (t.probe.exists(u, "memory.swap.max") || (swapStr !== "max" && swapStr !== "0")) t.add(u, "memory.swap.max", swapStr, `${P}/memory/swap`);
    }
    if (limit !== 0) t.add(u, "memory.max", v2num(limit), `${P}/memory/limit`);
    if (m.reservation) t.add(u, "memory.low", v2num(m.reservation), `${P}/memory/reservation`);
    if (m.kernel) t.warnings.push(`${P}/memory/kernel: kernel memory limits are deprecated and have no cgroup v2 file: ignored`);
    if (m.kernelTCP) t.warnings.push(`${P}/memory/kernelTCP: kernel TCP memory limits are deprecated and have no cgroup v2 file: ignored`);
    if (m.swappiness !== undefined && m.swappiness !== -1) t.warnings.push(`${P}/memory/swappiness: cgroup v2 has no per-cgroup swappiness: ignored`);
    if (m.disableOOMKiller) t.warnings.push(`${P}/memory/disableOOMKiller: cgroup v2 cannot disable the OOM killer: ignored`);
  }
  // io
  const bio = res.blockIO ?? {};
  const bfq = t.probe.exists(u, "io.bfq.weight");
  if (bio.weight) {
    if (bfq) t.add(u, "io.bfq.weight", num(bio.weight), `${P}/blockIO/weight`);
    else t.add(u, "io.weight", num(blkioToIoWeight(bio.weight)), `${P}/blockIO/weight`);
  }
  if (bio.leafWeight) throw new ResourceError(`${P}/blockIO/leafWeight`, "cgroup v2 has no leaf weight");
  (bio.weightDevice ?? []).forEach((d, i) => {
    if (d.leafWeight) throw new ResourceError(`${P}/blockIO/weightDevice/${i}/leafWeight`, "cgroup v2 has no leaf weight");
    if (!d.weight) return;
    if (!bfq) throw new ResourceError(`${P}/blockIO/weightDevice/${i}`, "per-device weights need the BFQ scheduler (no io.bfq.weight)");
    t.add(u, "io.bfq.weight", `${d.major}:${d.minor} ${d.weight}`, `${P}/blockIO/weightDevice/${i}`);
  });
  for (const [key, name] of THROTTLE_V2) {
    (bio[key] ?? []).forEach((d, i) => t.add(u, "io.max", `${d.major}:${d.minor} ${name}=${d.rate}`, `${P}/blockIO/${key}/${i}`));
  }
  // cpu
  const cpu = res.cpu ?? {};
  if (cpu.realtimePeriod || cpu.realtimeRuntime) {
    throw new ResourceError(`${P}/cpu/${cpu.realtimePeriod ? "realtimePeriod" : "realtimeRuntime"}`, "realtime scheduling is not supported on cgroup v2");
  }
  if (cpu.idle !== undefined) t.add(u, "cpu.idle", num(cpu.idle), `${P}/cpu/idle`);
  if (cpu.shares && unified["cpu.weight"] === undefined) t.add(u, "cpu.weight", num(sharesToWeight(cpu.shares)), `${P}/cpu/shares`);
  const quota = cpu.quota ?? 0;
  // cpu.max.burst must not exceed the quota: lower it first (may fail), set cpu.max, set it again.
  if (cpu.burst !== undefined && (quota || cpu.period)) t.add(u, "cpu.max.burst", num(cpu.burst), `${P}/cpu/burst`, { soft: true });
  if (quota || cpu.period) {
    let s = quota > 0 ? num(quota) : "max";
    if (cpu.period) s += ` ${cpu.period}`;
    t.add(u, "cpu.max", s, quota ? `${P}/cpu/quota` : `${P}/cpu/period`);
  }
  if (cpu.burst !== undefined) t.add(u, "cpu.max.burst", num(cpu.burst), `${P}/cpu/burst`);
  // cpuset
  if (cpu.cpus) t.add(u, "cpuset.cpus", cpu.cpus, `${P}/cpu/cpus`);
  if (cpu.mems) t.add(u, "cpuset.mems", cpu.mems, `${P}/cpu/mems`);
  // hugetlb
  (res.hugepageLimits ?? []).forEach((h, i) => t.add(u, `hugetlb.${h.pageSize}.max`, num(h.limit), `${P}/hugepageLimits/${i}`));
  // rdma
  for (const w of rdmaWrites(res.rdma)) t.add(u, "rdma.max", w.value, w.pointer);
  // network: v1 only
  if (res.network?.classID) throw new ResourceError(`${P}/network/classID`, "net_cls is a cgroup v1 controller; cgroup v2 has none");
  if (res.network?.priorities?.length) throw new ResourceError(`${P}/network/priorities`, "net_prio is a cgroup v1 controller; cgroup v2 has none");
  // devices: not a file on cgroup v2 but an eBPF program (devices_bpf.ts), attached by apply.ts
  // unified last: it overrides what the fields above wrote
  for (const [key, value] of Object.entries(unified)) {
    const pointer = `${P}/unified/${escapePointer(key)}`;
    checkUnifiedKey(key, pointer);
    t.add(u, key, value, pointer);
  }
  return t.done();
}

const THROTTLE_V2 = [
  ["throttleReadBpsDevice", "rbps"],
  ["throttleWriteBpsDevice", "wbps"],
  ["throttleReadIOPSDevice", "riops"],
  ["throttleWriteIOPSDevice", "wiops"],
] as const;

function v2num(n: number): string {
  if (n === 0) return "";
  if (n === -1) return "max";
  return num(n);
}

class Builder {
  writes: CgroupWrite[] = [];
  warnings: string[] = [];
  debug: string[] = [];
  constructor(
    readonly probe: Probe,
    private readonly version: "v1" | "v2",
  ) {}
  add(ctrl: string, file: string, value: string, pointer: string, extra: { soft?: boolean; verify?: boolean } = {}): void {
    if (!this.probe.exists(ctrl, "")) {
      throw new ResourceError(pointer, ctrl === "unified" ? "this host has no cgroup v2 hierarchy" : `this host has no ${ctrl} cgroup controller (cgroup ${this.version})`);
    }
    if (!this.probe.exists(ctrl, file)) {
      const why = ctrl === "unified" && this.version === "v2" ? " (is its controller enabled?)" : "";
      throw new ResourceError(pointer, `the kernel has no ${file} file${why}`);
    }
    this.writes.push({ ctrl, file, value, pointer, ...extra });
  }
  done(): Translation {
    return { writes: this.writes, warnings: this.warnings, debug: this.debug };
  }
}
