// Attack: linux.cgroupsPath "/../../../../../../tmp/x" made skiff write
// devices.deny, devices.allow and pids.max into the host's /tmp/x. Now the
// path is cleaned as runc's CleanPath cleans it (".." stops at the root of
// the hierarchy): the container lands in <mount>/tmp/x, as under runc, and
// the planted files stay untouched. A path naming the root of a hierarchy or
// skiff's own cgroup is refused: delete and kill --all signal every process
// of the container's cgroup, so either would reach the host's processes. An
// existing cgroup that holds processes is the caller's choice: used with
// runc 1.1's warning (test/cgroups/reuse_diff_test.ts compares with runc).
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { alive, forceDelete, leftovers, skiff, uniqueId } from "../integration/skiff";
import { detectLayout } from "../../src/cgroups/layout";
import { RUNC, needRoot, needRunc, skipWhy } from "../skip";
import { expectOneLine } from "./one_line";

const PLANTED = ["devices.deny", "devices.allow", "devices.list", "pids.max", "cgroup.procs", "tasks", "cpu.shares", "memory.limit_in_bytes", "freezer.state", "cgroup.subtree_control"];
const SLEEP = ["/probe", "sleep", "60"];

let root = "";
const made: string[] = [];
afterEach(() => {
  for (const id of made.splice(0)) forceDelete(root, id);
});
afterAll(() => cleanupTempDirs());

function hashDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = createHash("sha256").update(readFileSync(join(dir, f))).digest("hex");
  return out;
}

/** What an attacker leaves where the escaped path points: every file skiff writes, so no write fails. */
function plant(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of PLANTED) writeFileSync(join(dir, f), `planted ${f}\n`);
}

/** The hierarchy mounts of this host (cgroup v1 and the cgroup2 one). */
const mounts = () => detectLayout().hierarchies.map((h) => h.mount);

/** /proc/PID/cgroup: the path of each hierarchy line (controllers dropped). */
function procCgroupPaths(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cgroup`, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.slice(l.indexOf(":", l.indexOf(":") + 1) + 1));
}

/** Remove the now empty parents a test's escaped path made in every hierarchy (runc leaves them). */
function removeParents(rel: string[]): void {
  for (const m of mounts()) {
    for (const r of rel) {
      try {
        rmdirSync(join(m, r));
      } catch {
        // not there, or another container still uses it: leave it
      }
    }
  }
}

/**
 * A container wrongly created in the root cgroup (a regression): end its init
 * by pid and drop its state, touching no cgroup (an empty v1 leaf would be
 * the hierarchy's root itself).
 */
function dropWithoutDelete(id: string): void {
  try {
    const pid = JSON.parse(readFileSync(join(root, id, "state.json"), "utf8")).pid;
    if (Number.isInteger(pid) && pid > 1) process.kill(pid, "SIGKILL");
  } catch {
    // no state: nothing was made
  }
  rmSync(join(root, id), { recursive: true, force: true });
}

function initPid(id: string, stateRoot: string, runtime: "skiff" | "runc"): number {
  if (runtime === "skiff") return JSON.parse(skiff(["state", id], { root: stateRoot }).stdout).pid;
  const r = spawnSync([RUNC, "--root", stateRoot, "state", id], { stdout: "pipe", stderr: "pipe" });
  return JSON.parse(r.stdout.toString()).pid;
}

describe.skipIf(skipWhy("cgroupsPath confinement", needRoot()))("linux.cgroupsPath stays inside the cgroup hierarchy", () => {
  root = tempDir("skiff-sec-cg-root-");

  test.skipIf(skipWhy("cgroupsPath with leading '..' against runc", needRunc()))("'/../../../../../../tmp/x' lands in <mount>/tmp/x, as under runc, and the host's /tmp/x is untouched", () => {
    const target = tempDir("skiff-sec-cg-target-"); // a host directory, e.g. /tmp/skiff-sec-cg-target-AbC
    expect(target.startsWith("/tmp/")).toBe(true);
    const rel = target.slice(1); // "tmp/skiff-sec-cg-target-AbC"
    const escaped = (leaf: string) => `/../../../../../..${target}/${leaf}`;
    plant(join(target, "x-skiff"));
    plant(join(target, "x-runc"));
    const before = { skiff: hashDir(join(target, "x-skiff")), runc: hashDir(join(target, "x-runc")) };
    const mutate = (leaf: string) => (s: any) => {
      s.linux.cgroupsPath = escaped(leaf);
      s.linux.resources = { devices: [{ allow: false, access: "rwm" }], pids: { limit: 17 } };
    };
    const skiffBundle = makeBundle({ args: SLEEP, mutate: mutate("x-skiff") });
    const runcBundle = makeBundle({ args: SLEEP, mutate: mutate("x-runc") });
    const id = uniqueId("sec-cg");
    const runcRoot = tempDir("skiff-sec-cg-runc-");
    made.push(id);
    try {
      const s = skiff(["create", "-b", skiffBundle, id], { root });
      expect(s.stderr).toBe("");
      expect(s.code).toBe(0);
      const errFile = join(runcRoot, "stderr");
      const r = spawnSync([RUNC, "--root", runcRoot, "create", "-b", runcBundle, id], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(errFile) });
      expect(readFileSync(errFile, "utf8")).toBe("");
      expect(r.exitCode).toBe(0);

      // Both runtimes put the container at /tmp/.../x-* inside every hierarchy.
      const skiffPaths = procCgroupPaths(initPid(id, root, "skiff"));
      const runcPaths = procCgroupPaths(initPid(id, runcRoot, "runc"));
      expect(skiffPaths.every((p) => p === `/${rel}/x-skiff`)).toBe(true);
      expect(runcPaths.map((p) => p.replace("x-runc", "x-skiff"))).toEqual(skiffPaths);
      for (const m of mounts()) expect(existsSync(join(m, rel, "x-skiff"))).toBe(true);
      const pidsMount = mounts().find((m) => existsSync(join(m, rel, "x-skiff", "pids.max")))!;
      expect(readFileSync(join(pidsMount, rel, "x-skiff", "pids.max"), "utf8").trim()).toBe("17");
      // The host directory the path tried to reach holds what the attacker planted.
      expect(hashDir(join(target, "x-skiff"))).toEqual(before.skiff);
      expect(hashDir(join(target, "x-runc"))).toEqual(before.runc);
    } finally {
      spawnSync([RUNC, "--root", runcRoot, "delete", "-f", id], { stdout: "ignore", stderr: "ignore" });
    }
    expect(skiff(["delete", "-f", id], { root }).code).toBe(0);
    for (const m of mounts()) expect(existsSync(join(m, rel, "x-skiff"))).toBe(false);
    removeParents([join(rel, "x-runc"), rel, "tmp"]);
    expect(hashDir(join(target, "x-skiff"))).toEqual(before.skiff);
  });

  // Not run under runc: 1.1.5 joins the root cgroup here, fails on its
  // cpuset, and then tries to remove every cgroup below the root.
  for (const [path, cause] of [
    ["/", "names the root of the cgroup hierarchy"],
    ["/../..", "names the root of the cgroup hierarchy"],
    ["/a/../", "names the root of the cgroup hierarchy"],
    ["..", "names the cgroup skiff runs in"],
    ["x/../..", "names the cgroup skiff runs in"],
  ] as const) {
    test(`${JSON.stringify(path)} is refused with one line naming /linux/cgroupsPath`, () => {
      const id = uniqueId("sec-cg-root");
      const bundle = makeBundle({ args: SLEEP, mutate: (s) => (s.linux!.cgroupsPath = path) });
      for (const cmd of [["plan", "--id", id, bundle], ["create", "-b", bundle, id], ["run", "-d", "-b", bundle, id]]) {
        const r = skiff(cmd, { root });
        // Never `skiff delete` such a container: it would signal the whole cgroup.
        if (r.code === 0 && cmd[0] !== "plan") dropWithoutDelete(id);
        const line = expectOneLine(r);
        expect(line).toContain("/linux/cgroupsPath");
        expect(line).toContain(cause);
      }
      expect(leftovers(root, id, bundle)).toEqual([]);
    });
  }

  test("an existing cgroup that holds processes is used with runc's warning; the first container lives on", () => {
    const shared = `/skiff-sec-shared-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const a = uniqueId("sec-cg-a");
    const b = uniqueId("sec-cg-b");
    const bundle = makeBundle({ args: SLEEP, mutate: (s) => (s.linux!.cgroupsPath = shared) });
    made.push(a, b);
    expect(skiff(["create", "-b", bundle, a], { root }).code).toBe(0);
    const pidA = initPid(a, root, "skiff");
    const second = skiff(["create", "-b", bundle, b], { root });
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/^skiff: warning: container's cgroup is not empty: 1 process\(es\) found\n$/);
    expect(alive(pidA)).toBe(true);
    expect(JSON.parse(skiff(["state", a], { root }).stdout).status).toBe("created");
    expect(skiff(["delete", "-f", b], { root }).code).toBe(0);
    expect(skiff(["delete", "-f", a], { root }).code).toBe(0);
    for (const m of mounts()) expect(existsSync(join(m, shared))).toBe(false);
  });
});
