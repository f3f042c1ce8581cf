// Helpers for integration tests: the probe binary, small rootfs trees and
// OCI bundles around them.
//
// Rootfs trees are built once into test/.work/rootfs/<variant> and copied
// per bundle (a few MB), so a test may change its rootfs freely. Caches are
// built in a temp dir and renamed into place, so concurrent test processes
// never see a half-built tree.

import { spawnSync } from "bun";
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Spec } from "../src/config/types";
import { defaultConfig } from "../src/config/default_config";

export const REPO_ROOT = resolve(import.meta.dir, "..");
export const PROBE_SOURCE = join(REPO_ROOT, "test/probe/probe.c");
export const PROBE_BINARY = join(REPO_ROOT, "build/probe");
export const BUSYBOX = "/bin/busybox";
const WORK_DIR = join(REPO_ROOT, "test/.work");

// Bump when makeRootfs changes what it puts in a tree, to drop old caches.
const ROOTFS_LAYOUT_VERSION = 3;

export interface RootfsOptions {
  /** Include /bin/busybox and its applets (default true). */
  busybox?: boolean;
}

export interface BundleOptions {
  /** Bundle directory; default a fresh tempDir("skiff-bundle-"). */
  dir?: string;
  /** process.args */
  args: string[];
  /** Edits the config after the defaults are applied, before it is written. */
  mutate?: (spec: Spec) => void;
  /** Use this existing rootfs (absolute root.path) instead of building bundle/rootfs. */
  rootfsDir?: string;
  /** Passed to makeRootfs when the bundle gets its own rootfs. */
  busybox?: boolean;
}

function run(argv: string[], what: string): string {
  const r = spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    throw new Error(`${what}: ${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().trim()}`);
  }
  return r.stdout.toString();
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/** Compiles test/probe/probe.c into build/probe unless it is up to date; returns its path. */
export function buildProbe(): string {
  if (mtimeMs(PROBE_BINARY) >= mtimeMs(PROBE_SOURCE)) return PROBE_BINARY;
  mkdirSync(dirname(PROBE_BINARY), { recursive: true });
  // Compile beside the target and rename: parallel test runs may race here.
  const tmp = `${PROBE_BINARY}.${process.pid}.tmp`;
  run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", tmp, PROBE_SOURCE], "build probe");
  renameSync(tmp, PROBE_BINARY);
  return PROBE_BINARY;
}

/** True when path is an ELF executable without PT_INTERP (needs no dynamic loader). */
export function isStaticElf(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return false; // ELF64 LE only
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === 3 /* PT_INTERP */) return false;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/** Returns /bin/busybox after checking it is the static build (package busybox-static). */
export function findBusybox(): string {
  if (!existsSync(BUSYBOX)) throw new Error(`find busybox: ${BUSYBOX} missing (install busybox-static)`);
  if (!isStaticElf(BUSYBOX)) throw new Error(`find busybox: ${BUSYBOX} is dynamically linked (install busybox-static)`);
  return BUSYBOX;
}

const PASSWD = `root:x:0:0:root:/root:/bin/sh
tester:x:1000:1000:tester:/home/tester:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`;

// tty (5) because the default /dev/pts mount uses gid=5.
const GROUP = `root:x:0:
tty:x:5:
tester:x:1000:
extra:x:1001:tester
nogroup:x:65534:
`;

function writeRootfsTree(dir: string, busybox: boolean): void {
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "etc", "root", "home/tester", "run", "tmp"]) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  // mkdtemp made dir 0700; a container user other than root must reach /.
  chmodSync(dir, 0o755);
  chmodSync(join(dir, "tmp"), 0o1777);
  // /root stays 0755 (Debian: 0700) so a cache built by root can be copied by any user.
  if (process.getuid?.() === 0) chownSync(join(dir, "home/tester"), 1000, 1000);
  writeFileSync(join(dir, "etc/passwd"), PASSWD);
  writeFileSync(join(dir, "etc/group"), GROUP);
  writeFileSync(join(dir, "etc/hostname"), "skiff-test\n");
  copyFileSync(buildProbe(), join(dir, "probe"));
  chmodSync(join(dir, "probe"), 0o755);
  if (!busybox) return;
  copyFileSync(findBusybox(), join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  // --list-full places each applet where Debian's busybox would (bin/sh, usr/bin/id, ...).
  for (const applet of run([BUSYBOX, "--list-full"], "list busybox applets").split("\n")) {
    if (!applet || applet === "bin/busybox" || applet === "linuxrc" || applet.includes("..")) continue;
    const link = join(dir, applet);
    mkdirSync(dirname(link), { recursive: true });
    if (!existsSync(link)) symlinkSync("/bin/busybox", link);
  }
}

// Cache key: a changed probe or busybox or layout rebuilds the cached tree.
function rootfsStamp(busybox: boolean): string {
  const parts = [`layout=${ROOTFS_LAYOUT_VERSION}`, `probe=${mtimeMs(buildProbe())}`];
  if (busybox) parts.push(`busybox=${mtimeMs(findBusybox())}:${statSync(BUSYBOX).size}`);
  return parts.join(" ") + "\n";
}

/** Returns the cached rootfs tree for the variant, building it first if missing or stale. */
export function cachedRootfs(opts: RootfsOptions = {}): string {
  const busybox = opts.busybox ?? true;
  const cache = join(WORK_DIR, "rootfs", busybox ? "busybox" : "minimal");
  const stampFile = `${cache}.stamp`;
  const stamp = rootfsStamp(busybox);
  if (existsSync(cache) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) return cache;
  mkdirSync(dirname(cache), { recursive: true });
  const tmp = mkdtempSync(`${cache}.tmp-`);
  writeRootfsTree(tmp, busybox);
  // rename cannot replace a non-empty directory: move the old tree aside first.
  if (existsSync(cache)) {
    const old = `${cache}.old-${process.pid}`;
    renameSync(cache, old);
    rmSync(old, { recursive: true, force: true });
  }
  try {
    renameSync(tmp, cache);
  } catch (e) {
    // Another test process put its tree in place first; theirs is as good.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(cache)) throw e;
  }
  writeFileSync(stampFile, stamp);
  return cache;
}

/** Fills dir (created if needed) with a fresh copy of the minimal rootfs; returns dir. */
export function makeRootfs(dir: string, opts: RootfsOptions = {}): string {
  const cache = cachedRootfs(opts);
  mkdirSync(dir, { recursive: true });
  // A copy, not hardlinks: tests may write to files of their rootfs.
  run(["cp", "-a", `${cache}/.`, dir], "copy rootfs");
  return dir;
}

/**
 * The config `runc spec` writes (skiff's `spec` writes the same), with runc's
 * ociVersion, so that differential tests start from the same place under
 * both runtimes.
 */
export function baseConfig(): Spec {
  return { ...defaultConfig({ rootless: false }), ociVersion: "1.0.2-dev" };
}

/** Writes dir/config.json (baseConfig, terminal false, the given args) and a rootfs; returns dir. */
export function makeBundle(opts: BundleOptions): string {
  const dir = opts.dir ?? tempDir("skiff-bundle-");
  mkdirSync(dir, { recursive: true });
  const spec = baseConfig();
  spec.process!.terminal = false;
  spec.process!.args = [...opts.args];
  if (opts.rootfsDir) {
    spec.root = { ...spec.root!, path: resolve(opts.rootfsDir) };
  } else {
    makeRootfs(join(dir, "rootfs"), { busybox: opts.busybox });
  }
  opts.mutate?.(spec);
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec, null, "\t") + "\n");
  return dir;
}

const tempDirs = new Set<string>();

/** Creates a fresh directory under the system temp dir, removed by cleanupTempDirs(). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Mount points at or below dir in this mount namespace, deepest first. */
function mountsBelow(dir: string): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const points = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => unescape(line.split(" ")[4] ?? ""))
    .filter((p) => p === dir || p.startsWith(dir + "/"));
  return points.sort((a, b) => b.length - a.length);
}

/**
 * Removes dir. A failed test may leave mounts inside a rootfs (a bind of a
 * host directory, say): those are detached first, and rm stays on one file
 * system, so cleanup can never delete through a mount into host files.
 */
export function removeDir(dir: string): void {
  const abs = resolve(dir);
  if (!existsSync(abs)) return;
  for (const point of mountsBelow(abs)) {
    spawnSync(["umount", "-l", point], { stdout: "ignore", stderr: "ignore" });
  }
  const left = mountsBelow(abs);
  if (left.length > 0) throw new Error(`remove ${abs}: still mounted: ${left.join(", ")}`);
  run(["rm", "-rf", "--one-file-system", abs], `remove ${abs}`);
  tempDirs.delete(abs);
}

/** Removes every directory made by tempDir() in this process; use in afterAll/afterEach. */
export function cleanupTempDirs(): void {
  const errors: string[] = [];
  for (const dir of [...tempDirs]) {
    try {
      removeDir(dir);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length > 0) throw new Error(errors.join("; "));
}
