// linux.resources, update, pause/resume and events on this host's real
// cgroups (hybrid: v1 controllers plus an empty cgroup2 hierarchy), as root.
// cgroup v2 itself cannot be exercised here: see src/cgroups/translate_test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import type { Spec } from "../../src/config/types";
import { SKIFF, forceDelete, leftovers, skiff, uniqueId, waitFor } from "../integration/skiff";
import { hostCgroupDir, readCg } from "./helpers";
import { needFile, needRoot, skipWhy } from "../skip";

let root = "";
const made: { id: string; bundle: string }[] = [];

beforeAll(() => {
  root = tempDir("skiff-cg-root-");
});
afterEach(() => {
  for (const { id, bundle } of made.splice(0)) {
    forceDelete(root, id);
    expect(leftovers(root, id, bundle)).toEqual([]);
  }
});
afterAll(() => cleanupTempDirs());

function container(prefix: string, args: string[], resources: Record<string, unknown>, mutate?: (s: Spec) => void) {
  const id = uniqueId(prefix);
  const bundle = makeBundle({
    args,
    mutate: (s) => {
      s.linux!.resources = { devices: [{ allow: false, access: "rwm" }], ...resources };
      mutate?.(s);
    },
  });
  made.push({ id, bundle });
  return { id, bundle };
}

function ok(args: string[], stdin?: string): string {
  const r = skiff(args, { root, stdin });
  if (r.code !== 0) throw new Error(`skiff ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const status = (id: string) => JSON.parse(ok(["state", id])).status as string;

const V1_MEMORY = "/sys/fs/cgroup/memory/memory.limit_in_bytes";
// Optional memory files the limits below use (Debian's kernels have both by default).
const MEMSW = "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes";
const KMEM_TCP = "/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes";
describe.skipIf(skipWhy("resources on cgroup v1", needRoot(), needFile(V1_MEMORY, "no cgroup v1 memory hierarchy: not a v1 or hybrid host")))("resources on cgroup v1 (hybrid host)", () => {
  test.skipIf(skipWhy("limits", needFile(MEMSW, "no swap accounting (swapaccount=0)"), needFile(KMEM_TCP, "no kernel memory accounting (cgroup.memory=nokmem)")))("create writes the limits; update changes them and records them in state.json", () => {
    const c = container("cg-limits", ["/bin/sleep", "30"], {
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20, swappiness: 20, kernelTCP: 16 << 20 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0", mems: "0" },
      pids: { limit: 25 },
    });
    const r = skiff(["create", "-b", c.bundle, c.id], { root });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("kernelTCP: kernel TCP memory limits are deprecated");
    expect(readCg("memory", c.id, "memory.limit_in_bytes")).toBe(String(64 << 20));
    expect(readCg("memory", c.id, "memory.memsw.limit_in_bytes")).toBe(String(96 << 20));
    expect(readCg("memory", c.id, "memory.soft_limit_in_bytes")).toBe(String(32 << 20));
    expect(readCg("memory", c.id, "memory.swappiness")).toBe("20");
    expect(readCg("memory", c.id, "memory.kmem.tcp.limit_in_bytes")).toBe(String(16 << 20));
    expect(readCg("cpu", c.id, "cpu.shares")).toBe("512");
    expect(readCg("cpu", c.id, "cpu.cfs_quota_us")).toBe("50000");
    expect(readCg("cpu", c.id, "cpu.cfs_period_us")).toBe("100000");
    expect(readCg("cpuset", c.id, "cpuset.cpus")).toBe("0");
    expect(readCg("pids", c.id, "pids.max")).toBe("25");
    const devs = readCg("devices", c.id, "devices.list").split("\n");
    expect(devs).toContain("c 1:3 rwm");
    expect(devs).not.toContain("a *:* rwm");
    ok(["start", c.id]);

    // raise memory above the old swap (swap must go first), by flags with suffixes
    ok(["update", "--memory", "200m", "--memory-swap", "300M", "--cpu-share", "1024", "--cpu-quota", "-1", "--pids-limit", "40", c.id]);
    expect(readCg("memory", c.id, "memory.limit_in_bytes")).toBe(String(200 << 20));
    expect(readCg("memory", c.id, "memory.memsw.limit_in_bytes")).toBe(String(300 << 20));
    expect(readCg("cpu", c.id, "cpu.shares")).toBe("1024");
    expect(readCg("cpu", c.id, "cpu.cfs_quota_us")).toBe("-1");
    expect(readCg("pids", c.id, "pids.max")).toBe("40");
    // lower both again, from a resources file on stdin as Docker sends it
    ok(["update", "-r", "-", c.id], JSON.stringify({ memory: { limit: 50 << 20, swap: 60 << 20 }, cpu: { shares: 256, quota: 20000, period: 50000 }, pids: { limit: 15 } }));
    expect(readCg("memory", c.id, "memory.limit_in_bytes")).toBe(String(50 << 20));
    expect(readCg("memory", c.id, "memory.memsw.limit_in_bytes")).toBe(String(60 << 20));
    expect(readCg("cpu", c.id, "cpu.shares")).toBe("256");
    expect(readCg("cpu", c.id, "cpu.cfs_quota_us")).toBe("20000");
    expect(readCg("cpu", c.id, "cpu.cfs_period_us")).toBe("50000");
    const saved = JSON.parse(readFileSync(join(root, c.id, "state.json"), "utf8")).config.linux.resources;
    expect(saved.memory).toEqual({ limit: 50 << 20, reservation: 32 << 20, swap: 60 << 20, swappiness: 20, kernelTCP: 16 << 20 });
    expect(saved.cpu).toEqual({ shares: 256, quota: 20000, period: 50000, cpus: "0", mems: "0" });
    expect(saved.pids).toEqual({ limit: 15 });
    // a bad update names its field and changes nothing
    const bad = skiff(["update", "--memory", "lots", c.id], { root });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("invalid value for --memory");
    const below = skiff(["update", "-r", "-", c.id], { root, stdin: JSON.stringify({ memory: { limit: 4096, checkBeforeUpdate: true } }) });
    expect(below.code).toBe(1);
    expect(below.stderr).toContain("/linux/resources/memory/limit: rejecting memory limit 4096 below usage");
  });

  // blkio.weight exists with CFQ, blkio.bfq.weight with BFQ, neither when
  // the block devices use another scheduler: then the config cannot be
  // honoured, and create must fail naming the field (runc fails too; see
  // runc_diff_test.ts). Which case holds is read from a real container's
  // cgroup, not guessed.
  test("blockIO weight is written where the kernel has the file, else create fails naming the field", () => {
    const plain = container("cg-blkio-plain", ["/bin/sleep", "30"], {});
    ok(["create", "-b", plain.bundle, plain.id]);
    const weightFile = ["blkio.weight", "blkio.bfq.weight"].find((f) => existsSync(join(hostCgroupDir("blkio", plain.id), f)));
    console.log(`blkio weight file here: ${weightFile ?? "none (no CFQ or BFQ scheduler)"}`);
    const c = container("cg-blkio", ["/bin/sleep", "30"], { blockIO: { weight: 300 } });
    const r = skiff(["create", "-b", c.bundle, c.id], { root });
    if (weightFile) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(readCg("blkio", c.id, weightFile)).toBe("300");
      ok(["update", "--blkio-weight", "500", c.id]);
      expect(readCg("blkio", c.id, weightFile)).toBe("500");
      expect(JSON.parse(readFileSync(join(root, c.id, "state.json"), "utf8")).config.linux.resources.blockIO).toEqual({ weight: 500 });
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining("/linux/resources/blockIO/weight: the kernel has no blkio.weight file")]);
      expect(leftovers(root, c.id, c.bundle)).toEqual([]);
      // and update of a running container refuses it the same way, changing nothing
      const u = skiff(["update", "--blkio-weight", "500", plain.id], { root });
      expect(u.code).toBe(1);
      expect(u.stderr).toContain("/linux/resources/blockIO/weight: the kernel has no blkio.weight file");
      expect(JSON.parse(readFileSync(join(root, plain.id, "state.json"), "utf8")).config.linux.resources.blockIO).toBeUndefined();
    }
  });

  test("pause freezes the cgroup and state says paused; resume thaws it", () => {
    const c = container("cg-pause", ["/bin/sleep", "30"], {});
    ok(["run", "-d", "-b", c.bundle, c.id]);
    expect(status(c.id)).toBe("running");
    ok(["pause", c.id]);
    expect(readCg("freezer", c.id, "freezer.state")).toBe("FROZEN");
    expect(status(c.id)).toBe("paused");
    expect(skiff(["pause", c.id], { root }).stderr).toContain("not running");
    ok(["resume", c.id]);
    expect(readCg("freezer", c.id, "freezer.state")).toBe("THAWED");
    expect(status(c.id)).toBe("running");
    expect(skiff(["resume", c.id], { root }).stderr).toContain("container not paused");
    // a paused container can be deleted by force
    ok(["pause", c.id]);
    ok(["delete", "-f", c.id]);
  });

  test("events --stats prints one stats object in runc's shape", () => {
    const c = container("cg-stats", ["/bin/sh", "-c", "sleep 30 & sleep 30"], { memory: { limit: 64 << 20 }, pids: { limit: 50 } });
    ok(["run", "-d", "-b", c.bundle, c.id]);
    // sh forks the background sleep and execs the last: 2 processes once it
    // has done both (right after run -d it may not have yet)
    expect(waitFor(() => readCg("pids", c.id, "pids.current") === "2", 10000)).toBe(true);
    const out = ok(["events", "--stats", c.id]);
    expect(out.trim().split("\n").length).toBe(1);
    const ev = JSON.parse(out);
    expect(ev.type).toBe("stats");
    expect(ev.id).toBe(c.id);
    const d = ev.data;
    expect(Object.keys(d)).toEqual(expect.arrayContaining(["cpu", "memory", "pids", "blkio", "hugetlb"]));
    expect(typeof d.cpu.usage.total).toBe("number");
    expect(d.cpu.usage.percpu.length).toBeGreaterThan(0);
    expect(d.cpu.throttling).toBeDefined();
    expect(d.memory.usage.limit).toBe(64 << 20);
    expect(d.memory.usage.usage).toBeGreaterThan(0);
    expect(d.memory.swap).toBeDefined();
    expect(d.memory.kernel).toBeDefined();
    expect(typeof d.memory.raw.rss).toBe("number");
    expect(d.pids).toEqual({ current: 2, limit: 50 });
  });

  test("events --interval streams stats until the container stops", async () => {
    const c = container("cg-stream", ["/bin/sleep", "30"], {});
    ok(["run", "-d", "-b", c.bundle, c.id]);
    const proc = Bun.spawn([SKIFF, "--root", root, "events", "--interval", "100ms", c.id], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill(9), 15000);
    try {
      // three lines while it runs, then the container is stopped: events must end by itself
      const reader = proc.stdout.getReader();
      let text = "";
      while (text.split("\n").length <= 3) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
      ok(["kill", c.id, "KILL"]);
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
      expect(await proc.exited).toBe(0);
      const events = text.trim().split("\n").map((l) => JSON.parse(l));
      expect(events.length).toBeGreaterThanOrEqual(3);
      expect(events.every((e) => e.type === "stats" && e.id === c.id)).toBe(true);
    } finally {
      clearTimeout(timer);
    }
  }, 20000);

  test.skipIf(skipWhy("OOM", needFile(MEMSW, "no swap accounting (swapaccount=0): swap could not be capped")))("a container that allocates past its memory limit is OOM-killed and events reports it", async () => {
    const limit = 32 << 20;
    // swap == limit: no swap to escape to; dd's 64 MiB buffer cannot fit
    const c = container("cg-oom", ["/bin/sh", "-c", "sleep 2; dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 30"], { memory: { limit, swap: limit } });
    ok(["create", "-b", c.bundle, c.id]);
    const proc = Bun.spawn([SKIFF, "--root", root, "events", "--interval", "30s", c.id], { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = proc.stdout.getReader();
      let text = "";
      const deadline = Date.now() + 20000;
      let pending = reader.read();
      // events prints a first stats line once its OOM watch is registered: start after it
      const first = await pending;
      expect(first.done).toBe(false);
      text += new TextDecoder().decode(first.value);
      pending = reader.read();
      ok(["start", c.id]);
      while (!text.includes('"type":"oom"') && Date.now() < deadline) {
        const chunk = await Promise.race([pending, Bun.sleep(500).then(() => undefined)]);
        if (!chunk) continue;
        if (chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
        pending = reader.read();
      }
      const oom = text.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === "oom");
      expect(oom).toEqual({ type: "oom", id: c.id });
      expect(readCg("memory", c.id, "memory.oom_control")).toMatch(/oom_kill [1-9]/);
      // init (sh) lives on: only dd was killed
      expect(status(c.id)).toBe("running");
    } finally {
      proc.kill(9);
      await proc.exited;
    }
  }, 40000);

  test("a pids limit stops a fork loop; delete ends everything", () => {
    // busybox sh exits when a fork fails: the loop runs in a child shell, and
    // init then blocks on a fifo without forking.
    const loop = "i=0; while [ $i -lt 50 ]; do sleep 30 & i=$((i+1)); done";
    const c = container("cg-pids", ["/bin/sh", "-c", `mkfifo /dev/shm/f; sh -c '${loop}' 2>/dev/null; read x < /dev/shm/f`], { pids: { limit: 10 } });
    ok(["run", "-d", "-b", c.bundle, c.id]);
    // the loop is done once fork failures are counted and pids stay at the limit
    expect(waitFor(() => /^max [1-9]/m.test(readCg("pids", c.id, "pids.events")), 10000)).toBe(true);
    expect(Number(readCg("pids", c.id, "pids.current"))).toBeLessThanOrEqual(10);
    expect(Number(readCg("pids", c.id, "pids.current"))).toBeGreaterThanOrEqual(5);
    const pids = readCg("pids", c.id, "cgroup.procs").split("\n").map(Number);
    const sleeps = pids.filter((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").startsWith("sleep"));
    expect(sleeps.length).toBeGreaterThan(0);
    expect(sleeps.length).toBeLessThan(10);
    ok(["kill", "--all", c.id, "KILL"]);
    expect(waitFor(() => pids.every((p) => !existsSync(`/proc/${p}/stat`) || /\) Z/.test(readFileSync(`/proc/${p}/stat`, "utf8"))), 5000)).toBe(true);
    ok(["delete", "-f", c.id]);
    expect(existsSync(hostCgroupDir("pids", c.id))).toBe(false);
  });

  // Optional v1 controllers a kernel may lack; each one this host lacks is
  // asked for and must fail create with its field named.
  const OPTIONAL: { ctrl: string; resources: Record<string, unknown>; error: RegExp }[] = [
    { ctrl: "hugetlb", resources: { hugepageLimits: [{ pageSize: "2MB", limit: 2097152 }] }, error: /\/linux\/resources\/hugepageLimits\/0: this host has no hugetlb cgroup controller/ },
    { ctrl: "net_cls", resources: { network: { classID: 1 } }, error: /\/linux\/resources\/network\/classID: this host has no net_cls cgroup controller/ },
  ];
  const missing = OPTIONAL.filter((o) => !existsSync(`/sys/fs/cgroup/${o.ctrl}`));
  test.skipIf(skipWhy("what the kernel lacks", missing.length ? null : `this host has every optional controller tried (${OPTIONAL.map((o) => o.ctrl).join(", ")})`))(
    "what the kernel lacks fails create, naming the field, and leaves nothing",
    () => {
      for (const o of missing) {
        const c = container(`cg-missing-${o.ctrl.replace("_", "")}`, ["/bin/sleep", "30"], o.resources);
        const r = skiff(["create", "-b", c.bundle, c.id], { root });
        expect({ ctrl: o.ctrl, code: r.code }).toEqual({ ctrl: o.ctrl, code: 1 });
        expect(r.stderr).toMatch(o.error);
        expect(leftovers(root, c.id, c.bundle)).toEqual([]);
      }
    },
  );

  test("unified keys go to the cgroup2 hierarchy when the file exists there, else fail", () => {
    const c = container("cg-unified", ["/bin/sleep", "30"], { unified: { "cgroup.max.descendants": "3" } });
    ok(["create", "-b", c.bundle, c.id]);
    expect(readCg("unified", c.id, "cgroup.max.descendants")).toBe("3");
    const d = container("cg-unified-bad", ["/bin/sleep", "30"], { unified: { "memory.high": "1000000" } });
    const r = skiff(["create", "-b", d.bundle, d.id], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/linux/resources/unified/memory.high: the kernel has no memory.high file");
  });
});
