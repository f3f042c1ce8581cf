// checkpoint and restore on this host, where Debian's criu is installed but
// may not work on the running kernel (3.17 on 6.18: "vdso: Unexpected rt
// vDSO area bounds"). What criu itself does on this kernel is learned first
// by dumping a throwaway process with criu's own command line; skiff must
// then fail with criu's first error from its log as the one line, exit 1,
// leave the container as it was and leave nothing else behind. Where criu
// works, the whole cycle is tested in test/vm/criu_test.ts (and these
// failure cases are skipped, saying so). A missing criu and bad flags are
// tested everywhere.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { skipWhy, needRoot } from "../skip";
import { forceDelete, leftovers, skiff, uniqueId } from "./skiff";

const CRIU = "/usr/sbin/criu";
const LOOP = ["sh", "-c", "i=0; while :; do i=$((i+1)); sleep 0.1; done"];

/** Debian's criu, installed as the project's set-up does; a failed install fails the test. */
function ensureCriu(): void {
  if (existsSync(CRIU)) return;
  const r = spawnSync(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "criu"], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.exitCode !== 0 || !existsSync(CRIU)) throw new Error(`install criu: apt-get exited ${r.exitCode}: ${r.stderr.toString().slice(-1000)}`);
}

/** criu's own verdict on this kernel: its first error dumping a sleep, or undefined when the dump works. */
function criuOwnError(): string | undefined {
  const dir = tempDir("skiff-criu-probe-");
  const sleeper = Bun.spawn(["setsid", "sleep", "100"], { stdio: ["ignore", "ignore", "ignore"] });
  try {
    Bun.sleepSync(100);
    const r = spawnSync([CRIU, "dump", "-t", String(sleeper.pid), "-D", dir, "-o", "dump.log", "-v4", "--shell-job", "--leave-running"], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode === 0) return undefined;
    const log = readFileSync(join(dir, "dump.log"), "utf8");
    return /Error \([^)]*\): (.*)$/m.exec(log)?.[1]?.trim() ?? `criu dump exited ${r.exitCode}`;
  } finally {
    sleeper.kill("SIGKILL");
  }
}

const rootSkip = skipWhy("checkpoint/restore on this host", needRoot());
if (!rootSkip) ensureCriu();
const criuError = rootSkip ? undefined : criuOwnError();
const criuWorks = !rootSkip && skipWhy("checkpoint/restore where criu fails", criuError ? null : "criu dumps a process on this kernel (test/vm/criu_test.ts covers the whole cycle)");
let root = "";
const made: string[] = [];

beforeAll(() => {
  if (!rootSkip) root = tempDir("skiff-criu-root-");
});
afterEach(() => {
  for (const id of made.splice(0)) forceDelete(root, id);
});
afterAll(() => cleanupTempDirs());

function running(id: string, bundle: string): void {
  made.push(id);
  const r = skiff(["run", "-d", "-b", bundle, id], { root });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

function status(id: string): string {
  const r = skiff(["state", id], { root });
  return r.code === 0 ? JSON.parse(r.stdout).status : `gone: ${r.stderr.trim()}`;
}

/** The one stderr line of a failed skiff. */
function oneLine(r: { code: number; stderr: string }): string {
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split("\n");
  expect(lines.length).toBe(1);
  return lines[0]!;
}

describe.skipIf(rootSkip || criuWorks)("checkpoint and restore where criu fails", () => {
  test("checkpoint: criu's own reason, the container keeps running, no image directory", () => {
    const bundle = makeBundle({ args: LOOP, busybox: true });
    const id = uniqueId("ck");
    running(id, bundle);
    const images = join(tempDir("skiff-criu-img-"), "images");
    const line = oneLine(skiff(["checkpoint", "--image-path", images, id], { root }));
    expect(line).toBe(`skiff: checkpoint container ${id}: criu: ${criuError} (log: ${join(root, id, "criu.work/dump.log")})`);
    expect(existsSync(join(root, id, "criu.work/dump.log"))).toBe(true);
    expect(existsSync(images)).toBe(false);
    expect(status(id)).toBe("running");
    expect(skiff(["delete", "-f", id], { root }).code).toBe(0);
    expect(leftovers(root, id, bundle)).toEqual([]);
  });

  test("restore: criu's own reason, and no state, cgroup, mount or process is left", () => {
    const bundle = makeBundle({
      args: LOOP,
      busybox: true,
      mutate: (s) => s.mounts!.push({ destination: "/data", type: "bind", source: tempDir("skiff-criu-data-"), options: ["rbind"] }),
    });
    // criu reads the images only after it has looked at the kernel
    const images = tempDir("skiff-criu-img-");
    writeFileSync(join(images, "inventory.img"), "");
    const id = uniqueId("rs");
    made.push(id);
    const line = oneLine(skiff(["restore", "-d", "-b", bundle, "--image-path", images, id], { root }));
    expect(line).toBe(`skiff: restore container ${id}: criu: ${criuError} (log: ${images}/restore.log)`);
    expect(leftovers(root, id, bundle)).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(join(root, id));
    // a --work-path outlives the failure and is named
    const work = join(tempDir("skiff-criu-work-"), "w");
    const again = oneLine(skiff(["restore", "-d", "-b", bundle, "--image-path", images, "--work-path", work, id], { root }));
    expect(again).toBe(`skiff: restore container ${id}: criu: ${criuError} (log: ${work}/restore.log)`);
    expect(leftovers(root, id, bundle)).toEqual([]);
  });
});

describe.skipIf(rootSkip)("checkpoint and restore: missing criu, bad flags", () => {
  test("a missing criu (--criu) is one line; the container is untouched", () => {
    const bundle = makeBundle({ args: LOOP, busybox: true });
    const id = uniqueId("nocriu");
    running(id, bundle);
    const images = join(tempDir("skiff-criu-img-"), "images");
    const line = oneLine(skiff(["checkpoint", "--image-path", images, id], { root, globals: ["--criu", "/nonexistent/criu"] }));
    expect(line).toBe(`skiff: checkpoint container ${id}: criu /nonexistent/criu: not found (install criu, or name it with --criu)`);
    expect(existsSync(images)).toBe(false);
    expect(status(id)).toBe("running");

    mkdirSync(join(images), { recursive: true });
    writeFileSync(join(images, "inventory.img"), "");
    const rid = uniqueId("nocriu-rs");
    made.push(rid);
    const rline = oneLine(skiff(["restore", "-d", "-b", bundle, "--image-path", images, rid], { root, globals: ["--criu", "/nonexistent/criu"] }));
    expect(rline).toBe(`skiff: restore container ${rid}: criu /nonexistent/criu: not found (install criu, or name it with --criu)`);
    expect(leftovers(root, rid, bundle)).toEqual([]);
  });

  test("features says where criu is, and false without one", () => {
    const found = JSON.parse(skiff(["features"], { root }).stdout).annotations;
    expect(found["run.skiff.checkpoint.enabled"]).toBe("true");
    expect(found["run.skiff.checkpoint.criu"]).toBe(CRIU);
    const missing = JSON.parse(skiff(["features"], { root, globals: ["--criu", "/nonexistent/criu"] }).stdout).annotations;
    expect(missing["run.skiff.checkpoint.enabled"]).toBe("false");
  });

  test("bad flags name the flag; nothing is made", () => {
    const bundle = makeBundle({ args: LOOP, busybox: true });
    const id = uniqueId("flags");
    running(id, bundle);
    const images = tempDir("skiff-criu-img-");
    const cases: [string[], string][] = [
      [["--manage-cgroups-mode", "bogus"], `skiff: invalid --manage-cgroups-mode "bogus": use soft, full, strict or ignore`],
      [["--parent-path", "/abs"], `skiff: invalid --parent-path "/abs": must be relative to --image-path`],
      [["--parent-path", "nope"], `skiff: invalid --parent-path: stat ${images}/nope: no such file or directory`],
      [["--empty-ns", "ipc"], `skiff: invalid --empty-ns "ipc": only network is supported`],
      [["--page-server", "nohost"], `skiff: invalid --page-server "nohost": want IP:PORT`],
      [["--status-fd", "9"], "skiff: --status-fd only makes sense with --lazy-pages"],
    ];
    for (const [flags, want] of cases) expect(oneLine(skiff(["checkpoint", "--image-path", images, ...flags, id], { root }))).toBe(want);
    expect(status(id)).toBe("running");
    expect(oneLine(skiff(["checkpoint", "--image-path", images, "no-such-container"], { root }))).toBe(`skiff: container "no-such-container" does not exist`);
    expect(oneLine(skiff(["restore", "-d", "-b", bundle, "--image-path", join(images, "none"), "r-" + id], { root }))).toBe(
      `skiff: restore container r-${id}: no checkpoint in ${images}/none (from --image-path): inventory.img is missing`,
    );
    writeFileSync(join(images, "inventory.img"), "");
    expect(oneLine(skiff(["restore", "-d", "-b", bundle, "--image-path", images, id], { root }))).toContain(`container with id exists: ${id}`);
    expect(leftovers(root, "r-" + id, bundle)).toEqual([]);
  });

  test("a terminal restore needs --detach and --console-socket, as at create", () => {
    const bundle = makeBundle({ args: LOOP, busybox: true, mutate: (s) => void (s.process!.terminal = true) });
    const images = tempDir("skiff-criu-img-");
    writeFileSync(join(images, "inventory.img"), "");
    const id = uniqueId("ttyrs");
    made.push(id);
    expect(oneLine(skiff(["restore", "-d", "-b", bundle, "--image-path", images, id], { root }))).toBe(
      "skiff: cannot allocate tty if skiff will detach without setting console socket",
    );
    expect(oneLine(skiff(["restore", "-b", bundle, "--image-path", images, id], { root }))).toBe(
      `skiff: restore container ${id}: a terminal needs --detach and --console-socket (the restored pty master goes there)`,
    );
    expect(leftovers(root, id, bundle)).toEqual([]);
  });
});
