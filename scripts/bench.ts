// Benchmark (not a test): skiff against runc, side by side, on one bundle.
//
//   node_modules/.bin/bun scripts/bench.ts [--runs N] [--skiff PATH] [--runc PATH]
//
// Run as root after `bash scripts/build.sh`. Both runtimes get the same
// bundle (busybox rootfs, the config `runc spec` writes, process /bin/true,
// terminal false) and each its own --root in a temp dir. Measured, N times
// each after 3 discarded warm-up runs, alternating skiff and runc run by run:
//   1. `run ID` of /bin/true (create, start, wait, delete in one command);
//   2. `create ID`, `start ID`, `delete ID`, timed separately; between start
//      and delete the script polls `state ID` (untimed) until "stopped", so
//      delete is a plain delete of a stopped container under both runtimes;
//   3. `state ID` of a created container;
//   4. `exec ID /bin/true` in a running container (a second bundle whose
//      process sleeps), one container per runtime for all runs;
//   5. peak RSS of `run` and `create` via /usr/bin/time -f %M, and the
//      container's init process (skiff-init / `runc init`) VmHWM right after
//      `create`, from /proc/PID/status;
//   and, in-process, skiff's loadSpec of the bundle's config.json.
// Wall time is performance.now() around Bun.spawnSync of the one command.
// The skiff binaries are copied into the temp dir first, so a rebuild of
// build/ by someone else during the run cannot change what is measured.
// Every container is deleted (delete -f by id) and the temp dir removed at
// the end, also on error or SIGINT/SIGTERM.

import { spawnSync } from "bun";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmdirSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { makeBundle, removeDir, REPO_ROOT } from "../test/bundle";
import { loadSpec } from "../src/config/load";

const WARMUP = 3;
/** Container ids, and so cgroup names, start with this: unique to this process. */
const ID_PREFIX = `skiffbench-${process.pid}-`;
const TIME = "/usr/bin/time";

interface Options {
  runs: number;
  skiff: string;
  runc: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 30, skiff: join(REPO_ROOT, "build/skiff"), runc: "/usr/sbin/runc" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a}: missing value`);
      return v;
    };
    if (a === "--runs" || a.startsWith("--runs=")) o.runs = Number(value());
    else if (a === "--skiff" || a.startsWith("--skiff=")) o.skiff = resolve(value());
    else if (a === "--runc" || a.startsWith("--runc=")) o.runc = resolve(value());
    else if (a === "-h" || a === "--help") {
      console.log("usage: bun scripts/bench.ts [--runs N] [--skiff PATH] [--runc PATH]");
      process.exit(0);
    } else throw new Error(`unknown argument: ${a}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error(`--runs: want a positive integer, got ${o.runs}`);
  return o;
}

// ---------------------------------------------------------------- runtimes

interface Runtime {
  name: "skiff" | "runc";
  bin: string;
  root: string;
  /** Ids that may exist under root: deleted with -f at the end. */
  ids: Set<string>;
}

let bundle = "";
/** The bundle of the long-running container that `exec` enters. */
let sleepBundle = "";
let workDir = "";
let interrupted = false;

interface Result {
  ms: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bin --root root ...args` in the bundle dir; throws unless it exits 0.
 * Output goes to files, not pipes: after `create` the container's init
 * process holds the runtime's stdio open, so a pipe would never see EOF.
 */
function exec(rt: Runtime, args: string[], wrap: string[] = []): Result {
  const argv = [...wrap, rt.bin, "--root", rt.root, ...args];
  const outPath = join(workDir, "stdout");
  const errPath = join(workDir, "stderr");
  const out = openSync(outPath, "w");
  const err = openSync(errPath, "w");
  let ms: number;
  let r;
  try {
    const t0 = performance.now();
    r = spawnSync(argv, { cwd: bundle, stdio: ["ignore", out, err], timeout: 30_000 });
    ms = performance.now() - t0;
  } finally {
    closeSync(out);
    closeSync(err);
  }
  const res = { ms, stdout: readFileSync(outPath, "utf8"), stderr: readFileSync(errPath, "utf8") };
  if (r.exitCode !== 0) {
    throw new Error(`${argv.join(" ")}: exit ${r.exitCode ?? "signal " + r.signalCode}: ${res.stderr.trim()}`);
  }
  return res;
}

/** Like exec, for cleanup: never throws; returns the error text, "" on success. */
function tryExec(rt: Runtime, args: string[]): string {
  try {
    exec(rt, args);
    return "";
  } catch (e) {
    return (e as Error).message || "failed";
  }
}

function status(rt: Runtime, id: string): { status: string; pid: number } {
  const s = JSON.parse(exec(rt, ["state", id]).stdout) as { status: string; pid: number };
  return s;
}

/** Polls `state` (untimed) until the container has stopped. */
function waitStopped(rt: Runtime, id: string): void {
  const deadline = performance.now() + 10_000;
  for (;;) {
    if (status(rt, id).status === "stopped") return;
    if (performance.now() > deadline) throw new Error(`${rt.name}: ${id} did not stop within 10 s`);
    Bun.sleepSync(1);
  }
}

// ---------------------------------------------------------------- stats

function quantiles(xs: number[]): { median: number; p90: number } {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  const p90 = s[Math.max(0, Math.ceil(0.9 * n) - 1)]!; // nearest rank
  return { median, p90 };
}

interface Row {
  op: string;
  unit: "ms" | "KiB";
  skiff: number[];
  runc: number[];
}

function table(rows: Row[]): string {
  const fmt = (v: number, unit: string) => (unit === "ms" ? v.toFixed(2) : String(Math.round(v)));
  const header = ["operation", "unit", "skiff median", "skiff p90", "runc median", "runc p90", "skiff/runc"];
  const body = rows.map((r) => {
    const s = quantiles(r.skiff);
    const c = quantiles(r.runc);
    return [r.op, r.unit, fmt(s.median, r.unit), fmt(s.p90, r.unit), fmt(c.median, r.unit), fmt(c.p90, r.unit), (s.median / c.median).toFixed(2)];
  });
  const lines = [header, header.map((h) => "-".repeat(h.length)), ...body];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines
    .map((l, li) =>
      "| " +
      l.map((c, i) => (li === 1 ? "-".repeat(widths[i]!) : i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ") +
      " |",
    )
    .join("\n");
}

// ---------------------------------------------------------------- phases

/**
 * Calls body(rt, i) for i in [0, WARMUP + runs), alternating runtimes
 * (the first runtime swaps every iteration: s r, r s, s r, ...), and
 * keeps what body returns for i >= WARMUP.
 */
async function alternate(
  rts: [Runtime, Runtime],
  runs: number,
  body: (rt: Runtime, i: number) => Record<string, number>,
): Promise<Map<string, Record<string, number[]>>> {
  const out = new Map<string, Record<string, number[]>>();
  for (let i = 0; i < WARMUP + runs; i++) {
    const order = i % 2 === 0 ? rts : ([rts[1], rts[0]] as const);
    for (const rt of order) {
      const got = body(rt, i);
      if (i < WARMUP) continue;
      for (const [k, v] of Object.entries(got)) {
        const m = out.get(k) ?? {};
        (m[rt.name] ??= []).push(v);
        out.set(k, m);
      }
    }
    // Untimed: lets a SIGINT/SIGTERM handler run between iterations.
    await Bun.sleep(0);
    if (interrupted) throw new Error("interrupted");
  }
  return out;
}

function rowsFrom(m: Map<string, Record<string, number[]>>, unit: Row["unit"], names: Record<string, string>): Row[] {
  return Object.entries(names).map(([k, op]) => ({ op, unit, skiff: m.get(k)?.skiff ?? [], runc: m.get(k)?.runc ?? [] }));
}

let seq = 0;
function newId(rt: Runtime, what: string): string {
  const id = `${ID_PREFIX}${rt.name}-${what}-${seq++}`;
  rt.ids.add(id);
  return id;
}

function deleted(rt: Runtime, id: string): void {
  rt.ids.delete(id);
}

function vmHWM(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Peak RSS in KiB of the command: /usr/bin/time %M, else Bun's rusage. */
function peakRss(rt: Runtime, args: string[]): number {
  if (haveTime) {
    const r = exec(rt, args, [TIME, "-f", "BENCH-MAXRSS %M"]);
    const m = /BENCH-MAXRSS (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`no %M in output of ${TIME}: ${r.stderr}`);
    return Number(m[1]);
  }
  // Fallback, overstated: Bun spawns by vfork, and exec records the parent's
  // RSS high-water mark into the child's maxrss (fs/exec.c).
  const out = openSync("/dev/null", "w");
  try {
    const argv = [rt.bin, "--root", rt.root, ...args];
    const r = spawnSync(argv, { cwd: bundle, stdio: ["ignore", out, out] });
    if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}`);
    return Math.round((r.resourceUsage?.maxRSS ?? NaN) / 1024);
  } finally {
    closeSync(out);
  }
}

const haveTime = existsSync(TIME);

// ---------------------------------------------------------------- main

function firstLine(argv: string[]): string {
  const r = spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return (r.stdout.toString() || r.stderr.toString()).split("\n")[0]!.trim();
}

function machine(opts: Options, skiffBin: string): string {
  const nproc = firstLine(["nproc"]);
  const kernel = firstLine(["uname", "-r"]);
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "?";
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  return [
    `nproc ${nproc}, kernel ${kernel}, cpu ${cpu}, loadavg at start ${load}`,
    `runc: ${firstLine([opts.runc, "--version"])} (${opts.runc})`,
    `skiff: ${firstLine([skiffBin, "--version"])} (copy of ${opts.skiff})`,
    `bun ${Bun.version}; ${opts.runs} runs per runtime and operation after ${WARMUP} warm-up runs; peak RSS via ${
      haveTime ? "/usr/bin/time -f %M" : "Bun rusage maxRSS (overstated: see docs/benchmarks.md)"
    }`,
  ].join("\n");
}

/** Cgroup directories named after our ids that delete left behind; removes them (they are empty). */
function leftoverCgroups(prefix: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name.startsWith(prefix)) found.push(p);
      else if (depth < 5) walk(p, depth + 1);
    }
  };
  walk("/sys/fs/cgroup", 0);
  for (const p of found.sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(p);
    } catch {
      // reported below
    }
  }
  return found;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error("run as root");
  for (const bin of [opts.skiff, join(opts.skiff, "../skiff-init"), opts.runc]) {
    if (!existsSync(bin)) throw new Error(`${bin} not found (build with: bash scripts/build.sh)`);
  }
  const onSignal = () => {
    interrupted = true;
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const work = mkdtempSync(join(tmpdir(), "skiff-bench-"));
  workDir = work;
  const rts: Runtime[] = [];
  let failed: unknown;
  try {
    // A private copy of skiff and skiff-init (found next to skiff's executable).
    mkdirSync(join(work, "bin"));
    const skiffBin = join(work, "bin/skiff");
    copyFileSync(opts.skiff, skiffBin);
    copyFileSync(join(opts.skiff, "../skiff-init"), join(work, "bin/skiff-init"));
    chmodSync(skiffBin, 0o755);
    chmodSync(join(work, "bin/skiff-init"), 0o755);

    bundle = makeBundle({ dir: join(work, "bundle"), args: ["/bin/true"] });
    sleepBundle = makeBundle({ dir: join(work, "sleep-bundle"), args: ["/bin/sleep", "1000000"] });
    const skiff: Runtime = { name: "skiff", bin: skiffBin, root: join(work, "root-skiff"), ids: new Set() };
    const runc: Runtime = { name: "runc", bin: opts.runc, root: join(work, "root-runc"), ids: new Set() };
    rts.push(skiff, runc);
    const pair: [Runtime, Runtime] = [skiff, runc];
    const header = machine(opts, skiffBin);
    const rows: Row[] = [];

    // In-process, no container: what `state`, `start` and `kill` pay to read
    // config.json (src/config/load_test.ts checks it imports nothing heavy).
    const loadMs: number[] = [];
    for (let i = 0; i < WARMUP + 200; i++) {
      const t0 = performance.now();
      loadSpec(bundle);
      if (i >= WARMUP) loadMs.push(performance.now() - t0);
    }
    const load = quantiles(loadMs);

    console.error("1/5 run");
    const run = await alternate(pair, opts.runs, (rt) => {
      const id = newId(rt, "run");
      const r = exec(rt, ["run", id]);
      deleted(rt, id); // run deletes what it made
      return { run: r.ms };
    });
    rows.push(...rowsFrom(run, "ms", { run: "run /bin/true" }));

    console.error("2/5 create / start / delete");
    const csd = await alternate(pair, opts.runs, (rt) => {
      const id = newId(rt, "csd");
      const c = exec(rt, ["create", id]).ms;
      const s = exec(rt, ["start", id]).ms;
      waitStopped(rt, id);
      const d = exec(rt, ["delete", id]).ms;
      deleted(rt, id);
      return { create: c, start: s, delete: d, total: c + s + d };
    });
    rows.push(
      ...rowsFrom(csd, "ms", {
        create: "create",
        start: "start",
        delete: "delete (stopped)",
        total: "create+start+delete",
      }),
    );

    console.error("3/5 state");
    const held = new Map<string, string>();
    for (const rt of pair) {
      const id = newId(rt, "state");
      exec(rt, ["create", id]);
      held.set(rt.name, id);
    }
    const st = await alternate(pair, opts.runs, (rt) => {
      const r = exec(rt, ["state", held.get(rt.name)!]);
      const s = JSON.parse(r.stdout) as { status: string };
      if (s.status !== "created") throw new Error(`${rt.name}: state says ${s.status}, want created`);
      return { state: r.ms };
    });
    for (const rt of pair) {
      exec(rt, ["delete", "-f", held.get(rt.name)!]);
      deleted(rt, held.get(rt.name)!);
    }
    rows.push(...rowsFrom(st, "ms", { state: "state (created)" }));

    console.error("4/5 exec");
    const sleeping = new Map<string, string>();
    for (const rt of pair) {
      const id = newId(rt, "exec");
      exec(rt, ["create", "--bundle", sleepBundle, id]);
      exec(rt, ["start", id]);
      sleeping.set(rt.name, id);
    }
    const ex = await alternate(pair, opts.runs, (rt) => ({ exec: exec(rt, ["exec", sleeping.get(rt.name)!, "/bin/true"]).ms }));
    for (const rt of pair) {
      exec(rt, ["delete", "-f", sleeping.get(rt.name)!]);
      deleted(rt, sleeping.get(rt.name)!);
    }
    rows.push(...rowsFrom(ex, "ms", { exec: "exec /bin/true (running)" }));

    console.error("5/5 peak RSS");
    const mem = await alternate(pair, opts.runs, (rt) => {
      const rid = newId(rt, "rss");
      const runKb = peakRss(rt, ["run", rid]);
      deleted(rt, rid);
      const cid = newId(rt, "rss");
      const createKb = peakRss(rt, ["create", cid]);
      const helperKb = vmHWM(status(rt, cid).pid);
      exec(rt, ["delete", "-f", cid]);
      deleted(rt, cid);
      return { run: runKb, create: createKb, helper: helperKb, sum: createKb + helperKb };
    });
    rows.push(
      ...rowsFrom(mem, "KiB", {
        run: "peak RSS: run",
        create: "peak RSS: create",
        helper: "RSS: init process after create",
        sum: "create + init process",
      }),
    );

    console.log(header);
    console.log("");
    console.log(table(rows));
    console.log("");
    console.log(`loadSpec(config.json) in-process, 200 calls: median ${load.median.toFixed(3)} ms, p90 ${load.p90.toFixed(3)} ms`);
  } catch (e) {
    failed = e;
  } finally {
    const problems: string[] = [];
    for (const rt of rts) {
      for (const id of rt.ids) {
        const err = tryExec(rt, ["delete", "-f", id]);
        if (err && !/not exist|not found|no such/i.test(err)) problems.push(`${rt.name} delete -f ${id}: ${err}`);
      }
      // Anything else still under this root (should be nothing).
      for (const id of existsSync(rt.root) ? readdirSync(rt.root) : []) {
        if (!id.startsWith(ID_PREFIX)) continue;
        const err = tryExec(rt, ["delete", "-f", id]);
        problems.push(`${rt.name}: ${id} was still under --root${err ? `; delete -f: ${err}` : " (deleted)"}`);
      }
    }
    const cg = leftoverCgroups(ID_PREFIX);
    if (cg.length > 0) problems.push(`cgroups left by delete (removed): ${cg.join(", ")}`);
    try {
      removeDir(work);
    } catch (e) {
      problems.push((e as Error).message);
    }
    if (problems.length > 0) console.error(`cleanup:\n  ${problems.join("\n  ")}`);
  }
  if (failed) throw failed;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`bench: ${(e as Error).message ?? e}`);
    process.exit(1);
  },
);
