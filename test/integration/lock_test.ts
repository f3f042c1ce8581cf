// The per-container lock: a command that changes a container waits for one
// already changing it. Here `delete -f` arrives while `create` is halfway
// (held in a createRuntime hook) and must not act on the half-made container.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync, type Subprocess } from "bun";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, skipWhy } from "../skip";
import { SKIFF, forceDelete, leftovers, skiff, uniqueId, waitFor } from "./skiff";

describe.skipIf(skipWhy("test/integration/lock_test.ts", needRoot()))("lock", () => {
  let root = "";
  beforeAll(() => {
    root = tempDir("skiff-lock-root-");
  });
  const made: string[] = [];
  afterAll(() => {
    for (const id of made) forceDelete(root, id);
    cleanupTempDirs();
  });

  /** True when /proc/locks shows pid waiting (->) for an flock on the file with inode ino. */
  function waitingForFlock(pid: number, ino: number): boolean {
    const re = new RegExp(`^\\d+: -> FLOCK\\s+ADVISORY\\s+WRITE\\s+${pid}\\s+[0-9a-f]+:[0-9a-f]+:${ino}\\s`, "m");
    return re.test(readFileSync("/proc/locks", "utf8"));
  }

  test("delete -f during create waits for create, then removes the container", async () => {
    const id = uniqueId("lock");
    made.push(id);
    // The createRuntime hook holds create halfway (with the lock held) until
    // the test opens the fifo: no sleep decides whether the two overlap.
    const dir = tempDir("skiff-lock-io-");
    const started = join(dir, "hook-started");
    const release = join(dir, "release");
    expect(spawnSync(["mkfifo", release]).exitCode).toBe(0);
    const bundle = makeBundle({
      args: ["/probe", "sleep", "30"],
      mutate: (s) => (s.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", `: > ${started}; read x < ${release}`] }] }),
    });
    // stderr to files: the container keeps create's stderr open, a pipe would never end.
    const createErr = join(dir, "create.stderr");
    const deleteErr = join(dir, "delete.stderr");
    const create = spawn([SKIFF, "--root", root, "create", "-b", bundle, id], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(createErr) });
    let del: Subprocess | undefined;
    try {
      // create is in its hook, so it holds the container's lock.
      expect(waitFor(() => existsSync(started), 20_000)).toBe(true);
      const lockIno = statSync(join(root, id, ".lock")).ino;
      del = spawn([SKIFF, "--root", root, "delete", "-f", id], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(deleteErr) });
      // The overlap, seen by the kernel: delete waits for the flock create holds.
      expect(waitFor(() => waitingForFlock(del!.pid, lockIno), 20_000)).toBe(true);
      expect(del.exitCode).toBe(null);
    } finally {
      writeFileSync(release, "go\n"); // lets the hook, and so create, finish
    }
    expect(await create.exited).toBe(0);
    expect(readFileSync(createErr, "utf8")).toBe("");
    expect(await del.exited).toBe(0);
    expect(readFileSync(deleteErr, "utf8")).toBe("");
    // delete ran after create had finished, so it removed the whole container.
    expect(skiff(["state", id], { root }).stderr).toContain("does not exist");
    expect(leftovers(root, id, bundle)).toEqual([]);
  }, 60_000);
});
