// linux.resources -> cgroup files, against a fake cgroupfs in a temp dir
// (v1 with one directory per controller; v2 with one unified directory).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, tempDir } from "../../test/bundle";
import { applyResources } from "./apply";
import type { CgroupRecord } from "./cgroup_types";
import type { CgroupLayout } from "./layout";
import type { LinuxResources } from "./resources_types";
import { ResourceError, blkioToIoWeight, sharesToWeight, swapToV2, deviceWritesV1, type CgroupWrite } from "./translate";

afterAll(() => cleanupTempDirs());

const V1_FILES: Record<string, string[]> = {
  cpu: ["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.cfs_burst_us", "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle"],
  cpuset: ["cpuset.cpus", "cpuset.mems"],
  memory: [
    "memory.limit_in_bytes",
    "memory.memsw.limit_in_bytes",
    "memory.soft_limit_in_bytes",
    "memory.kmem.limit_in_bytes",
    "memory.kmem.tcp.limit_in_bytes",
    "memory.swappiness",
    "memory.oom_control",
    "memory.usage_in_bytes",
  ],
  devices: ["devices.allow", "devices.deny"],
  pids: ["pids.max"],
  blkio: ["blkio.weight", "blkio.weight_device", "blkio.leaf_weight", "blkio.leaf_weight_device", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"],
  hugetlb: ["hugetlb.2MB.limit_in_bytes"],
  "net_cls,net_prio": ["net_cls.classid", "net_prio.ifpriomap"],
  rdma: ["rdma.max"],
  freezer: ["freezer.state"],
};
const V2_FILES = ["cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems", "memory.max", "memory.low", "memory.swap.max", "memory.current", "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "rdma.max", "memory.oom.group", "cgroup.freeze"];

function fakeV1(opts: { omit?: string[]; unified?: string[]; initial?: Record<string, string> } = {}): { rec: CgroupRecord; layout: CgroupLayout; read: (ctrl: string, f: string) => string } {
  const root = tempDir("skiff-fakecg1-");
  const rec: CgroupRecord = { paths: {}, created: [] };
  const layout: CgroupLayout = { kind: opts.unified ? "hybrid" : "v1", hierarchies: [] };
  for (const [ctrl, files] of Object.entries(V1_FILES)) {
    if (opts.omit?.includes(ctrl)) continue;
    const dir = join(root, ctrl, "c1");
    mkdirSync(dir, { recursive: true });
    for (const f of files) if (!opts.omit?.includes(f)) writeFileSync(join(dir, f), opts.initial?.[f] ?? "");
    rec.paths[ctrl] = dir;
    layout.hierarchies.push({ name: ctrl, mount: join(root, ctrl), fstype: "cgroup", options: ctrl, key: ctrl });
  }
  if (opts.unified) {
    const dir = join(root, "unified", "c1");
    mkdirSync(dir, { recursive: true });
    for (const f of opts.unified) writeFileSync(join(dir, f), "");
    rec.paths.unified = dir;
    rec.unified = dir;
  }
  const read = (ctrl: string, f: string) => readFileSync(join(ctrl === "unified" ? rec.unified! : rec.paths[ctrl]!, f), "utf8");
  return { rec, layout, read };
}

function fakeV2(opts: { omit?: string[]; initial?: Record<string, string> } = {}) {
  const root = tempDir("skiff-fakecg2-");
  const dir = join(root, "c1");
  mkdirSync(dir);
  for (const f of V2_FILES) if (!opts.omit?.includes(f)) writeFileSync(join(dir, f), opts.initial?.[f] ?? "");
  const rec: CgroupRecord = { paths: { unified: dir }, created: [], unified: dir };
  // mount "" above root: enableControllers finds no cgroup.controllers and does nothing
  const layout: CgroupLayout = { kind: "v2", hierarchies: [{ name: "unified", mount: dir, fstype: "cgroup2", options: "", key: "" }] };
  return { rec, layout, read: (f: string) => readFileSync(join(dir, f), "utf8") };
}

const brief = (ws: CgroupWrite[]) => ws.map((w) => `${w.file}=${w.value}`);

describe("cgroup v1 translation", () => {
  test("memory, cpu, pids, blkio, hugetlb, network, rdma land in their files", () => {
    const { rec, layout, read } = fakeV1({ initial: { "memory.limit_in_bytes": "9223372036854771712" } });
    const res: LinuxResources = {
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, swappiness: 10, disableOOMKiller: true, kernelTCP: 1 << 20 },
      cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, realtimePeriod: 1000000, realtimeRuntime: 950000, cpus: "0", mems: "0", idle: 0 },
      pids: { limit: 10 },
      blockIO: { weight: 300, leafWeight: 200, weightDevice: [{ major: 8, minor: 0, weight: 500, leafWeight: 400 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 4 << 21 }],
      network: { classID: 0x100001, priorities: [{ name: "eth0", priority: 5 }] },
      rdma: { mlx4_0: { hcaHandles: 2, hcaObjects: 2000 } },
    };
    const warnings: string[] = [];
    const t = applyResources(layout, rec, res, { warn: (w) => warnings.push(w) });
    expect(read("memory", "memory.limit_in_bytes")).toBe(String(64 << 20));
    expect(read("memory", "memory.memsw.limit_in_bytes")).toBe(String(128 << 20));
    expect(read("memory", "memory.soft_limit_in_bytes")).toBe(String(32 << 20));
    expect(read("memory", "memory.swappiness")).toBe("10");
    expect(read("memory", "memory.oom_control")).toBe("1");
    expect(read("memory", "memory.kmem.tcp.limit_in_bytes")).toBe(String(1 << 20));
    expect(warnings.some((w) => w.includes("/linux/resources/memory/kernelTCP") && w.includes("deprecated"))).toBe(true);
    expect(read("cpu", "cpu.shares")).toBe("512");
    expect(read("cpu", "cpu.cfs_quota_us")).toBe("50000");
    expect(read("cpu", "cpu.cfs_period_us")).toBe("100000");
    expect(read("cpu", "cpu.cfs_burst_us")).toBe("1000");
    expect(read("cpu", "cpu.rt_period_us")).toBe("1000000");
    expect(read("cpu", "cpu.rt_runtime_us")).toBe("950000");
    expect(read("cpu", "cpu.idle")).toBe("0");
    expect(read("cpuset", "cpuset.cpus")).toBe("0");
    expect(read("pids", "pids.max")).toBe("10");
    expect(read("blkio", "blkio.weight")).toBe("300");
    expect(read("blkio", "blkio.leaf_weight")).toBe("200");
    expect(read("blkio", "blkio.weight_device")).toBe("8:0 500");
    expect(read("blkio", "blkio.leaf_weight_device")).toBe("8:0 400");
    expect(read("blkio", "blkio.throttle.read_bps_device")).toBe("8:0 1048576");
    expect(read("blkio", "blkio.throttle.write_iops_device")).toBe("8:0 100");
    expect(read("hugetlb", "hugetlb.2MB.limit_in_bytes")).toBe(String(4 << 21));
    expect(read("net_cls,net_prio", "net_cls.classid")).toBe(String(0x100001));
    expect(read("net_cls,net_prio", "net_prio.ifpriomap")).toBe("eth0 5");
    expect(read("rdma", "rdma.max")).toBe("mlx4_0 hca_handle=2 hca_object=2000");
    // rt period before runtime; quota between the (soft) period try and its retry
    const files = t.writes.filter((w) => w.ctrl === "cpu").map((w) => w.file);
    expect(files.indexOf("cpu.rt_period_us")).toBeLessThan(files.indexOf("cpu.rt_runtime_us"));
    expect(files.lastIndexOf("cpu.cfs_period_us")).toBeGreaterThan(files.indexOf("cpu.cfs_quota_us"));
  });

  test("memory and swap are written in the order the kernel accepts", () => {
    // raising: swap first (memsw must stay >= limit)
    let f = fakeV1({ initial: { "memory.limit_in_bytes": String(10 << 20) } });
    let t = applyResources(f.layout, f.rec, { memory: { limit: 100 << 20, swap: 200 << 20 } });
    expect(brief(t.writes.filter((w) => w.ctrl === "memory"))).toEqual([`memory.memsw.limit_in_bytes=${200 << 20}`, `memory.limit_in_bytes=${100 << 20}`]);
    // lowering: limit first
    f = fakeV1({ initial: { "memory.limit_in_bytes": String(100 << 20) } });
    t = applyResources(f.layout, f.rec, { memory: { limit: 10 << 20, swap: 20 << 20 } }, { skipDevices: true });
    expect(brief(t.writes)).toEqual([`memory.limit_in_bytes=${10 << 20}`, `memory.memsw.limit_in_bytes=${20 << 20}`]);
    // unlimited memory without swap: unlimited swap too, swap first
    t = applyResources(f.layout, f.rec, { memory: { limit: -1 } }, { skipDevices: true });
    expect(brief(t.writes)).toEqual(["memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"]);
  });

  test("checkBeforeUpdate refuses a limit below the usage", () => {
    const f = fakeV1({ initial: { "memory.usage_in_bytes": String(50 << 20) } });
    expect(() => applyResources(f.layout, f.rec, { memory: { limit: 10 << 20, checkBeforeUpdate: true } })).toThrow(/memory\/limit: rejecting memory limit/);
    expect(() => applyResources(f.layout, f.rec, { memory: { limit: 100 << 20, checkBeforeUpdate: true } })).not.toThrow();
  });

  test("swappiness out of range is an error naming the field", () => {
    const f = fakeV1();
    expect(() => applyResources(f.layout, f.rec, { memory: { swappiness: 101 } })).toThrow("/linux/resources/memory/swappiness");
  });

  test("devices: deny all first, then the config's rules and runc's defaults", () => {
    const ws = deviceWritesV1([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 4, minor: 64, access: "rw" }]);
    expect(ws[0]).toEqual({ file: "devices.deny", value: "a", pointer: "/linux/resources/devices/0" });
    const allowed = ws.slice(1).map((w) => `${w.file} ${w.value}`);
    expect(allowed).toContain("devices.allow c 4:64 rw");
    expect(allowed).toContain("devices.allow c *:* m");
    expect(allowed).toContain("devices.allow c 1:3 rwm");
    expect(allowed).toContain("devices.allow c 136:* rwm");
    // linux.devices grant nothing: only the rules above decide (runc)
    expect(allowed).not.toContain("devices.allow c 1:11 rwm");
    expect(allowed.every((a) => a.startsWith("devices.allow"))).toBe(true);
    // without any rule: still deny by default (runc's emulator starts from deny)
    expect(deviceWritesV1([])[0]!.file).toBe("devices.deny");
    // an "allow all" rule: allow by default, later denies are exceptions
    const open = deviceWritesV1([{ allow: true, access: "rwm" }, { allow: false, type: "b", major: 8, minor: 0, access: "rwm" }]);
    expect(open[0]!.file).toBe("devices.allow");
    expect(open.slice(1).map((w) => `${w.file} ${w.value}`)).toEqual(["devices.deny b 8:0 rwm"]);
  });

  test("BFQ: blkio.bfq.weight when blkio.weight is missing", () => {
    const f = fakeV1({ omit: ["blkio.weight", "blkio.weight_device"] });
    writeFileSync(join(f.rec.paths.blkio!, "blkio.bfq.weight"), "");
    writeFileSync(join(f.rec.paths.blkio!, "blkio.bfq.weight_device"), "");
    applyResources(f.layout, f.rec, { blockIO: { weight: 300, weightDevice: [{ major: 8, minor: 0, weight: 10 }] } });
    expect(f.read("blkio", "blkio.bfq.weight")).toBe("300");
    expect(f.read("blkio", "blkio.bfq.weight_device")).toBe("8:0 10");
  });

  test("a missing controller or file is an error only when asked for", () => {
    const f = fakeV1({ omit: ["hugetlb", "memory.memsw.limit_in_bytes"] });
    expect(() => applyResources(f.layout, f.rec, { hugepageLimits: [{ pageSize: "2MB", limit: 1 }] })).toThrow("/linux/resources/hugepageLimits/0: this host has no hugetlb cgroup controller");
    expect(() => applyResources(f.layout, f.rec, { memory: { limit: 1 << 20, swap: 2 << 20 } })).toThrow("/linux/resources/memory/swap: the kernel has no memory.memsw.limit_in_bytes");
    // asked for nothing of them: fine; unlimited memory does not need swap accounting
    expect(() => applyResources(f.layout, f.rec, { memory: { limit: -1 }, pids: { limit: 5 } })).not.toThrow();
    const e = (() => {
      try {
        applyResources(f.layout, f.rec, { hugepageLimits: [{ pageSize: "2MB", limit: 1 }] });
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(ResourceError);
  });

  test("unified: v1-only host refuses, hybrid writes into the cgroup2 directory when the file exists", () => {
    const v1 = fakeV1();
    expect(() => applyResources(v1.layout, v1.rec, { unified: { "memory.high": "100" } })).toThrow("/linux/resources/unified/memory.high: unified resources need cgroup v2");
    const hy = fakeV1({ unified: ["cgroup.freeze", "memory.high"] });
    applyResources(hy.layout, hy.rec, { unified: { "memory.high": "100" } });
    expect(hy.read("unified", "memory.high")).toBe("100");
    expect(() => applyResources(hy.layout, hy.rec, { unified: { "io.max": "x" } })).toThrow("/linux/resources/unified/io.max: the kernel has no io.max file");
    expect(() => applyResources(hy.layout, hy.rec, { unified: { "../x.y": "1" } })).toThrow("invalid unified resource key");
  });

  test("pids: -1 is max, 0 leaves it alone", () => {
    const f = fakeV1();
    expect(brief(applyResources(f.layout, f.rec, { pids: { limit: -1 } }, { skipDevices: true }).writes)).toEqual(["pids.max=max"]);
    expect(applyResources(f.layout, f.rec, { pids: { limit: 0 } }).writes.filter((w) => w.ctrl === "pids")).toEqual([]);
  });
});

describe("cgroup v2 translation", () => {
  test("shares -> weight, quota/period -> cpu.max, swap -> swap.max, and the rest", () => {
    const { rec, layout, read } = fakeV2();
    applyResources(layout, rec, {
      memory: { limit: 64 << 20, swap: 96 << 20, reservation: 16 << 20 },
      cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, cpus: "0-1", mems: "0", idle: 1 },
      pids: { limit: 10 },
      blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 2097152 }],
      rdma: { mlx5_1: { hcaHandles: 3 } },
      devices: [{ allow: false, access: "rwm" }],
    });
    expect(read("memory.max")).toBe(String(64 << 20));
    expect(read("memory.swap.max")).toBe(String(32 << 20));
    expect(read("memory.low")).toBe(String(16 << 20));
    expect(read("cpu.weight")).toBe(String(sharesToWeight(1024)));
    expect(read("cpu.weight")).toBe("39");
    expect(read("cpu.max")).toBe("50000 100000");
    expect(read("cpu.max.burst")).toBe("1000");
    expect(read("cpu.idle")).toBe("1");
    expect(read("cpuset.cpus")).toBe("0-1");
    expect(read("pids.max")).toBe("10");
    expect(read("io.weight")).toBe(String(blkioToIoWeight(500)));
    expect(read("io.max")).toBe("8:0 rbps=1000");
    expect(read("hugetlb.2MB.max")).toBe("2097152");
    expect(read("rdma.max")).toBe("mlx5_1 hca_handle=3 hca_object=max");
  });

  test("the conversions match runc's", () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(512)).toBe(20);
    expect(blkioToIoWeight(10)).toBe(1);
    expect(blkioToIoWeight(1000)).toBe(10000);
    expect(swapToV2(-1, 100)).toBe(-1);
    expect(swapToV2(0, -1)).toBe(-1);
    expect(swapToV2(300, 100)).toBe(200);
    expect(() => swapToV2(50, 100)).toThrow("memory+swap limit should be >= memory limit");
    expect(() => swapToV2(50, 0)).toThrow("unable to set swap limit without memory limit");
  });

  test("quota only -> \"Q\"; period only -> \"max P\"; unlimited memory -> max", () => {
    const { rec, layout } = fakeV2();
    expect(brief(applyResources(layout, rec, { cpu: { quota: 20000 } }).writes)).toEqual(["cpu.max=20000"]);
    expect(brief(applyResources(layout, rec, { cpu: { period: 50000 } }).writes)).toEqual(["cpu.max=max 50000"]);
    expect(brief(applyResources(layout, rec, { memory: { limit: -1 } }).writes)).toEqual(["memory.swap.max=max", "memory.max=max"]);
    // swap == limit: no swap at all
    expect(brief(applyResources(layout, rec, { memory: { limit: 100, swap: 100 } }).writes)).toEqual(["memory.swap.max=0", "memory.max=100"]);
  });

  test("unified overrides and comes last; v1-only fields fail or warn", () => {
    const { rec, layout, read } = fakeV2();
    const t = applyResources(layout, rec, { cpu: { shares: 1024 }, unified: { "cpu.weight": "77", "memory.oom.group": "1" } });
    expect(brief(t.writes)).toEqual(["cpu.weight=77", "memory.oom.group=1"]);
    expect(read("cpu.weight")).toBe("77");
    expect(() => applyResources(layout, rec, { cpu: { realtimeRuntime: 1000 } })).toThrow("/linux/resources/cpu/realtimeRuntime: realtime scheduling is not supported on cgroup v2");
    expect(() => applyResources(layout, rec, { network: { classID: 1 } })).toThrow("/linux/resources/network/classID");
    expect(() => applyResources(layout, rec, { blockIO: { leafWeight: 10 } })).toThrow("/linux/resources/blockIO/leafWeight");
    const warnings: string[] = [];
    applyResources(layout, rec, { memory: { kernel: 1, kernelTCP: 1, swappiness: 60 } }, { warn: (w) => warnings.push(w) });
    expect(warnings.length).toBe(3);
    expect(() => applyResources(layout, rec, { unified: { "memory.nope": "1" } })).toThrow("/linux/resources/unified/memory.nope: the kernel has no memory.nope file (is its controller enabled?)");
  });

  test("devices: compiled to an eBPF program and attached to the cgroup (devices_bpf_test.ts runs it)", () => {
    const { rec, layout } = fakeV2();
    const attached: [string, string][] = [];
    const attachDeviceFilter = (dir: string, hex: string) => attached.push([dir, hex]);
    const rules = [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 4, minor: 64, access: "rw" }];
    expect(applyResources(layout, rec, { devices: rules }, { attachDeviceFilter }).writes).toEqual([]);
    expect(attached.length).toBe(1);
    expect(attached[0]![0]).toBe(rec.unified!);
    expect(attached[0]![1]).toMatch(/^([0-9a-f]{16})+$/);
    applyResources(layout, rec, { devices: rules }, { attachDeviceFilter, skipDevices: true });
    expect(attached.length).toBe(1);
    expect(() => applyResources(layout, rec, { devices: [{ allow: true, type: "c", major: 1, minor: 1, access: "rx" }] }, { attachDeviceFilter })).toThrow("/linux/resources/devices/0: unknown device access");
  });

  test("no swap accounting: unlimited or zero swap is skipped, a real swap limit fails", () => {
    const { rec, layout } = fakeV2({ omit: ["memory.swap.max"] });
    expect(brief(applyResources(layout, rec, { memory: { limit: -1 } }).writes)).toEqual(["memory.max=max"]);
    expect(() => applyResources(layout, rec, { memory: { limit: 100, swap: 200 } })).toThrow("/linux/resources/memory/swap: the kernel has no memory.swap.max file");
  });
});
