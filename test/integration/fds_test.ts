// Which fds reach the container: none of skiff's own, fds 3..3+N-1 with
// --preserve-fds N, and LISTEN_FDS for socket activation when LISTEN_PID is
// skiff's (as runc does).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, skipWhy } from "../skip";
import { SKIFF, forceDelete, uniqueId } from "./skiff";

describe.skipIf(skipWhy("test/integration/fds_test.ts", needRoot()))("fds", () => {
  let root = "";
  beforeAll(() => {
    root = tempDir("skiff-fds-root-");
  });
  const made: string[] = [];
  afterAll(() => {
    for (const id of made) forceDelete(root, id);
    cleanupTempDirs();
  });

  /** `skiff run` with extra fds at 3, 4, ...; returns the probe's fd list. */
  function runWithFds(extra: number[], opts: { args: string[]; env?: Record<string, string> }): { code: number; fds: { fd: number; target: string }[]; stderr: string } {
    const id = uniqueId("fds");
    made.push(id);
    const bundle = makeBundle({ args: ["/probe", "fds"] });
    const out = join(tempDir("skiff-fds-out-"), "out");
    const outFd = openSync(out, "w");
    const r = spawnSync([SKIFF, "--root", root, "run", ...opts.args, "-b", bundle, id], {
      stdio: ["ignore", outFd, "pipe", ...extra] as never,
      env: { ...process.env, ...opts.env },
    });
    closeSync(outFd);
    const text = readFileSync(out, "utf8").trim();
    return { code: r.exitCode ?? -1, fds: text ? JSON.parse(text).fds : [], stderr: r.stderr.toString() };
  }

  function tempFile(name: string): number {
    const path = join(tempDir("skiff-fds-file-"), name);
    writeFileSync(path, "x");
    return openSync(path, "r");
  }

  test("without --preserve-fds only stdio reaches the container, even if skiff had more open", () => {
    const fd = tempFile("not-passed");
    const r = runWithFds([fd], { args: [] });
    expect(r.stderr).toBe("");
    expect(r.fds.map((f) => f.fd)).toEqual([0, 1, 2]);
    closeSync(fd);
  });

  test("--preserve-fds 2 passes fds 3 and 4, and nothing beyond", () => {
    const a = tempFile("passed-a");
    const b = tempFile("passed-b");
    const c = tempFile("not-passed-c");
    const r = runWithFds([a, b, c], { args: ["--preserve-fds", "2"] });
    expect(r.stderr).toBe("");
    expect(r.fds.map((f) => f.fd)).toEqual([0, 1, 2, 3, 4]);
    expect(r.fds[3]!.target).toEndWith("/passed-a");
    expect(r.fds[4]!.target).toEndWith("/passed-b");
    for (const fd of [a, b, c]) closeSync(fd);
  });

  test("LISTEN_FDS is honoured only when LISTEN_PID names skiff", () => {
    const a = tempFile("listen-a");
    // LISTEN_PID cannot name the skiff process before it exists: run it through
    // a shell that sets LISTEN_PID to its own pid and then execs skiff.
    const id = uniqueId("listen");
    made.push(id);
    const bundle = makeBundle({ args: ["/bin/sh", "-c", "/probe fds; /probe env"] });
    const r = spawnSync(["/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --root "$1" run -b "$2" "$3"`, SKIFF, root, bundle, id], {
      stdio: ["ignore", "pipe", "pipe", a] as never,
    });
    expect(r.stderr.toString()).toBe("");
    const [fdsLine, envLine] = r.stdout.toString().trim().split("\n");
    const fds = JSON.parse(fdsLine!).fds as { fd: number; target: string }[];
    // the shell's own fd list, then the probe's: fd 3 stays open for both
    expect(fds.map((f) => f.fd)).toEqual([0, 1, 2, 3]);
    expect(fds[3]!.target).toEndWith("/listen-a");
    // and the process is told, as runc tells it: the fds are for pid 1
    expect(JSON.parse(envLine!).env).toEqual(expect.arrayContaining(["LISTEN_FDS=1", "LISTEN_PID=1"]));
    // Someone else's LISTEN_PID: not for us, nothing passed.
    const other = runWithFds([a], { args: [], env: { LISTEN_FDS: "1", LISTEN_PID: "1" } });
    expect(other.fds.map((f) => f.fd)).toEqual([0, 1, 2]);
    closeSync(a);
  });
});
