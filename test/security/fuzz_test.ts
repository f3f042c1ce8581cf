// Bounded fuzzing of config.json (fixed seed; SKIFF_FUZZ_SEED replays
// another). Mutations of the default config, the rootless one, a rich one
// (mounts, hooks, resources, devices, sysctl, ids) and one with a large
// seccomp profile go through:
//   1. planBundle in-process (what `skiff plan` runs), a few thousand:
//      spawning thousands of processes takes minutes on this 2-core
//      machine (about 0.2 s each under load);
//   2. the compiled `skiff plan`, a few hundred of the same cases, which
//      must agree with the in-process result;
//   3. real `skiff create` + `delete -f` as root, a few hundred.
// Every case succeeds or fails with exactly one line (no stack, no
// "internal error", no control bytes), and nothing is left behind: no
// state directory, mount, cgroup or process, no file in the canary
// directory that path tricks point at, the host's hostname unchanged.
//
// Create cases run hostile values, not hostile host access: hooks are
// dropped, bind sources stay in the bundle, shared propagation and
// namespace paths are removed and the five namespaces kept, and cgroup
// paths are put below a prefix of this test. What path tricks can reach
// lands in the canary directory.
import { afterAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, symlinkSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, posix } from "node:path";
import { defaultConfig } from "../../src/config/default_config";
import { SkiffError } from "../../src/errors";
import { planBundle } from "../../src/container/plan_bundle";
import { printPlan } from "../../src/plan/print";
import { compileExecPlan } from "../../src/plan/compile_exec";
import { execProcess } from "../../src/container/process_json";
import { detectLayout } from "../../src/cgroups/layout";
import { cleanupTempDirs, makeRootfs, removeDir, tempDir } from "../bundle";
import { SKIFF, leftovers, skiff } from "../integration/skiff";
import { needFile, needRoot, skipWhy } from "../skip";
import { defaultProfile } from "../seccomp/profile";
import { Rng, fuzzStrings, mutate, type Mutated } from "./fuzz_mutate";
import { oneLineProblem } from "./one_line";

const SEED = Number(process.env.SKIFF_FUZZ_SEED ?? 0x5eed5);
const IN_PROCESS = Number(process.env.SKIFF_FUZZ_PLANS ?? 3000);
const THROUGH_BINARY = 200; // every 15th in-process case
const CREATES = Number(process.env.SKIFF_FUZZ_CREATES ?? 250);

afterAll(() => cleanupTempDirs());

const canary = tempDir("skiff-fuzz-canary-");
const strings = fuzzStrings(canary);
// Podman's default profile as the engines hand it over
const seccompProfile = defaultProfile({ caps: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"] });

function base(): any {
  const s: any = defaultConfig({ rootless: false });
  s.process.terminal = false;
  s.process.args = ["/probe", "true"];
  return s;
}

const BASES: Record<string, () => any> = {
  default: base,
  rootless: () => {
    const s: any = defaultConfig({ rootless: true, uid: 1000, gid: 1000 });
    s.process.terminal = false;
    s.process.args = ["/probe", "true"];
    return s;
  },
  rich: () => {
    const s = base();
    s.process.user = { uid: 1000, gid: 1000, umask: 18, additionalGids: [5, 1001] };
    s.process.env.push("A=1", "B=");
    s.process.rlimits.push({ type: "RLIMIT_NPROC", hard: 512, soft: 256 });
    s.process.oomScoreAdj = 100;
    s.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 4 };
    s.hostname = "fuzz";
    s.domainname = "example";
    s.mounts.push(
      { destination: "/data", type: "bind", source: "src", options: ["rbind", "ro"] },
      { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["mode=755", "size=1m"] },
    );
    s.hooks = {
      prestart: [{ path: "/bin/true", args: ["true"], env: ["A=1"], timeout: 5 }],
      createRuntime: [{ path: "/bin/true" }],
      poststop: [{ path: "/bin/true", args: ["true", "x"] }],
    };
    s.annotations = { "org.example.key": "value" };
    s.linux.resources = {
      devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 10, minor: 229, access: "rw" }],
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0", mems: "0" },
      pids: { limit: 64 },
    };
    s.linux.sysctl = { "net.ipv4.ip_forward": "1", "kernel.msgmax": "8192" };
    s.linux.devices = [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }];
    s.linux.rootfsPropagation = "rslave";
    s.linux.personality = { domain: "LINUX" };
    s.linux.cgroupsPath = "/fuzz/rich";
    return s;
  },
  // the optional fields the other bases leave out
  extras: () => {
    const s = base();
    s.process.consoleSize = { height: 24, width: 80 };
    s.process.scheduler = { policy: "SCHED_OTHER", nice: 5 };
    s.process.execCPUAffinity = { initial: "0", final: "0" };
    s.process.user.username = "root";
    s.linux.namespaces.push({ type: "cgroup" }, { type: "time" });
    s.linux.timeOffsets = { monotonic: { secs: 1, nanosecs: 0 }, boottime: { secs: -1, nanosecs: 5 } };
    s.linux.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      flags: ["SECCOMP_FILTER_FLAG_LOG"],
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [
        { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, valueTwo: 0, op: "SCMP_CMP_EQ" }] },
      ],
    };
    s.linux.resources = {
      devices: [{ allow: false, access: "rwm" }],
      memory: { swappiness: 10, disableOOMKiller: false, useHierarchy: true, checkBeforeUpdate: true },
      cpu: { idle: 0, realtimeRuntime: 0, realtimePeriod: 1000000 },
    };
    s.linux.personality = { domain: "LINUX", flags: [] };
    s.linux.cgroupsPath = "fuzz-extras/x";
    s.mounts.push({
      destination: "/idm",
      type: "bind",
      source: "src",
      options: ["rbind", "idmap"],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    });
    s.hooks = { createContainer: [{ path: "/bin/true" }], startContainer: [{ path: "/bin/true" }], poststart: [{ path: "/bin/true" }] };
    return s;
  },
  seccomp: () => {
    const s = base();
    s.linux.seccomp = structuredClone(seccompProfile);
    return s;
  },
};
const BASE_NAMES = Object.keys(BASES);
const BASE_DOCS = Object.fromEntries(BASE_NAMES.map((n) => [n, BASES[n]!()]));

interface Case extends Mutated {
  index: number;
  base: string;
}

function* cases(seed: number, count: number, maxSteps = 3): Generator<Case> {
  const rng = new Rng(seed);
  for (let index = 0; index < count; index++) {
    const name = rng.pick(BASE_NAMES);
    yield { index, base: name, ...mutate(BASE_DOCS[name], rng, strings, maxSteps) };
  }
}

/** A bundle directory for plans: a rootfs with the symlinks the strings name, and the bind source. */
function planBundleDir(): string {
  const dir = tempDir("skiff-fuzz-plan-");
  const rootfs = join(dir, "rootfs");
  for (const d of ["proc", "sys", "dev", "etc"]) mkdirSync(join(rootfs, d), { recursive: true });
  writeFileSync(join(rootfs, "probe"), "");
  addLinks(rootfs);
  mkdirSync(join(dir, "src"));
  return dir;
}

function addLinks(rootfs: string): void {
  symlinkSync(canary, join(rootfs, "lnk-out"));
  symlinkSync(`../../../../../../../..${canary}`, join(rootfs, "lnk-up"));
}

/** In-process outcome: "ok", "refused: <line>", or a finding (anything the CLI would print as an internal error). */
function planInProcess(bundle: string): { ok: boolean; finding?: string } {
  try {
    printPlan(planBundle(bundle, { root: "/run/skiff-fuzz-never-made", id: "fuzz" }));
    return { ok: true };
  } catch (e) {
    if (e instanceof SkiffError) return { ok: false };
    const err = e as NodeJS.ErrnoException;
    if (typeof err?.code === "string" && /^E[A-Z]+$/.test(err.code)) return { ok: false };
    return { ok: false, finding: `${err?.stack ?? e}`.split("\n").slice(0, 4).join(" | ") };
  }
}

function report(c: Case, what: string): string {
  return `case ${c.index} (${c.base}: ${c.steps.join("; ")}): ${what}`;
}

describe("fuzz: mutated config.json through skiff plan", () => {
  // Guards the fuzz: a base that is refused as it is would make every case a refusal.
  test("every base config plans as it is", () => {
    const bundle = planBundleDir();
    for (const name of BASE_NAMES) {
      writeFileSync(join(bundle, "config.json"), JSON.stringify(BASE_DOCS[name]));
      let outcome = "planned";
      try {
        planBundle(bundle, { root: "/run/skiff-fuzz-never-made", id: "fuzz" });
      } catch (e) {
        outcome = (e as Error).message;
      }
      expect(`${name}: ${outcome}`).toBe(`${name}: planned`);
    }
  });

  test(
    `${IN_PROCESS} in-process, ${THROUGH_BINARY} of them through the binary too`,
    async () => {
      const bundle = planBundleDir();
      const findings: string[] = [];
      const binaryCases: { c: Case; ok: boolean }[] = [];
      let ok = 0;
      for (const c of cases(SEED, IN_PROCESS)) {
        writeFileSync(join(bundle, "config.json"), c.text);
        const r = planInProcess(bundle);
        if (r.finding) findings.push(report(c, r.finding));
        if (r.ok) ok++;
        if (c.index % Math.floor(IN_PROCESS / THROUGH_BINARY) === 0) binaryCases.push({ c, ok: r.ok });
      }
      // The binary: a few at a time, each in a bundle of its own.
      const slots = Array.from({ length: 3 }, () => planBundleDir());
      let binOk = 0;
      const queue = [...binaryCases];
      await Promise.all(
        slots.map(async (dir) => {
          for (let job = queue.shift(); job; job = queue.shift()) {
            writeFileSync(join(dir, "config.json"), job.c.text);
            const p = spawn([SKIFF, "--root", "/run/skiff-fuzz-never-made", "plan", dir], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
            const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
            if (code === 0) {
              binOk++;
              if (!stdout.includes("exec")) findings.push(report(job.c, "binary: exit 0 without a plan"));
            } else {
              const problem = oneLineProblem({ code, stderr });
              if (problem) findings.push(report(job.c, `binary: ${problem}: ${JSON.stringify(stderr.slice(0, 300))}`));
            }
            if ((code === 0) !== job.ok) findings.push(report(job.c, `binary exit ${code}, in-process ${job.ok ? "ok" : "refused"}`));
          }
        }),
      );
      console.log(
        `fuzz plan (seed ${SEED}): ${IN_PROCESS} in-process: ${ok} planned, ${IN_PROCESS - ok} refused; ` +
          `${binaryCases.length} through ${SKIFF}: ${binOk} planned, ${binaryCases.length - binOk} refused; ${findings.length} findings`,
      );
      expect(findings.slice(0, 15)).toEqual([]);
    },
    300_000,
  );
});

// What the fuzzer found, kept as fixed cases (each was a finding before its fix).
describe("fuzz findings, as regression cases", () => {
  const root = tempDir("skiff-fuzz-regress-");
  const plan = (doc: unknown) => {
    const bundle = planBundleDir();
    writeFileSync(join(bundle, "config.json"), typeof doc === "string" ? doc : JSON.stringify(doc));
    return skiff(["plan", bundle], { root });
  };
  test("an 8-bit CSI in a capability name was printed raw (JSON.stringify leaves C1 controls alone)", () => {
    const s = base();
    s.process.capabilities.effective[2] = "\u009b31m";
    const r = plan(s);
    expect(oneLineProblem(r)).toBeUndefined();
    expect(r.stderr).toContain('unknown capability "\\x9b31m"');
  });
  test("a NUL in broken JSON was printed raw by the parser's message", () => {
    const r = plan(JSON.stringify(base()).replace('"hostname"', '\0"hostname"'));
    expect(oneLineProblem(r)).toBeUndefined();
    expect(r.stderr).toContain("'\\x00'");
  });
  test.skipIf(skipWhy("blkio throttle on a character device", needRoot(), needFile("/sys/fs/cgroup/blkio", "no blkio cgroup")))(
    "a throttle on a character device failed as 'enodev'",
    () => {
      const bundle = fuzzBundle();
      const s = base();
      s.linux.resources = { devices: [{ allow: false, access: "rwm" }], blockIO: { throttleReadBpsDevice: [{ major: 1, minor: 3, rate: 1000 }] } };
      writeFileSync(join(bundle, "config.json"), JSON.stringify(s));
      const id = `fuzz-${process.pid}-throttle`;
      const r = skiff(["create", "-b", bundle, id], { root });
      expect(oneLineProblem(r)).toBeUndefined();
      expect(r.stderr).toContain("blkio.throttle.read_bps_device: no such device");
      expect(leftovers(root, id, bundle)).toEqual([]);
    },
  );
});

// ---- exec --process -----------------------------------------------------------

const EXEC_PLANS = Number(process.env.SKIFF_FUZZ_EXECS ?? 1000);

describe("fuzz: mutated exec --process files through the exec plan", () => {
  test(`${EXEC_PLANS} in-process`, () => {
    const dir = planBundleDir();
    const rootfs = join(dir, "rootfs");
    writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000::/home/tester:/bin/sh\n");
    writeFileSync(join(rootfs, "etc/group"), "root:x:0:\ntester:x:1000:tester\n");
    const file = join(dir, "process.json");
    const rng = new Rng(SEED ^ 0xe8ec);
    const findings: string[] = [];
    let ok = 0;
    for (let index = 0; index < EXEC_PLANS; index++) {
      const name = rng.pick(BASE_NAMES);
      const config = BASE_DOCS[name];
      const c: Case = { index, base: name, ...mutate(config.process, rng, strings, 2) };
      writeFileSync(file, c.text);
      try {
        const proc = execProcess(config, rootfs, { args: [], processFile: file, env: [], additionalGids: [], caps: [], user: rng.chance(0.2) ? rng.pick(["tester", "1000:1000", "0", "nobody", ":", strings[7]!]) : undefined });
        printPlan(compileExecPlan(proc, { id: "fuzz", join: { pid: "/proc/1/ns/pid", mnt: "/proc/1/ns/mnt" }, foreground: rng.chance(0.5), consoleSocket: proc.terminal ? "/run/fuzz.sock" : undefined }));
        ok++;
      } catch (e) {
        if (process.env.SKIFF_FUZZ_VERBOSE) console.log(`exec case ${index}: ${(e as Error).message?.slice(0, 150)}`);
        if (e instanceof SkiffError) continue;
        const err = e as NodeJS.ErrnoException;
        if (typeof err?.code === "string" && /^E[A-Z]+$/.test(err.code)) continue;
        findings.push(report(c, `${err?.stack ?? e}`.split("\n").slice(0, 4).join(" | ")));
      }
    }
    console.log(`fuzz exec (seed ${SEED}): ${EXEC_PLANS} process files: ${ok} planned, ${EXEC_PLANS - ok} refused; ${findings.length} findings`);
    expect(findings.slice(0, 15)).toEqual([]);
  }, 120_000);
});

// ---- create + delete -f ------------------------------------------------------

const NAMESPACES = ["pid", "network", "ipc", "uts", "mount"];
// the sources of the bases' own mounts; "/sys" is the rootless base's read-only bind
const PSEUDO_SOURCES = new Set(["proc", "tmpfs", "devpts", "shm", "mqueue", "sysfs", "cgroup", "/sys"]);
const isObj = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Keep a create case's reach inside the test's directories (see the top of the file). */
function confine(text: string, cgPrefix: string): string {
  let s: any;
  try {
    s = JSON.parse(text);
  } catch {
    return text; // not JSON: refused before anything happens
  }
  if (!isObj(s)) return text;
  delete s.hooks;
  if (isObj(s.root)) s.root.path = "rootfs";
  if (s.linux === undefined) s.linux = {};
  if (isObj(s.linux)) {
    const L = s.linux;
    if (!Array.isArray(L.namespaces)) L.namespaces = [];
    for (const n of L.namespaces) if (isObj(n)) delete n.path;
    for (const t of NAMESPACES) if (!L.namespaces.some((n: any) => isObj(n) && n.type === t)) L.namespaces.push({ type: t });
    if (typeof L.rootfsPropagation === "string" && L.rootfsPropagation.includes("shared")) delete L.rootfsPropagation;
    if (typeof L.cgroupsPath === "string") L.cgroupsPath = `${cgPrefix}/${L.cgroupsPath}`;
  }
  if (Array.isArray(s.mounts)) {
    for (const m of s.mounts) {
      if (!isObj(m)) continue;
      if (typeof m.source === "string" && !PSEUDO_SOURCES.has(m.source)) m.source = "src";
      if (Array.isArray(m.options)) m.options = m.options.filter((o: unknown) => typeof o !== "string" || !o.includes("shared"));
    }
  }
  return JSON.stringify(s);
}

/** A bundle for one create case: a minimal rootfs with the symlinks the strings name, and the bind source. */
function fuzzBundle(): string {
  const bundle = tempDir("skiff-fuzz-bundle-");
  chmodSync(bundle, 0o755); // the rootless base maps root to uid 1000, who must reach the rootfs
  addLinks(makeRootfs(join(bundle, "rootfs"), { busybox: false }));
  mkdirSync(join(bundle, "src"));
  return bundle;
}

/** The paths a config mounts, masks or makes nodes at, read as host paths. */
function hostTargets(text: string): Set<string> {
  const out = new Set<string>();
  let s: any;
  try {
    s = JSON.parse(text);
  } catch {
    return out;
  }
  const add = (p: unknown) => typeof p === "string" && out.add(posix.normalize(`/${p}`).replace(/(.)\/+$/, "$1"));
  for (const m of Array.isArray(s?.mounts) ? s.mounts : []) add(m?.destination);
  for (const k of ["maskedPaths", "readonlyPaths"]) for (const p of Array.isArray(s?.linux?.[k]) ? s.linux[k] : []) add(p);
  for (const d of Array.isArray(s?.linux?.devices) ? s.linux.devices : []) add(d?.path);
  return out;
}

function mountPoints(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ")[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** Directories left below the test's cgroup prefix, in every hierarchy. */
function cgroupsBelow(prefix: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    out.push(d);
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
  };
  for (const h of detectLayout().hierarchies) if (existsSync(join(h.mount, prefix))) walk(join(h.mount, prefix));
  return out;
}

function removeCgroupTree(prefix: string): void {
  for (const d of cgroupsBelow(prefix).reverse()) {
    try {
      rmdirSync(d);
    } catch {
      // reported as a leftover already
    }
  }
}

describe.skipIf(skipWhy("fuzz create + delete", needRoot()))("fuzz: mutated config.json through create and delete -f", () => {
  test("every base config (confined) creates and deletes as it is", () => {
    const root = tempDir("skiff-fuzz-root-");
    for (const name of BASE_NAMES) {
      const bundle = fuzzBundle();
      writeFileSync(join(bundle, "config.json"), confine(JSON.stringify(BASE_DOCS[name]), `/skiff-fuzz-${process.pid}/base`));
      const id = `fuzz-${process.pid}-${name}`;
      const r = skiff(["create", "-b", bundle, id], { root, timeoutMs: 30_000 });
      expect(`${name}: ${r.stderr}`).toBe(`${name}: `);
      expect(skiff(["delete", "-f", id], { root }).code).toBe(0);
      expect(leftovers(root, id, bundle)).toEqual([]);
      removeDir(bundle);
    }
    expect(cgroupsBelow(`/skiff-fuzz-${process.pid}`)).toEqual([]);
  });

  test(
    `${CREATES} create + delete -f as root`,
    () => {
      const root = tempDir("skiff-fuzz-root-");
      const cgPrefix = `/skiff-fuzz-${process.pid}`;
      const host = hostname();
      const mountsBefore = new Set(mountPoints());
      const findings: string[] = [];
      let created = 0;
      const rng = new Rng(SEED ^ 0xc4ea7e);
      // one mutation at a time: more of them get as far as skiff-init
      for (const c of cases(SEED ^ 0xc4ea7e, CREATES, Number(process.env.SKIFF_FUZZ_STEPS ?? 1))) {
        const id = `fuzz-${process.pid}-${c.index}`;
        const bundle = fuzzBundle();
        const rootfs = join(bundle, "rootfs");
        // now and then /proc, /sys or /dev is a symlink out of the rootfs
        if (rng.chance(0.1)) {
          const d = rng.pick(["proc", "sys", "dev"]);
          rmSync(join(rootfs, d), { recursive: true, force: true });
          symlinkSync(rng.chance(0.5) ? canary : "/", join(rootfs, d));
          c.steps.push(`rootfs/${d} is a symlink`);
        }
        const config = confine(c.text, `${cgPrefix}/${c.index}`);
        writeFileSync(join(bundle, "config.json"), config);
        const r = skiff(["create", "-b", bundle, id], { root, timeoutMs: 30_000 });
        if (r.code === 0) {
          created++;
          const d = skiff(["delete", "-f", id], { root, timeoutMs: 30_000 });
          if (d.code !== 0) findings.push(report(c, `delete -f failed: ${JSON.stringify(d.stderr.slice(0, 300))}`));
        } else {
          if (process.env.SKIFF_FUZZ_VERBOSE) console.log(`case ${c.index} (${c.base}: ${c.steps.join("; ")}): ${r.stderr.trim().slice(0, 200)}`);
          const problem = oneLineProblem(r);
          if (problem) findings.push(report(c, `create: ${problem}: ${JSON.stringify(r.stderr.slice(0, 300))}`));
        }
        const left = [...leftovers(root, id, bundle), ...cgroupsBelow(cgPrefix).map((d) => `cgroup ${d}`)];
        // A mount that leaked out of the container lands in the bundle, the
        // canary, or at a target's host path; other tests on this machine
        // mount elsewhere (a net namespace under /run/netns, say).
        const targets = hostTargets(config);
        for (const p of mountPoints()) {
          if (mountsBefore.has(p)) continue;
          if (p.startsWith(`${bundle}/`) || p === bundle || p.startsWith(canary) || targets.has(p)) left.push(`mount ${p}`);
        }
        const inCanary = readdirSync(canary);
        if (inCanary.length) left.push(`canary holds ${inCanary.join(", ")}`);
        if (hostname() !== host) left.push(`hostname is ${hostname()}`);
        if (left.length) findings.push(report(c, `left behind: ${left.join("; ")}`));
        // clean up whatever a failure left, so one finding does not cascade
        skiff(["delete", "-f", id], { root, timeoutMs: 30_000 });
        removeCgroupTree(cgPrefix);
        for (const f of inCanary) rmSync(join(canary, f), { recursive: true, force: true });
        removeDir(bundle);
      }
      console.log(`fuzz create (seed ${SEED}): ${CREATES} cases: ${created} created and deleted, ${CREATES - created} refused; ${findings.length} findings`);
      expect(findings.slice(0, 15)).toEqual([]);
    },
    400_000,
  );
});
