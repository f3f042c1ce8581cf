// Every skipped test says why, in the test output. A test that cannot run
// here (not root, no runc, an optional kernel file missing, no ../shared)
// is skipped through these helpers, never by returning early: an early
// return counts as a pass.
//
//   describe.skipIf(skipWhy("seccomp in skiff", needRoot()))("seccomp in skiff", () => ...)
//   test.skipIf(skipWhy("bfq weight", needFile(BFQ, "no BFQ scheduler")))(...)
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

// Not from ./bundle: unit tests under src/ import this file, and stay light.
const REPO_ROOT = resolve(import.meta.dir, "..");

export const RUNC = "/usr/sbin/runc";
/** The spec's schemas and the runtime-tools source, beside the clone (CI lays it there). */
export const SHARED = join(REPO_ROOT, "..", "shared");

/** Prints `skip: WHAT: WHY` when there is a reason, and says whether to skip. */
export function skipWhy(what: string, ...reasons: (string | null)[]): boolean {
  const why = reasons.filter((r): r is string => !!r);
  if (why.length) console.log(`skip: ${what}: ${why.join("; ")}`);
  return why.length > 0;
}

export function needRoot(): string | null {
  return process.getuid?.() === 0 ? null : "needs root (run as root to test against real namespaces and cgroups)";
}

export function needRunc(): string | null {
  return existsSync(RUNC) ? null : `${RUNC} is not installed (apt-get install runc; the reference for differential tests)`;
}

export function needShared(sub: string): string | null {
  const p = join(SHARED, sub);
  return existsSync(p) ? null : `${p} is absent (a plain clone has no ../shared; CI lays it beside the clone)`;
}

export function needFile(path: string, meaning: string): string | null {
  return existsSync(path) ? null : `${path} is missing (${meaning})`;
}
