// Process attributes that are one syscall each, checked from inside the
// container through /proc/1: personality, io priority, scheduler, cpu
// affinity, oom score; and joining namespaces of the wrong kind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, skipWhy } from "../skip";
import type { Spec } from "../../src/config/types";
import { forceDelete, leftovers, skiff, uniqueId } from "./skiff";

describe.skipIf(skipWhy("test/integration/attributes_test.ts", needRoot()))("attributes", () => {
  let root = "";
  beforeAll(() => {
    root = tempDir("skiff-attr-root-");
  });
  afterAll(() => cleanupTempDirs());

  function runIn(script: string, mutate: (s: Spec) => void): { code: number; stdout: string; stderr: string; id: string; bundle: string } {
    const id = uniqueId("attr");
    const bundle = makeBundle({ args: ["/bin/sh", "-c", script], mutate });
    const r = skiff(["run", "-b", bundle, id], { root });
    forceDelete(root, id);
    return { ...r, id, bundle };
  }

  /** Field n (1-based, as in proc(5)) of /proc/1/stat, read in the container. */
  const STAT_FIELD = (n: number) => `s=$(cat /proc/1/stat); s=\${s##*) }; set -- $s; shift ${n - 3}; echo $1`;

  test("personality LINUX32 is in effect", () => {
    const r = runIn("/probe personality", (s) => (s.linux!.personality = { domain: "LINUX32" }));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).personality).toBe(0x8);
  });

  test("ioPriority sets the class and level", () => {
    const r = runIn("ionice -p 1", (s) => (s.process!.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 6 }));
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/best.effort: prio 6/);
  });

  test("scheduler policy SCHED_BATCH with nice 5", () => {
    const r = runIn(`${STAT_FIELD(41)}; ${STAT_FIELD(19)}`, (s) => (s.process!.scheduler = { policy: "SCHED_BATCH", nice: 5 }));
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["3", "5"]);
  });

  test("execCPUAffinity.final pins the process", () => {
    const r = runIn("grep Cpus_allowed_list /proc/1/status", (s) => (s.process!.execCPUAffinity = { final: "0" }));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Cpus_allowed_list:\s+0\n/);
  });

  test("oomScoreAdj is applied", () => {
    const r = runIn("cat /proc/1/oom_score_adj", (s) => (s.process!.oomScoreAdj = 321));
    expect(r.stdout.trim()).toBe("321");
  });

  test("joining a namespace file of the wrong kind names both kinds and leaves nothing", () => {
    const r = runIn("true", (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path: "/proc/self/ns/uts" } : n));
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("it is a uts namespace, not a network one");
    expect(r.stderr).toMatch(/from \/linux\/namespaces\/\d/);
    expect(leftovers(root, r.id, r.bundle)).toEqual([]);
  });

  test("joining a file that is no namespace says so", () => {
    const r = runIn("true", (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "ipc" ? { type: "ipc", path: "/etc/hostname" } : n));
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("/etc/hostname: not a namespace file");
  });
});
