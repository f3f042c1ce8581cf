// Shared helpers for the integration tests: run build/skiff with a private
// --root, and look for anything a container left behind.
//
// skiff's output goes to files, not pipes: a created or detached container
// inherits skiff's stdout and stderr, and a pipe held open by it would keep
// a synchronous spawn waiting until the container exits.

import { spawnSync } from "bun";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { REPO_ROOT } from "../bundle";

export const SKIFF = process.env.SKIFF_BIN ?? join(REPO_ROOT, "build/skiff");
export const SKIFF_INIT = join(REPO_ROOT, "build/skiff-init");
/**
 * What procExe says of a process running skiff-init: skiff executes a
 * sealed memfd copy, never the file (src/helper/sealed_binary.ts).
 */
export const SKIFF_INIT_EXE = "/memfd:skiff-init";

export interface SkiffResult {
  code: number;
  stdout: string;
  stderr: string;
  /** pid of the skiff process that ran */
  pid: number;
}

export interface SkiffOptions {
  /** --root; omitted when undefined (then skiff's default would apply: always pass one) */
  root?: string;
  cwd?: string;
  /** text for stdin; default /dev/null */
  stdin?: string;
  /** kill skiff after this long (default 60 s) */
  timeoutMs?: number;
  /** flags placed before --root (global flags such as --log) */
  globals?: string[];
  /** added to skiff's environment (Bun's spawn does not see later changes to process.env) */
  env?: Record<string, string>;
}

/** Run `skiff [globals] --root ROOT ARGS...` and wait for it. */
export function skiff(args: string[], opts: SkiffOptions = {}): SkiffResult {
  if (!existsSync(SKIFF)) throw new Error(`${SKIFF} is missing: run bash scripts/build.sh first`);
  const io = mkdtempSync(join(tmpdir(), "skiff-io-"));
  try {
    const outPath = join(io, "stdout");
    const errPath = join(io, "stderr");
    const inPath = join(io, "stdin");
    writeFileSync(inPath, opts.stdin ?? "");
    const fds = [openSync(inPath, "r"), openSync(outPath, "w"), openSync(errPath, "w")] as const;
    let r;
    try {
      const argv = [SKIFF, ...(opts.globals ?? []), ...(opts.root !== undefined ? ["--root", opts.root] : []), ...args];
      r = spawnSync(argv, {
        cwd: opts.cwd,
        env: opts.env ? { ...process.env, ...opts.env } : undefined,
        stdin: fds[0],
        stdout: fds[1],
        stderr: fds[2],
        timeout: opts.timeoutMs ?? 60_000,
        killSignal: "SIGKILL",
      });
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    const code = r.exitCode ?? (r.signalCode ? 128 + signalNumber(String(r.signalCode)) : -1);
    return { code, stdout: readFileSync(outPath, "utf8"), stderr: readFileSync(errPath, "utf8"), pid: r.pid };
  } finally {
    rmSync(io, { recursive: true, force: true });
  }
}

/** skiff itself killed (by our timeout, say): report it as a shell would. */
function signalNumber(name: string): number {
  return (constants.signals as Record<string, number>)[name] ?? 0;
}

/** A container id no other test (or other test run) uses. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** /proc/PID/status fields as a map, or undefined when the process is gone. */
export function procStatus(pid: number): Map<string, string> | undefined {
  try {
    const out = new Map<string, string>();
    for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
      const c = line.indexOf(":");
      if (c > 0) out.set(line.slice(0, c), line.slice(c + 1).trim());
    }
    return out;
  } catch {
    return undefined;
  }
}

/** True when pid is a live process (not a zombie). */
export function alive(pid: number): boolean {
  const st = procStatus(pid)?.get("State");
  return st !== undefined && !st.startsWith("Z") && !st.startsWith("X");
}

/** The executable of pid, or "" (gone, or a kernel thread). */
export function procExe(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
  } catch {
    return "";
  }
}

export function procCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

export function allPids(): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** Wait (polling) until cond() holds or the time is up; returns the last cond(). */
export function waitFor(cond: () => boolean, timeoutMs = 5000): boolean {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > end) return false;
    Bun.sleepSync(20);
  }
}

const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The container's rootfs as the bundle's config.json names it (default bundle/rootfs). */
function bundleRootfs(bundle: string): string {
  let path = "rootfs";
  try {
    const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    if (typeof spec?.root?.path === "string") path = spec.root.path;
  } catch {
    // missing or broken config: the default place
  }
  return isAbsolute(path) ? path : join(bundle, path);
}

/**
 * The cgroup directories skiff would make for a container whose
 * cgroupsPath is its id: in every hierarchy mounted on this host, under the
 * cgroup this process (and so the skiff it starts) is in.
 */
export function cgroupCandidates(id: string): string[] {
  const own = new Map<string, string>();
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) own.set(m[1]!, m[2]!);
  }
  const skip = new Set(["rw", "ro", "nosuid", "nodev", "noexec", "relatime", "noatime", "clone_children", "xattr", "nsdelegate", "memory_recursiveprot"]);
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const [fstype, , superOpts = ""] = line.slice(sep + 3).split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const mount = unescapeMount(line.slice(0, sep).split(" ")[4]!);
    const key = fstype === "cgroup2" ? "" : superOpts.split(",").filter((o) => !skip.has(o) && !o.startsWith("release_agent=")).join(",");
    out.push(join(mount, own.get(key) ?? "/", id));
  }
  return out;
}

/**
 * Everything the container `id` (bundle `bundle`, state under `root`) may
 * have left behind; [] when nothing. Each entry says what and where.
 */
export function leftovers(root: string, id: string, bundle: string): string[] {
  const found: string[] = [];
  const stateDir = join(root, id);
  if (existsSync(stateDir)) found.push(`state dir ${stateDir}`);
  const rootfs = resolve(bundleRootfs(bundle));
  const bundleAbs = resolve(bundle);
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const point = unescapeMount(line.split(" ")[4] ?? "");
    if (point && (point === rootfs || point.startsWith(rootfs + "/"))) found.push(`mount ${point}`);
  }
  for (const dir of cgroupCandidates(id)) if (existsSync(dir)) found.push(`cgroup ${dir}`);
  for (const pid of allPids()) {
    if (pid === process.pid || !alive(pid)) continue;
    const cmd = procCmdline(pid).join(" ");
    if (cmd.includes(bundleAbs) || cmd.split(" ").includes(id)) found.push(`process ${pid}: ${cmd}`);
  }
  return found;
}

/** Best-effort removal of a container, for afterEach/afterAll. */
export function forceDelete(root: string, id: string): void {
  try {
    skiff(["delete", "-f", id], { root, timeoutMs: 20_000 });
  } catch {
    // the test reports its own failure; cleanup goes on
  }
}
