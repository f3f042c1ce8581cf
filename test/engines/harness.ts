// Shared pieces of the engines suite (test/engines/*_test.ts): install the
// engines, snapshot the runtimes, build images without a registry, start and
// stop private daemons, run commands, and look for leftovers.
//
// Every engine test runs each scenario with skiff AND with Debian's runc, in
// the same harness, so that a failure under skiff alone is skiff's and a
// failure under both is the harness's (or the engine's).
//
// Output of commands goes to files, not pipes: an engine may leave a process
// (conmon, a shim, a daemon) holding our stdout, and a pipe would then keep a
// synchronous spawn waiting.

import { expect, test } from "bun:test";
import { spawn, spawnSync } from "bun";
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
  readlinkSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, cachedRootfs } from "../bundle";

export const ENGINE_DIR = import.meta.dir;
export const RUNC = "/usr/sbin/runc";
export const IS_ROOT = process.getuid?.() === 0;
/** Per-test timeout for engine scenarios (bun's default of 5 s is far too short). */
export const T = 120_000;

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, trimmed: what a user sees on a terminal */
  out: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  stdin?: string;
  cwd?: string;
}

/** Runs argv to completion (output through files; see the file comment). */
export function run(argv: string[], opts: RunOptions = {}): Result {
  const io = mkdtempSync(join(tmpdir(), "skiff-eng-io-"));
  try {
    const inPath = join(io, "in");
    writeFileSync(inPath, opts.stdin ?? "");
    const fds = [openSync(inPath, "r"), openSync(join(io, "out"), "w"), openSync(join(io, "err"), "w")] as const;
    let r;
    try {
      r = spawnSync(argv, {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env } as Record<string, string>,
        stdin: fds[0],
        stdout: fds[1],
        stderr: fds[2],
        timeout: opts.timeoutMs ?? 90_000,
        killSignal: "SIGKILL",
      });
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    const stdout = readFileSync(join(io, "out"), "utf8");
    const stderr = readFileSync(join(io, "err"), "utf8");
    const code = r.exitCode ?? (r.signalCode ? 128 + 9 : -1);
    return { code, stdout, stderr, out: (stdout + stderr).trim() };
  } finally {
    rmSync(io, { recursive: true, force: true });
  }
}

/** run() that throws with the command's output unless it exits 0. */
export function must(argv: string[], opts: RunOptions = {}): Result {
  const r = run(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.out}`);
  return r;
}

// ---- set-up ------------------------------------------------------------------

let checked = false;
let skipReason: string | undefined;
let installError: string | undefined;

/**
 * Installs the engines (test/engines/install.sh, idempotent) once per
 * process; returns why the suite cannot run here (not root, no build), or
 * undefined when it can. An install that fails is no reason to skip: it
 * is reported by the failing test that enginesInstalledTest() registers.
 */
export function ensureEngines(): string | undefined {
  if (checked) return skipReason;
  checked = true;
  if (!IS_ROOT) return (skipReason = "engines suite needs root");
  if (!existsSync(join(REPO_ROOT, "build/skiff")) || !existsSync(join(REPO_ROOT, "build/skiff-init"))) {
    return (skipReason = "build/skiff or build/skiff-init missing: run bash scripts/build.sh");
  }
  const r = run(["sh", join(ENGINE_DIR, "install.sh")], { timeoutMs: 600_000 });
  if (r.code !== 0) installError = `install engines: exit ${r.code}: ${r.out}`;
  if (r.out) console.log(r.out);
  return skipReason;
}

/** The engines' install failed: a failure of the suite (throw it from set-up too, so nothing runs without engines). */
export function engineInstallError(): string | undefined {
  return installError;
}

/** A test that fails when test/engines/install.sh did. */
export function enginesInstalledTest(): void {
  test("the engines are installed (test/engines/install.sh exits 0)", () => {
    expect(installError ?? "").toBe("");
  });
}

export interface Runtimes {
  /** private copy of build/skiff, with skiff-init beside it */
  skiff: string;
  runc: string;
}

/**
 * A snapshot of build/skiff and its helpers in dir/bin: the tree is
 * rebuilt by others while the suite runs, and an engine must see one
 * runtime for the whole run.
 */
export function snapshotRuntimes(dir: string): Runtimes {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  // skiff finds its helpers next to its own executable (skiff-bpf: cgroup v2 only)
  for (const name of ["skiff", "skiff-init", "skiff-bpf"]) {
    if (name === "skiff-bpf" && !existsSync(join(REPO_ROOT, "build", name))) continue;
    copyFileSync(join(REPO_ROOT, "build", name), join(bin, name));
    chmodSync(join(bin, name), 0o755);
  }
  return { skiff: join(bin, "skiff"), runc: RUNC };
}

/** A fresh private directory for one engine's whole run (removed by teardown). */
export function engineDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `skiff-engine-${name}-`));
}

/**
 * The busybox rootfs (test/bundle.ts cachedRootfs: static busybox, its
 * applets, /etc/passwd, the probe) as a plain tar, for `podman import` and
 * `docker import`.
 */
export function rootfsTar(dir: string): string {
  const tar = join(dir, "busybox-rootfs.tar");
  if (!existsSync(tar)) must(["tar", "-C", cachedRootfs(), "--numeric-owner", "-cf", tar, "."]);
  return tar;
}

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** What an image made by ociArchive runs, when not the busybox shell. */
export interface ImageContent {
  /** a plain tar of the image's root file system */
  tar: string;
  /** the image config's Entrypoint and Cmd */
  entrypoint?: string[];
  cmd?: string[];
  /** the archive's file name in dir */
  name: string;
}

/**
 * A hand-built OCI image archive (oci-layout, index.json, manifest, config,
 * one gzipped layer) of the busybox rootfs (or of `content`), for `ctr
 * images import`. The index names it `ref` (org.opencontainers.image.ref.name).
 */
export function ociArchive(dir: string, ref: string, content?: ImageContent): string {
  const work = join(dir, "oci");
  const blobs = join(work, "blobs/sha256");
  mkdirSync(blobs, { recursive: true });
  const tar = content?.tar ?? rootfsTar(dir);
  const layerGz = join(work, "layer.tar.gz");
  must(["sh", "-c", `gzip -n -c '${tar}' > '${layerGz}'`]);
  const layer = readFileSync(layerGz);
  rmSync(layerGz);
  const layerDigest = sha256(layer);
  writeFileSync(join(blobs, layerDigest), layer);
  const diffId = sha256(readFileSync(tar));
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created: "2026-01-01T00:00:00Z",
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      ...(content?.entrypoint ? { Entrypoint: content.entrypoint } : {}),
      ...(content ? (content.cmd ? { Cmd: content.cmd } : {}) : { Cmd: ["sh"] }),
      WorkingDir: "/",
    },
    rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
    history: [{ created: "2026-01-01T00:00:00Z", created_by: "skiff test/engines/harness.ts" }],
  });
  const configDigest = sha256(config);
  writeFileSync(join(blobs, configDigest), config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${configDigest}`, size: Buffer.byteLength(config) },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${layerDigest}`, size: layer.length }],
  });
  const manifestDigest = sha256(manifest);
  writeFileSync(join(blobs, manifestDigest), manifest);
  writeFileSync(join(work, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(work, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: `sha256:${manifestDigest}`,
          size: Buffer.byteLength(manifest),
          annotations: { "org.opencontainers.image.ref.name": ref },
        },
      ],
    }),
  );
  const archive = join(dir, content?.name ?? "busybox-oci.tar");
  must(["tar", "-C", work, "--numeric-owner", "-cf", archive, "oci-layout", "index.json", "blobs"]);
  rmSync(work, { recursive: true, force: true });
  return archive;
}

/** The current hard limits, which a container may not raise without CAP_SYS_RESOURCE. */
export function hardLimits(): { nofile: number; nproc: number } {
  const limits = readFileSync("/proc/self/limits", "utf8");
  const hard = (label: string) => {
    const m = new RegExp(`^${label}\\s+(\\S+)\\s+(\\S+)`, "m").exec(limits);
    return !m || m[2] === "unlimited" ? 1048576 : Number(m[2]);
  };
  return { nofile: hard("Max open files"), nproc: hard("Max processes") };
}

// ---- daemons -----------------------------------------------------------------

export interface Daemon {
  name: string;
  pid: number;
  pidFile: string;
  log: string;
  /** resolves when the daemon has exited and been reaped */
  exited: Promise<unknown>;
}

/**
 * Starts a daemon in the background (its own process group, output to log),
 * then waits until ready() holds. The pid is the one we spawned; the pid
 * file, when the daemon writes one, must agree with it.
 */
export async function startDaemon(opts: {
  name: string;
  argv: string[];
  pidFile: string;
  log: string;
  env?: Record<string, string | undefined>;
  ready: () => boolean;
  timeoutMs?: number;
  writePidFile?: boolean;
}): Promise<Daemon> {
  const logFd = openSync(opts.log, "a");
  const proc = spawn(opts.argv, {
    env: { ...process.env, ...opts.env } as Record<string, string>,
    stdin: "ignore",
    stdout: logFd,
    stderr: logFd,
    detached: true,
  });
  closeSync(logFd);
  proc.unref();
  const d: Daemon = { name: opts.name, pid: proc.pid, pidFile: opts.pidFile, log: opts.log, exited: proc.exited };
  if (opts.writePidFile) writeFileSync(opts.pidFile, `${proc.pid}\n`);
  // Should the test process end without its afterAll (killed by a CI
  // timeout, say), stop the daemon anyway: exactly this pid, and only while
  // it still runs the command we started.
  const started = cmdline(proc.pid);
  process.on("exit", () => {
    if (alive(d.pid) && cmdline(d.pid) === started) {
      try {
        process.kill(d.pid, "SIGTERM");
      } catch {
        // gone
      }
    }
  });
  const end = Date.now() + (opts.timeoutMs ?? 30_000);
  while (!opts.ready()) {
    if (proc.exitCode !== null || !alive(proc.pid)) {
      throw new Error(`start ${opts.name}: exited ${proc.exitCode}: ${tail(opts.log)}`);
    }
    if (Date.now() > end) {
      await stopDaemon(d);
      throw new Error(`start ${opts.name}: not ready after ${opts.timeoutMs ?? 30_000} ms: ${tail(opts.log)}`);
    }
    await Bun.sleep(100);
  }
  return d;
}

/** SIGTERM to exactly the daemon's pid, SIGKILL after 15 s; waits until it is gone and reaped. */
export async function stopDaemon(d: Daemon | undefined): Promise<void> {
  if (!d) return;
  await stopDaemonNow(d);
  await Promise.race([d.exited, Bun.sleep(5000)]);
}

function stopDaemonNow(d: Daemon): void {
  if (!alive(d.pid)) return;
  try {
    process.kill(d.pid, "SIGTERM");
  } catch {
    return;
  }
  if (!waitFor(() => !alive(d.pid), 15_000)) {
    try {
      process.kill(d.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
    waitFor(() => !alive(d.pid), 5_000);
  }
}

export function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// ---- processes, cgroups, mounts ---------------------------------------------

export function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  const st = procStat(pid)?.state;
  return st !== undefined && st !== "Z" && st !== "X";
}

export function waitFor(cond: () => boolean, timeoutMs = 10_000): boolean {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > end) return false;
    Bun.sleepSync(50);
  }
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

function pids(): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** Live processes whose command line or cgroup names `needle` (a container id). */
export function processesNaming(needle: string): string[] {
  const out: string[] = [];
  for (const pid of pids()) {
    if (pid === process.pid || !alive(pid)) continue;
    const cmd = cmdline(pid);
    let cg = "";
    try {
      cg = readFileSync(`/proc/${pid}/cgroup`, "utf8");
    } catch {
      continue;
    }
    if (cmd.includes(needle) || cg.includes(needle)) out.push(`process ${pid}: ${cmd}`);
  }
  return out;
}

/** Mount points of this mount namespace. */
export function mountPoints(): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => unescape(l.split(" ")[4] ?? ""));
}

/** Roots of the cgroup hierarchies mounted on this host (v1 controllers, named, and v2). */
export function cgroupRoots(): string[] {
  const roots: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(" ")[0];
    if (fstype === "cgroup" || fstype === "cgroup2") roots.push(line.slice(0, sep).split(" ")[4]!);
  }
  return roots;
}

/** cgroup directories (at most 5 levels deep) whose name contains `needle`. */
export function cgroupsNaming(needle: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      if (n.includes(needle)) out.push(`cgroup ${p}`);
      else if (depth < 5) walk(p, depth + 1);
    }
  };
  for (const root of cgroupRoots()) walk(root, 0);
  return out;
}

/**
 * Everything a container may leave behind, by its full id: the runtime's
 * state dir under stateRoot, mounts whose path names the id or lies under one
 * of `mountDirs` (or matches it, for a RegExp; new since `mountsBefore`),
 * cgroups and processes naming it.
 */
export function leftovers(opts: { id: string; stateRoots: string[]; mountsBefore: Set<string>; mountDirs: (string | RegExp)[] }): string[] {
  const found: string[] = [];
  for (const root of opts.stateRoots) {
    const d = join(root, opts.id);
    if (existsSync(d)) found.push(`state dir ${d}`);
  }
  for (const p of mountPoints()) {
    if (opts.mountsBefore.has(p)) continue;
    const under = (d: string | RegExp) => (typeof d === "string" ? p === d || p.startsWith(d + "/") : d.test(p));
    if (p.includes(opts.id) || opts.mountDirs.some(under)) found.push(`mount ${p}`);
  }
  found.push(...cgroupsNaming(opts.id));
  found.push(...processesNaming(opts.id));
  return found;
}

/** Paths (files and dirs) that exist now, to remove exactly those we create. */
export function existing(paths: string[]): Set<string> {
  return new Set(paths.filter((p) => existsSync(p)));
}

/**
 * Removes the dirs we created (those not in `before`), deepest first, only
 * when empty: a shared dir that someone else filled in the meantime stays.
 */
export function removeCreatedDirs(paths: string[], before: Set<string>): string[] {
  for (const p of [...paths].sort((a, b) => b.length - a.length)) {
    if (before.has(p) || !existsSync(p)) continue;
    try {
      if (statSync(p).isDirectory()) {
        if (readdirSync(p).length === 0) rmdirSync(p);
      } else rmSync(p, { force: true });
    } catch {
      // not empty or busy: leave it
    }
  }
  const left = paths.filter((p) => !before.has(p) && existsSync(p));
  if (left.length) console.log(`engines teardown: left in place (not empty, or in use by others): ${left.join(", ")}`);
  return left;
}

/** Unmounts every mount at or below dir (deepest first), then removes dir on one file system. */
export function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  const below = mountPoints()
    .filter((p) => p === dir || p.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const p of below) run(["umount", "-l", p]);
  run(["rm", "-rf", "--one-file-system", dir]);
}

// ---- pty ---------------------------------------------------------------------

/**
 * Drives `argv` on a real terminal (util-linux `script` allocates the pty):
 * waits for `prompt`, types `input`, then waits for `expect` in the output,
 * then types `exit`. Returns everything the terminal showed and the exit code.
 */
export async function ptySession(
  argv: string[],
  opts: { env?: Record<string, string | undefined>; prompt: RegExp; input: string; expect: RegExp; timeoutMs?: number },
): Promise<{ code: number; screen: string; sawPrompt: boolean; sawExpect: boolean }> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const p = spawn(["script", "-qfec", quoted, "/dev/null"], {
    env: { ...process.env, TERM: "xterm", ...opts.env } as Record<string, string>,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  let screen = "";
  const dec = new TextDecoder();
  const reader = (async () => {
    for await (const chunk of p.stdout as ReadableStream<Uint8Array>) screen += dec.decode(chunk, { stream: true });
  })();
  const errReader = (async () => {
    for await (const chunk of p.stderr as ReadableStream<Uint8Array>) screen += dec.decode(chunk, { stream: true });
  })();
  const until = async (re: RegExp, ms: number) => {
    const end = Date.now() + ms;
    while (!re.test(screen) && p.exitCode === null && Date.now() < end) await Bun.sleep(50);
    return re.test(screen);
  };
  const timeout = opts.timeoutMs ?? 30_000;
  const killer = setTimeout(() => p.kill("SIGKILL"), timeout + 10_000);
  const sawPrompt = await until(opts.prompt, timeout);
  let sawExpect = false;
  if (sawPrompt) {
    p.stdin.write(opts.input + "\r");
    p.stdin.flush();
    sawExpect = await until(opts.expect, timeout);
    p.stdin.write("exit\r");
    p.stdin.flush();
  }
  await Promise.race([p.exited, Bun.sleep(timeout)]);
  if (p.exitCode === null) {
    p.kill("SIGKILL");
    await p.exited;
  }
  clearTimeout(killer);
  try {
    p.stdin.end();
  } catch {
    // closed
  }
  await Promise.race([Promise.all([reader, errReader]), Bun.sleep(2000)]);
  return { code: p.exitCode ?? -1, screen, sawPrompt, sawExpect };
}

// ---- error messages under skiff and runc ---------------------------------------

export interface ErrorCase {
  engine: string;
  what: string;
  runtime: string;
  code: number;
  message: string;
}

const errorCases: ErrorCase[] = [];

export function recordError(c: ErrorCase): void {
  errorCases.push(c);
  const file = process.env.SKIFF_ENGINE_ERRORS;
  if (file) writeFileSync(file, JSON.stringify(c) + "\n", { flag: "a" });
}

/** Prints the recorded error messages of `engine`, skiff and runc side by side. */
export function printErrors(engine: string): void {
  const mine = errorCases.filter((c) => c.engine === engine);
  if (mine.length === 0) return;
  const lines = [`\n==== ${engine}: what the engine shows, skiff vs runc ====`];
  for (const what of [...new Set(mine.map((c) => c.what))]) {
    lines.push(`-- ${what}`);
    for (const c of mine.filter((x) => x.what === what)) {
      lines.push(`   ${c.runtime.padEnd(5)} exit ${String(c.code).padEnd(3)} ${c.message.replace(/\s+/g, " ").trim()}`);
    }
  }
  console.log(lines.join("\n"));
}

export function readLinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}

/**
 * The parent cgroups an engine makes for its containers (podman
 * "libpod_parent", docker "docker", a containerd namespace) in every
 * hierarchy, as "<root>/<name>" paths that exist now.
 */
export function existingCgroups(names: string[]): Set<string> {
  const out = new Set<string>();
  for (const root of cgroupRoots()) for (const n of names) if (existsSync(join(root, n))) out.add(join(root, n));
  return out;
}

/**
 * Removes those parent cgroups (and the empty cgroups below them, deepest
 * first) that did not exist in `before`; rmdir fails on a cgroup that still
 * has processes, which then stays and is reported.
 */
export function removeCreatedCgroups(names: string[], before: Set<string>): string[] {
  const left: string[] = [];
  for (const root of cgroupRoots()) {
    for (const n of names) {
      const top = join(root, n);
      if (before.has(top) || !existsSync(top)) continue;
      const dirs: string[] = [];
      const walk = (d: string) => {
        dirs.push(d);
        for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
      };
      walk(top);
      for (const d of dirs.sort((a, b) => b.length - a.length)) {
        try {
          rmdirSync(d);
        } catch {
          left.push(d);
        }
      }
    }
  }
  if (left.length) console.log(`engines teardown: cgroups left (still in use): ${left.join(", ")}`);
  return left;
}
