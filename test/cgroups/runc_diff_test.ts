// Differential: the same linux.resources under skiff and under Debian's runc
// must leave the same values in the cgroup files (this hybrid v1 host).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { forceDelete, skiff, uniqueId } from "../integration/skiff";
import { hostCgroupDir } from "./helpers";
import { needFile, needRoot, needRunc, RUNC, skipWhy } from "../skip";

const V1_MEMORY = "/sys/fs/cgroup/memory/memory.limit_in_bytes";
let plain = "";
afterAll(() => {
  if (plain) forceDelete(plainRoot, plain);
  cleanupTempDirs();
});

// One container with no resources, created once: its cgroup shows which
// optional files this kernel's hierarchies hold.
let plainRoot = "";
function plainCgroup(): string {
  if (!plain) {
    plainRoot = tempDir("skiff-cgdiff-plain-");
    plain = uniqueId("cgdiff-plain");
    const bundle = makeBundle({ args: ["/bin/sleep", "30"], mutate: (s) => (s.linux!.cgroupsPath = plain) });
    const r = skiff(["create", "-b", bundle, plain], { root: plainRoot });
    if (r.code !== 0) throw new Error(`create ${plain}: ${r.stderr}`);
  }
  return plain;
}

const FILES: [string, string][] = [
  ["memory", "memory.limit_in_bytes"],
  ["memory", "memory.memsw.limit_in_bytes"],
  ["memory", "memory.soft_limit_in_bytes"],
  ["memory", "memory.swappiness"],
  ["cpu", "cpu.shares"],
  ["cpu", "cpu.cfs_quota_us"],
  ["cpu", "cpu.cfs_period_us"],
  ["cpuset", "cpuset.cpus"],
  ["pids", "pids.max"],
  ["blkio", "blkio.weight"],
  ["blkio", "blkio.bfq.weight"],
  ["devices", "devices.list"],
];

function snapshot(cgroupsPath: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [mount, file] of FILES) {
    const path = join(hostCgroupDir(mount, cgroupsPath), file);
    if (!existsSync(path)) continue; // the kernel lacks it (e.g. blkio.weight without CFQ)
    let v = readFileSync(path, "utf8").trim();
    if (file === "devices.list") v = v.split("\n").sort().join("\n");
    out[file] = v;
  }
  return out;
}

interface Case {
  resources: Record<string, unknown>;
  /** The config asks for an optional kernel file: where the host lacks it, both runtimes must refuse, skiff naming this field. */
  optional?: { pointer: string; files: string[] };
  /** Why the case cannot run on this host (an optional file it depends on is missing), or null. */
  needs?: string | null;
}

const CASES: Record<string, Case> = {
  limits: {
    resources: {
      devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 4, minor: 64, access: "rw" }],
      memory: { limit: 64 << 20, reservation: 16 << 20, swap: 128 << 20, swappiness: 30 },
      cpu: { shares: 333, quota: 25000, period: 50000, cpus: "0" },
      pids: { limit: 42 },
    },
    // swap needs swap accounting (Debian's kernels have it by default)
    needs: needFile("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", "no swap accounting (swapaccount=0)"),
  },
  // blkio.weight needs CFQ, blkio.bfq.weight BFQ; a host with neither has no weight to set
  "blkio-weight": {
    resources: { devices: [{ allow: false, access: "rwm" }], blockIO: { weight: 250 } },
    optional: { pointer: "/linux/resources/blockIO/weight", files: ["blkio.weight", "blkio.bfq.weight"] },
  },
  unlimited: { resources: { devices: [{ allow: false, access: "rwm" }], memory: { limit: -1 }, cpu: { quota: -1 }, pids: { limit: -1 } } },
  defaults: { resources: { devices: [{ allow: false, access: "rwm" }] } },
};

describe.skipIf(skipWhy("cgroup files: skiff vs runc", needRoot(), needRunc(), needFile(V1_MEMORY, "no cgroup v1 memory hierarchy: not a v1 or hybrid host")))("cgroup files: skiff vs runc", () => {
  for (const [name, { resources, optional, needs }] of Object.entries(CASES)) {
    test.skipIf(skipWhy(name, needs ?? null))(name, () => {
      const tag = uniqueId(`cgdiff-${name}`);
      const bundle = makeBundle({ args: ["/bin/sleep", "30"], mutate: (s) => (s.linux!.resources = structuredClone(resources)) });
      const cfgPath = join(bundle, "config.json");
      const base = JSON.parse(readFileSync(cfgPath, "utf8"));
      const runcRoot = tempDir("skiff-cgdiff-runc-");
      const skiffRoot = tempDir("skiff-cgdiff-skiff-");
      const runcId = `${tag}-runc`;
      const skiffId = `${tag}-skiff`;
      try {
        writeFileSync(cfgPath, JSON.stringify({ ...base, linux: { ...base.linux, cgroupsPath: runcId } }));
        // files, not pipes: the created container keeps runc's stdio open
        const errFile = join(runcRoot, "stderr");
        const r = spawnSync([RUNC, "--root", runcRoot, "create", "-b", bundle, runcId], { stdout: "ignore", stderr: Bun.file(errFile), stdin: "ignore" });
        const runcErr = readFileSync(errFile, "utf8");
        const want = snapshot(runcId);
        writeFileSync(cfgPath, JSON.stringify({ ...base, linux: { ...base.linux, cgroupsPath: skiffId } }));
        const s = skiff(["create", "-b", bundle, skiffId], { root: skiffRoot });
        // Which files this kernel has, read from a cgroup it made (a failed create leaves none: use a plain one).
        const hasFile = optional ? optional.files.some((f) => existsSync(join(hostCgroupDir("blkio", plainCgroup()), f))) : true;
        console.log(`[${name}] runc exit ${r.exitCode}${runcErr ? `: ${runcErr.trim()}` : ""}; skiff exit ${s.code}${s.stderr ? `: ${s.stderr.trim()}` : ""}`);
        if (hasFile) {
          expect({ runc: r.exitCode, runcErr }).toEqual({ runc: 0, runcErr: "" });
          expect({ skiff: s.code, stderr: s.stderr }).toEqual({ skiff: 0, stderr: "" });
          const got = snapshot(skiffId);
          expect(Object.keys(want).length).toBeGreaterThan(5);
          expect(got).toEqual(want);
          if (optional) expect(optional.files.map((f) => got[f]).filter(Boolean)).toEqual(["250"]);
        } else {
          // The host lacks the file: runc refuses the config, and so does skiff, in one line naming the field.
          expect(r.exitCode).not.toBe(0);
          expect(s.code).toBe(1);
          expect(s.stderr.trim().split("\n")).toEqual([expect.stringContaining(`${optional!.pointer}: the kernel has no`)]);
          expect(existsSync(join(skiffRoot, skiffId))).toBe(false);
          expect(existsSync(hostCgroupDir("memory", skiffId))).toBe(false);
        }
      } finally {
        spawnSync([RUNC, "--root", runcRoot, "delete", "-f", runcId], { stdout: "ignore", stderr: "ignore" });
        forceDelete(skiffRoot, skiffId);
      }
    }, 30000);
  }

  const keysBut = (o: object, optional: string[]) => Object.keys(o).filter((k) => !optional.includes(k)).sort();

  test("events --stats: the same keys as runc's", () => {
    const bundle = makeBundle({ args: ["/bin/sleep", "30"], mutate: (s) => (s.linux!.resources = { devices: [{ allow: false, access: "rwm" }], memory: { limit: 64 << 20 }, pids: { limit: 20 } }) });
    const runcRoot = tempDir("skiff-cgdiff-runc-");
    const skiffRoot = tempDir("skiff-cgdiff-skiff-");
    const id = uniqueId("cgdiff-stats");
    try {
      expect(spawnSync([RUNC, "--root", runcRoot, "run", "-d", "-b", bundle, `${id}-r`], { stdout: "ignore", stderr: "ignore", stdin: "ignore" }).exitCode).toBe(0);
      const runcOut = JSON.parse(spawnSync([RUNC, "--root", runcRoot, "events", "--stats", `${id}-r`], { stdout: "pipe", stderr: "pipe" }).stdout.toString());
      expect(skiff(["run", "-d", "-b", bundle, `${id}-s`], { root: skiffRoot }).code).toBe(0);
      const ours = JSON.parse(skiff(["events", "--stats", `${id}-s`], { root: skiffRoot }).stdout);
      expect(Object.keys(ours).sort()).toEqual(Object.keys(runcOut).sort());
      for (const key of ["cpu", "memory", "pids", "blkio", "hugetlb"]) expect(ours.data[key]).toBeDefined();
      // "cache" is omitempty in runc's types/events.go and its value depends on which of the two
      // containers first touched a page of busybox, so its presence is compared only by what it may be.
      expect(keysBut(ours.data.memory, ["cache"])).toEqual(keysBut(runcOut.data.memory, ["cache"]));
      for (const m of [ours, runcOut]) if ("cache" in m.data.memory) expect(Number(m.data.memory.cache)).toBeGreaterThan(0);
      expect(Object.keys(ours.data.memory.usage).sort()).toEqual(Object.keys(runcOut.data.memory.usage).sort());
      expect(Object.keys(ours.data.cpu.usage).sort()).toEqual(Object.keys(runcOut.data.cpu.usage).sort());
      expect(ours.data.pids).toEqual(runcOut.data.pids);
      expect(ours.data.memory.usage.limit).toBe(runcOut.data.memory.usage.limit);
    } finally {
      spawnSync([RUNC, "--root", runcRoot, "delete", "-f", `${id}-r`], { stdout: "ignore", stderr: "ignore" });
      forceDelete(skiffRoot, `${id}-s`);
    }
  }, 30000);
});
