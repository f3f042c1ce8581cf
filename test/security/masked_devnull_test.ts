// CVE-2025-31133 class: a masked file gets /dev/null bound over it, so a
// /dev/null that is something else turns the mask into a copy of that thing.
// With no /dev tmpfs, /dev/null lives in the rootfs, where a hook or a
// process sharing the rootfs can swap it for a link to a sysctl: the mask of
// /proc/keys then became the sysctl, writable. skiff opens /dev/null once,
// uses it only if it is the null device (character 1:3), and binds from that
// fd; read-only paths come before masks. Each case runs the attack for real
// (a static attacker inside the container writes through /proc/keys) and
// checks the host afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import type { Spec } from "../../src/config/types";
import { forceDelete, leftovers, skiff, uniqueId } from "../integration/skiff";
import { needRoot, skipWhy } from "../skip";
import { buildAttacker, hostSnapshot, plantAttacker, throwawayInit } from "./attacker";

const SYSCTL = "/proc/sys/kernel/hostname";
const HOSTNAME = "masked-devnull";
const MASKED = "keys=chr:1:3 write=ok hostname=" + HOSTNAME;

/** No /dev tmpfs: /dev/null is a node skiff makes in the rootfs itself. */
function attackBundle(hook?: (rootfs: string) => string): string {
  const bundle = tempDir("skiff-devnull-bundle-");
  makeBundle({
    dir: bundle,
    args: ["/attacker", "keys"],
    mutate: (s: Spec) => {
      s.hostname = HOSTNAME; // with a uts namespace: the write could only reach the container's
      s.mounts = s.mounts!.filter((m) => m.destination !== "/dev");
      if (hook) s.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", hook(join(bundle, "rootfs"))] }] };
    },
  });
  plantAttacker(join(bundle, "rootfs"));
  return bundle;
}

describe.skipIf(skipWhy("masked /dev/null attacks", needRoot()))("a swapped /dev/null", () => {
  const root = tempDir("skiff-devnull-root-");
  let init = "";
  let before: Record<string, string> = {};
  beforeAll(() => {
    buildAttacker();
    init = throwawayInit();
    before = hostSnapshot(init);
  });
  afterAll(() => {
    // Whatever happened, the host's hostname, sysctls and skiff-init are as they were.
    expect(hostSnapshot(init)).toEqual(before);
    cleanupTempDirs();
  });

  function run(bundle: string) {
    const id = uniqueId("devnull");
    try {
      const r = skiff(["run", "-b", bundle, id], { root, env: { SKIFF_INIT: init } });
      // skiff cleaned up after itself, failed or not
      expect(leftovers(root, id, bundle)).toEqual([]);
      return r;
    } finally {
      forceDelete(root, id);
    }
  }

  test("control: an intact /dev/null masks /proc/keys and takes the write", () => {
    const r = run(attackBundle());
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(MASKED);
    expect(r.code).toBe(0);
  });

  // The hook runs after skiff made the devices, before pivot_root and the masks.
  test.each([
    ["a link to a sysctl", (rootfs: string) => `ln -sfn ${SYSCTL} ${rootfs}/dev/null`, "is a regular file, not the null device 1:3"],
    ["a regular file", (rootfs: string) => `rm -f ${rootfs}/dev/null && echo x > ${rootfs}/dev/null`, "is a regular file, not the null device 1:3"],
    ["another device (1:5)", (rootfs: string) => `rm -f ${rootfs}/dev/null && mknod -m 666 ${rootfs}/dev/null c 1 5`, "is character device 1:5, not the null device 1:3"],
    ["a directory", (rootfs: string) => `rm -f ${rootfs}/dev/null && mkdir ${rootfs}/dev/null`, "is a directory, not the null device 1:3"],
    ["gone", (rootfs: string) => `rm -f ${rootfs}/dev/null`, "open /dev/null"],
  ])("a createRuntime hook that makes /dev/null %s: run fails with one line, nothing masked by it", (_what, hook, cause) => {
    const r = run(attackBundle(hook));
    expect(r.stdout).toBe(""); // the attacker never ran
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^skiff: mask \/proc\/\w+: /);
    expect(lines[0]).toContain(cause);
    expect(lines[0]).toContain("(from /linux/maskedPaths/");
    expect(r.code).toBe(1);
  });

  test("a process swapping /dev/null for a link to a sysctl while run loops never gets a writable mask (100 runs)", async () => {
    const bundle = attackBundle();
    // Started in rootfs/dev, so that its command line does not name the
    // bundle (leftovers() would take it for the container's).
    const swapper = spawn([buildAttacker(), "swap", ".", SYSCTL], { cwd: join(bundle, "rootfs/dev"), stdout: "ignore", stderr: "ignore" });
    const outcomes = new Map<string, number>();
    try {
      for (let i = 0; i < 100; i++) {
        const r = run(bundle);
        // Either the container saw a real mask, or run refused in one line.
        const seen = r.code === 0 ? r.stdout.trim() : `exit ${r.code}: ${r.stderr.trimEnd()}`;
        outcomes.set(seen, (outcomes.get(seen) ?? 0) + 1);
        expect(r.stdout).not.toContain("skiff-pwned");
        if (r.code === 0) {
          expect(r.stdout.trim()).toBe(MASKED);
        } else {
          expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
          expect(r.code).toBe(1);
        }
      }
    } finally {
      swapper.kill("SIGKILL");
      await swapper.exited;
    }
    console.log("outcomes of 100 runs against the swapper:", Object.fromEntries(outcomes));
  }, 240_000);

  // skiff makes /dev/null (mknod) before pivot_root, when an absolute link
  // resolves on the host: a chmod or chown by name after mknod would land on
  // the link's target. skiff sets the mode at mknod and owns the node by fd.
  test("a process swapping the new /dev/null for a link to a host file never changes that file (60 runs)", async () => {
    const bundle = attackBundle();
    const victim = join(tempDir("skiff-devnull-victim-"), "secret");
    writeFileSync(victim, "host secret\n", { mode: 0o600 });
    chmodSync(victim, 0o600);
    const was = statSync(victim);
    const swapper = spawn([buildAttacker(), "swap", ".", victim], { cwd: join(bundle, "rootfs/dev"), stdout: "ignore", stderr: "ignore" });
    try {
      for (let i = 0; i < 60; i++) {
        const r = run(bundle);
        if (r.code !== 0) expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
        const now = statSync(victim);
        expect({ run: i, mode: now.mode, uid: now.uid, gid: now.gid }).toEqual({ run: i, mode: was.mode, uid: was.uid, gid: was.gid });
      }
    } finally {
      swapper.kill("SIGKILL");
      await swapper.exited;
    }
    expect(readFileSync(victim, "utf8")).toBe("host secret\n");
  }, 240_000);
});
