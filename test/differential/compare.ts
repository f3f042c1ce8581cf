// Differential testing helpers: run one bundle under Debian's runc and under
// skiff, parse what the probe printed, normalise what legitimately differs
// between two runs (container ids, rootfs paths, mount ids, device numbers
// of anonymous file systems) and compare the rest.
//
// Each runtime gets its own bundle directory holding the same config.json
// and a fresh copy of the same cached rootfs, so neither run can profit from
// directories the other one created (mount targets, process.cwd).

import { expect } from "bun:test";
import { spawn, spawnSync } from "bun";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/config/types";
import { REPO_ROOT, baseConfig, makeRootfs, tempDir } from "../bundle";

export const RUNC = "/usr/sbin/runc";
export const SKIFF = join(REPO_ROOT, "build/skiff");

export type Runtime = "runc" | "skiff";
export const RUNTIMES: readonly Runtime[] = ["runc", "skiff"];

export interface DiffCase {
  /** Probe arguments after /probe, e.g. ["mounts"]. */
  probe: string[];
  /** Edits the config (baseConfig with terminal false) before it is written. */
  mutate?: (spec: Spec) => void;
  /** Edits one runtime's config only, after mutate (for negative controls). */
  mutateFor?: Partial<Record<Runtime, (spec: Spec) => void>>;
  /** Runs on each runtime's rootfs copy before the container starts. */
  prepareRootfs?: (rootfs: string) => void;
  /** Pass --no-pivot to both runtimes. */
  noPivot?: boolean;
  /** Full args instead of ["/probe", ...probe]. */
  args?: string[];
  timeoutMs?: number;
  /** Added to both runtimes' environment (SKIFF_INIT, say). */
  env?: Record<string, string>;
}

export interface RunResult {
  runtime: Runtime;
  id: string;
  root: string;
  bundle: string;
  rootfs: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The probe's JSON line, or undefined when stdout held none. */
  json: any;
}

/** What a command line printed, and how it ended (-1: killed by the timeout). */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs argv to its end with stdin from /dev/null and stdout/stderr through
 * files, not pipes: a container a runtime leaves running inherits them, and
 * a pipe it held open would keep a synchronous spawn waiting.
 */
export function runCli(argv: string[], opts: { cwd?: string; timeoutMs?: number } = {}): CliResult {
  const io = tempDir("skiff-diff-io-");
  const out = join(io, "out");
  const err = join(io, "err");
  const fds = [openSync("/dev/null", "r"), openSync(out, "w"), openSync(err, "w")] as const;
  try {
    const r = spawnSync(argv, { cwd: opts.cwd, stdin: fds[0], stdout: fds[1], stderr: fds[2], timeout: opts.timeoutMs ?? 30_000, killSignal: "SIGKILL" });
    return { code: r.exitCode ?? -1, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
  } finally {
    for (const fd of fds) closeSync(fd);
    rmSync(io, { recursive: true, force: true });
  }
}

/** A container that a test started and afterEach must delete. */
interface Created {
  runtime: Runtime;
  root: string;
  id: string;
}

const created: Created[] = [];
let counter = 0;
let stateRoots: Record<Runtime, string> | undefined;

/** Private --root dirs, one per runtime, made on first use (removed by cleanupTempDirs). */
function roots(): Record<Runtime, string> {
  if (!stateRoots) stateRoots = { runc: tempDir("skiff-diff-runc-root-"), skiff: tempDir("skiff-diff-skiff-root-") };
  return stateRoots;
}

function binary(runtime: Runtime): string {
  return runtime === "runc" ? RUNC : SKIFF;
}

/** A container id unique to this process and call. */
export function uniqueId(runtime: Runtime, label: string): string {
  const clean = label.replace(/[^a-zA-Z0-9_.-]/g, "-").slice(0, 24);
  return `diff-${process.pid}-${++counter}-${clean}-${runtime}`;
}

/** Writes a bundle with the case's config and a fresh rootfs copy. */
export function makeCaseBundle(c: DiffCase, runtime: Runtime): { bundle: string; rootfs: string } {
  const bundle = tempDir(`skiff-diff-${runtime}-`);
  const rootfs = makeRootfs(join(bundle, "rootfs"), { busybox: false });
  c.prepareRootfs?.(rootfs);
  const spec = baseConfig();
  spec.process!.terminal = false;
  spec.process!.args = c.args ?? ["/probe", ...c.probe];
  c.mutate?.(spec);
  c.mutateFor?.[runtime]?.(spec);
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec, null, "\t") + "\n");
  return { bundle, rootfs };
}

async function runOne(c: DiffCase, runtime: Runtime, label: string): Promise<RunResult> {
  const { bundle, rootfs } = makeCaseBundle(c, runtime);
  const root = roots()[runtime];
  const id = uniqueId(runtime, label);
  created.push({ runtime, root, id });
  const argv = [binary(runtime), "--root", root, "run", ...(c.noPivot ? ["--no-pivot"] : []), "-b", bundle, id];
  const env = c.env ? { ...process.env, ...c.env } : undefined;
  const proc = spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: bundle, env });
  const timeout = setTimeout(() => proc.kill("SIGKILL"), c.timeoutMs ?? 30_000);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timeout);
  const line = stdout.split("\n").find((l) => l.startsWith("{"));
  let json: any;
  if (line) {
    try {
      json = JSON.parse(line);
    } catch {
      json = undefined;
    }
  }
  return { runtime, id, root, bundle, rootfs, exitCode, stdout, stderr, json };
}

/** Runs the case under both runtimes (one after the other) and returns both results. */
export async function runBoth(c: DiffCase, label: string): Promise<Record<Runtime, RunResult>> {
  const runc = await runOne(c, "runc", label);
  const skiff = await runOne(c, "skiff", label);
  return { runc, skiff };
}

/** Fails with both outputs when a run did not print a probe object or exited non-zero. */
export function expectProbeOk(r: RunResult): any {
  if (r.exitCode !== 0 || r.json === undefined || r.json.error !== undefined) {
    throw new Error(
      `${r.runtime} run ${r.id} failed: exit ${r.exitCode}\nstdout: ${r.stdout.trim()}\nstderr: ${r.stderr.trim()}`,
    );
  }
  return r.json;
}

/** Deletes (with -f) every container this process started; for afterEach/afterAll. */
export async function deleteCreated(): Promise<void> {
  const all = created.splice(0);
  await Promise.all(
    all.map(async (c) => {
      const p = spawn([binary(c.runtime), "--root", c.root, "delete", "-f", c.id], {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "ignore",
      });
      await p.exited;
    }),
  );
}

/** Forgets the state roots after cleanupTempDirs removed them. */
export function resetRoots(): void {
  stateRoots = undefined;
}

// ---- normalisation ---------------------------------------------------------

/** Replaces run-specific strings (ids, bundle and rootfs paths) by placeholders. */
export function placeholders(r: RunResult): (s: string) => string {
  return (s: string) =>
    s.split(r.rootfs).join("<rootfs>").split(r.bundle).join("<bundle>").split(r.id).join("<id>");
}

export interface NormalMount {
  mount_point: string;
  fs_type: string;
  source: string;
  root: string;
  options: string[];
  super_options: string[];
  propagation: string[];
}

/**
 * The probe's mounts, without mount ids, parents and device numbers, with
 * peer group numbers dropped ("shared:12" -> "shared"), options sorted and
 * placeholders for run-specific paths. Stable-sorted by mount point: both
 * runtimes may mount unrelated paths in another order, while the order of
 * mounts stacked on one point is kept.
 */
export function normalizeMounts(r: RunResult, json: any): NormalMount[] {
  const p = placeholders(r);
  const list: NormalMount[] = (json.mounts as any[]).map((m) => ({
    mount_point: m.mount_point,
    fs_type: m.fs_type,
    source: p(m.source),
    root: p(m.root),
    options: [...m.options].sort(),
    super_options: [...m.super_options].sort(),
    propagation: (m.propagation as string[]).map((x) => x.replace(/:\d+$/, "")).sort(),
  }));
  return list
    .map((m, i) => ({ m, i }))
    .sort((a, b) => (a.m.mount_point < b.m.mount_point ? -1 : a.m.mount_point > b.m.mount_point ? 1 : a.i - b.i))
    .map(({ m }) => m);
}

export function mountAt(mounts: NormalMount[], point: string): NormalMount | undefined {
  return mounts.findLast((m) => m.mount_point === point);
}

// ---- known differences -----------------------------------------------------

/**
 * A difference between skiff and runc that is understood and accepted:
 * `deliberate` where skiff is better on purpose, `knownDifference` where it
 * is a gap or an artefact of the two implementations. `apply` removes the
 * difference from the normalised views (editing them in place) and returns
 * whether it was actually seen. A difference passed to applyDifferences must
 * be seen: one that no longer occurs fails the test, so the list of accepted
 * differences stays true (pass only those that apply on this host).
 */
export interface Difference {
  kind: "deliberate" | "knownDifference";
  note: string;
  apply: (views: Record<Runtime, any>) => boolean;
}

export function deliberate(note: string, apply: Difference["apply"]): Difference {
  return { kind: "deliberate", note, apply };
}

export function knownDifference(note: string, apply: Difference["apply"]): Difference {
  return { kind: "knownDifference", note, apply };
}

/** Applies the notes, printing each into the test output; fails on any that was not observed. */
export function applyDifferences(label: string, views: Record<Runtime, any>, diffs: Difference[]): void {
  const stale: string[] = [];
  for (const d of diffs) {
    const seen = d.apply(views);
    console.log(`[${label}] ${d.kind}${seen ? "" : " NOT OBSERVED"}: ${d.note}`);
    if (!seen) stale.push(`${d.kind} not observed: ${d.note}`);
  }
  expect({ label, stale }).toEqual({ label, stale: [] });
}

/** Removes the mounts at point from one runtime's list; true if there were any. */
export function dropMounts(list: NormalMount[], pred: (m: NormalMount) => boolean): boolean {
  let found = false;
  for (let i = list.length - 1; i >= 0; i--) {
    if (pred(list[i]!)) {
      list.splice(i, 1);
      found = true;
    }
  }
  return found;
}

/** Side by side text of two values, for messages a reader compares by eye. */
export function sideBySide(a: { title: string; text: string }, b: { title: string; text: string }): string {
  return `--- ${a.title} ---\n${a.text.trim() || "(empty)"}\n--- ${b.title} ---\n${b.text.trim() || "(empty)"}`;
}

/** Makes dir and returns it (for host dirs that bind mounts use). */
export function ensureDir(dir: string): string {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  return dir;
}
