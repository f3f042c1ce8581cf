// Resource usage of a container in runc's `events --stats` shape
// (runc's types/events.go, with its omitempty rules). Counters are bigint:
// an unlimited v1 memory limit (9223372036854771712) does not fit a double.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { CgroupRecord } from "./cgroup_types";
import { controllerDir } from "./apply";

type Obj = Record<string, unknown>;

function readText(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined;
  try {
    return readFileSync(join(dir, file), "utf8");
  } catch {
    return undefined;
  }
}

function big(s: string | undefined): bigint {
  const t = s?.trim();
  if (!t || t === "max" || !/^-?\d+$/.test(t)) return 0n;
  const v = BigInt(t);
  return v < 0n ? 0n : v;
}

function keyed(text: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, BigInt(v));
  }
  return out;
}

const list = (text: string | undefined) => (text ?? "").trim().split(/\s+/).filter(Boolean).map((x) => big(x));

/** Drop the keys whose values Go's omitempty would drop. */
function omit(o: Obj, keys: string[]): Obj {
  for (const k of keys) {
    const v = o[k];
    if (v === undefined || v === 0n || v === 0 || v === "" || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)) delete o[k];
  }
  return o;
}

function cpuList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? "").trim().split(",")) {
    if (!part) continue;
    const [a, b] = part.split("-").map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.push(i);
  }
  return out;
}

const USER_HZ = 100n;
const NS_PER_TICK = 1_000_000_000n / USER_HZ;

export function collectStats(rec: CgroupRecord, kind: "v1" | "hybrid" | "v2" | "none"): Obj {
  return kind === "v2" ? statsV2(rec) : statsV1(rec);
}

function statsV1(rec: CgroupRecord): Obj {
  const acct = controllerDir(rec, "cpuacct");
  const cpuDir = controllerDir(rec, "cpu");
  const mem = controllerDir(rec, "memory");
  const cpuStat = keyed(readText(acct, "cpuacct.stat"));
  const usage: Obj = {
    total: big(readText(acct, "cpuacct.usage")),
    percpu: list(readText(acct, "cpuacct.usage_percpu")),
    percpu_kernel: list(readText(acct, "cpuacct.usage_percpu_sys")),
    percpu_user: list(readText(acct, "cpuacct.usage_percpu_user")),
    kernel: (cpuStat.get("system") ?? 0n) * NS_PER_TICK,
    user: (cpuStat.get("user") ?? 0n) * NS_PER_TICK,
  };
  const thr = keyed(readText(cpuDir, "cpu.stat"));
  const throttling = { periods: thr.get("nr_periods") ?? 0n, throttled_periods: thr.get("nr_throttled") ?? 0n, throttled_time: thr.get("throttled_time") ?? 0n };
  const entry = (prefix: string): Obj =>
    omit(
      {
        limit: big(readText(mem, `${prefix}.limit_in_bytes`)),
        usage: big(readText(mem, `${prefix}.usage_in_bytes`)),
        max: big(readText(mem, `${prefix}.max_usage_in_bytes`)),
        failcnt: big(readText(mem, `${prefix}.failcnt`)),
      },
      ["usage", "max"],
    );
  const raw = keyed(readText(mem, "memory.stat"));
  const memory: Obj = omit(
    {
      cache: raw.get("cache") ?? 0n,
      usage: entry("memory"),
      swap: entry("memory.memsw"),
      kernel: entry("memory.kmem"),
      kernelTCP: entry("memory.kmem.tcp"),
      raw: Object.fromEntries(raw),
    },
    ["cache", "raw"],
  );
  const pidsDir = controllerDir(rec, "pids");
  const pids = omit({ current: big(readText(pidsDir, "pids.current")), limit: big(readText(pidsDir, "pids.max")) }, ["current", "limit"]);
  const blk = controllerDir(rec, "blkio");
  const blkio = omit(
    {
      ioServiceBytesRecursive: blkioEntries(readText(blk, "blkio.throttle.io_service_bytes_recursive") ?? readText(blk, "blkio.throttle.io_service_bytes")),
      ioServicedRecursive: blkioEntries(readText(blk, "blkio.throttle.io_serviced_recursive") ?? readText(blk, "blkio.throttle.io_serviced")),
    },
    ["ioServiceBytesRecursive", "ioServicedRecursive"],
  );
  const hugetlb: Obj = {};
  const hdir = controllerDir(rec, "hugetlb");
  for (const size of hugePageSizes()) {
    if (!hdir || !existsSync(join(hdir, `hugetlb.${size}.usage_in_bytes`))) continue;
    hugetlb[size] = omit(
      {
        usage: big(readText(hdir, `hugetlb.${size}.usage_in_bytes`)),
        max: big(readText(hdir, `hugetlb.${size}.max_usage_in_bytes`)),
        failcnt: big(readText(hdir, `hugetlb.${size}.failcnt`)),
      },
      ["usage", "max"],
    );
  }
  const cs = controllerDir(rec, "cpuset");
  const cpuset = omit({ cpus: cpuList(readText(cs, "cpuset.cpus")), mems: cpuList(readText(cs, "cpuset.mems")) }, ["cpus", "mems"]);
  return {
    cpu: { usage: omit(usage, ["total", "percpu", "percpu_kernel", "percpu_user"]), throttling: omit(throttling, ["periods", "throttled_periods", "throttled_time"]) },
    cpuset,
    memory,
    pids,
    blkio,
    hugetlb,
  };
}

function blkioEntries(text: string | undefined): Obj[] {
  const out: Obj[] = [];
  for (const line of (text ?? "").split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) continue; // "Total N" lines
    const [dev, op, value] = parts as [string, string, string];
    const [major, minor] = dev.split(":").map((x) => BigInt(x));
    out.push(omit({ major, minor, op, value: big(value) }, ["major", "minor", "op", "value"]));
  }
  return out;
}

function hugePageSizes(): string[] {
  try {
    return readdirSync("/sys/kernel/mm/hugepages").map((d) => {
      const kb = Number(d.replace(/^hugepages-|kB$/g, ""));
      return kb >= 1048576 ? `${kb / 1048576}GB` : kb >= 1024 ? `${kb / 1024}MB` : `${kb}KB`;
    });
  } catch {
    return [];
  }
}

function statsV2(rec: CgroupRecord): Obj {
  const d = rec.unified;
  const cs = keyed(readText(d, "cpu.stat"));
  const usage = omit(
    { total: (cs.get("usage_usec") ?? 0n) * 1000n, kernel: (cs.get("system_usec") ?? 0n) * 1000n, user: (cs.get("user_usec") ?? 0n) * 1000n },
    ["total"],
  );
  const throttling = omit(
    { periods: cs.get("nr_periods") ?? 0n, throttled_periods: cs.get("nr_throttled") ?? 0n, throttled_time: (cs.get("throttled_usec") ?? 0n) * 1000n },
    ["periods", "throttled_periods", "throttled_time"],
  );
  const raw = keyed(readText(d, "memory.stat"));
  const events = keyed(readText(d, "memory.events"));
  const unlimited = 0xffffffffffffffffn;
  const limitOf = (s: string | undefined) => (s?.trim() === "max" ? unlimited : big(s));
  const memory = omit(
    {
      cache: raw.get("file") ?? 0n,
      usage: omit({ limit: limitOf(readText(d, "memory.max")), usage: big(readText(d, "memory.current")), max: big(readText(d, "memory.peak")), failcnt: events.get("max") ?? 0n }, ["usage", "max"]),
      swap: omit({ limit: limitOf(readText(d, "memory.swap.max")), usage: big(readText(d, "memory.swap.current")), failcnt: 0n }, ["usage", "max"]),
      kernel: { limit: 0n, failcnt: 0n },
      kernelTCP: { limit: 0n, failcnt: 0n },
      raw: Object.fromEntries(raw),
    },
    ["cache", "raw"],
  );
  const pids = omit({ current: big(readText(d, "pids.current")), limit: big(readText(d, "pids.max")) }, ["current", "limit"]);
  const bytes: Obj[] = [];
  const ios: Obj[] = [];
  for (const line of (readText(d, "io.stat") ?? "").split("\n")) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    if (!dev || !kv.length) continue;
    const [major, minor] = dev.split(":").map((x) => BigInt(x));
    const f = new Map(kv.map((x) => x.split("=") as [string, string]));
    bytes.push({ major, minor, op: "Read", value: big(f.get("rbytes")) }, { major, minor, op: "Write", value: big(f.get("wbytes")) });
    ios.push({ major, minor, op: "Read", value: big(f.get("rios")) }, { major, minor, op: "Write", value: big(f.get("wios")) });
  }
  const hugetlb: Obj = {};
  for (const size of hugePageSizes()) {
    if (!d || !existsSync(join(d, `hugetlb.${size}.current`))) continue;
    hugetlb[size] = omit({ usage: big(readText(d, `hugetlb.${size}.current`)), failcnt: keyed(readText(d, `hugetlb.${size}.events`)).get("max") ?? 0n }, ["usage"]);
  }
  return {
    cpu: { usage, throttling },
    cpuset: omit({ cpus: cpuList(readText(d, "cpuset.cpus.effective")), mems: cpuList(readText(d, "cpuset.mems.effective")) }, ["cpus", "mems"]),
    memory,
    pids,
    blkio: omit({ ioServiceBytesRecursive: bytes, ioServicedRecursive: ios }, ["ioServiceBytesRecursive", "ioServicedRecursive"]),
    hugetlb,
  };
}

/** JSON with bigints written as plain numbers. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `\u0000big:${v}` : v)).replace(/"\\u0000big:(\d+)"/g, "$1");
}
