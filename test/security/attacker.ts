// What the tests of test/security/ share: the static attacker (attacker.c),
// a throwaway copy of skiff-init for skiff to run, and a snapshot of the
// host to compare before and after an attack.
import { spawnSync } from "bun";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { REPO_ROOT, tempDir } from "../bundle";
import { SKIFF_INIT } from "../integration/skiff";

const SOURCE = join(REPO_ROOT, "test/security/attacker.c");
const BINARY = join(REPO_ROOT, "build/attacker");

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/** Compiles attacker.c into build/attacker unless it is up to date; returns its path. */
export function buildAttacker(): string {
  if (mtimeMs(BINARY) >= mtimeMs(SOURCE)) return BINARY;
  mkdirSync(dirname(BINARY), { recursive: true });
  const tmp = `${BINARY}.${process.pid}.tmp`; // parallel runs may race here
  const r = spawnSync(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", tmp, SOURCE], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`build attacker: ${r.stderr.toString().trim()}`);
  renameSync(tmp, BINARY);
  return BINARY;
}

/** Puts the attacker at /attacker in a rootfs. */
export function plantAttacker(rootfs: string): void {
  copyFileSync(buildAttacker(), join(rootfs, "attacker"));
  chmodSync(join(rootfs, "attacker"), 0o755);
}

/**
 * A throwaway copy of build/skiff-init, for skiff to run through SKIFF_INIT:
 * an attack that got through could only damage the copy.
 */
export function throwawayInit(): string {
  const copy = join(tempDir("skiff-security-init-"), "skiff-init");
  copyFileSync(SKIFF_INIT, copy);
  chmodSync(copy, 0o755);
  return copy;
}

export function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

// Host values an escape through /proc would change. Read only, never written.
const SYSCTLS = ["kernel/hostname", "kernel/domainname", "kernel/core_pattern", "vm/panic_on_oom", "vm/overcommit_memory"];

/** The host's hostname and a few sysctls, and the hash of a file. */
export function hostSnapshot(file: string): Record<string, string> {
  const out: Record<string, string> = { [file]: sha256(file) };
  for (const s of SYSCTLS) out[s] = readFileSync(`/proc/sys/${s}`, "utf8");
  return out;
}
