// CVE-2019-5736 class: root in a container overwrites the runtime's binary
// on the host through /proc/PID/exe.
//
// The attack, for real: a static attacker (exe_attacker.c, built here) runs
// as a container's process and watches /proc for a process that executes
// something outside the image; the image has /bin/evil, "#!/proc/self/exe",
// so running it re-executes whatever runs it (the runtime's helper) inside
// the container as the container's root. The attacker takes an O_PATH
// handle on that /proc/PID/exe and, once nothing runs the file any more,
// reopens it for writing and writes a marker. Two ways in: `exec ID
// /bin/evil a b` in the attacker's container, and `run` of a second
// container that joins the attacker's pid namespace.
//
// The runtimes run from throwaway copies of their binaries (skiff with
// SKIFF_INIT pointing into a temp dir; runc copied), never the installed
// ones, and each copy's sha256 must be what it was. runc 1.1.5 resists by
// executing from a sealed memfd copy of itself; skiff now does the same
// (src/helper/sealed_binary.ts). Against skiff executing skiff-init from the
// file on disk, both attacks overwrote the copy on the first try.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { createHash } from "node:crypto";
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/config/types";
import { REPO_ROOT, cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { SKIFF, SKIFF_INIT, leftovers, waitFor } from "../integration/skiff";
import { RUNC, needFile, needRoot, needRunc, skipWhy } from "../skip";

const ATTACKER_SOURCE = join(REPO_ROOT, "test/security/exe_attacker.c");
const MARKER = "SKIFF-EXE-OVERWRITTEN";
const LOG = "/tmp/attack.log";
/**
 * exec/run attempts until the attacker has caught the re-executed helper
 * (skiff: the first, as a rule). runc 1.1.5 executes from a read-only bind
 * of itself, detached, and the "#!/proc/self/exe" re-exec fails (ENOENT):
 * there is never anything to catch, so fewer tries.
 */
const ATTEMPTS = { skiff: 40, runc: 5 };

interface Runtime {
  name: "skiff" | "runc";
  /** the executable to call */
  bin: string;
  /** the file the attack is after: a throwaway copy, one per test */
  target: string;
  /** its sha256 before the attack */
  sha: string;
  root: string;
  env: Record<string, string>;
  ids: string[];
}

let work = "";
let attacker = "";
const runtimes: Runtime[] = [];

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** `bin --root ROOT args...`, output to files: a created container keeps our stdio. */
function call(rt: Runtime, args: string[]): { code: number; stderr: string } {
  const out = join(work, `out-${rt.name}`);
  const fds = [openSync("/dev/null", "r"), openSync(out, "w"), openSync(`${out}.err`, "w")];
  try {
    const r = spawnSync([rt.bin, "--root", rt.root, ...args], {
      stdio: fds as never,
      env: { ...process.env, ...rt.env },
      timeout: 60_000,
      killSignal: "SIGKILL",
    });
    return { code: r.exitCode ?? -1, stderr: readFileSync(`${out}.err`, "utf8") };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

function must(rt: Runtime, args: string[]): void {
  const r = call(rt, args);
  if (r.code !== 0) throw new Error(`${rt.name} ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
}

/** A busybox bundle whose rootfs also holds the attacker and /bin/evil. */
function attackBundle(args: string[], mutate?: (s: Spec) => void): string {
  const bundle = makeBundle({
    dir: tempDir("skiff-exe-bundle-"),
    args,
    mutate: (s) => {
      s.root!.readonly = false; // the attacker keeps its log in the rootfs
      mutate?.(s);
    },
  });
  copyFileSync(attacker, join(bundle, "rootfs/exe_attacker"));
  chmodSync(join(bundle, "rootfs/exe_attacker"), 0o755);
  writeFileSync(join(bundle, "rootfs/bin/evil"), "#!/proc/self/exe\n");
  chmodSync(join(bundle, "rootfs/bin/evil"), 0o755);
  return bundle;
}

/** Starts the attacker as a container's process; returns its bundle and init pid. */
function startAttacker(rt: Runtime): { bundle: string; id: string; pid: number; log: () => string } {
  const bundle = attackBundle(["/exe_attacker", "watch", LOG, MARKER]);
  const id = `exe-attack-${process.pid}-${rt.name}-${rt.ids.length}`;
  rt.ids.push(id);
  must(rt, ["create", "--bundle", bundle, id]);
  must(rt, ["start", id]);
  const logPath = join(bundle, "rootfs", LOG);
  const log = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  if (!waitFor(() => log().includes("watching"), 10_000)) throw new Error(`${rt.name}: the attacker did not start`);
  const out = join(work, `state-${rt.name}`);
  const fd = openSync(out, "w");
  try {
    spawnSync([rt.bin, "--root", rt.root, "state", id], { stdio: ["ignore", fd, "ignore"], env: { ...process.env, ...rt.env } });
  } finally {
    closeSync(fd);
  }
  const pid = (JSON.parse(readFileSync(out, "utf8")) as { pid: number }).pid;
  return { bundle, id, pid, log };
}

/** The attacker's verdict once it caught a process and finished with it. */
function outcome(log: string): string | undefined {
  return log.split("\n").find((l) => l.startsWith("wrote ") || l.startsWith("refused "));
}

/**
 * Repeats attempt() until the attacker reports an outcome or the attempts
 * run out; returns the attacker's log and the last attempt's stderr.
 */
function attack(log: () => string, attempts: number, attempt: () => string): { log: string; last: string } {
  let last = "";
  for (let i = 0; i < attempts && !outcome(log()); i++) {
    last = attempt();
    // The verdict comes once the re-executed helper has exited: soon.
    waitFor(() => !log().includes("caught") || !!outcome(log()), 5_000);
  }
  return { log: log(), last };
}

function expectUnchanged(rt: Runtime, log: string, last: string): void {
  console.log(`${rt.name}: attacker log:\n  ${log.trim().split("\n").join("\n  ")}\n${rt.name}: last attempt: ${last.trim() || "(no output)"}`);
  // Nothing was written, and the runtime's executable on disk is unchanged.
  expect(log).not.toContain("wrote ");
  expect(readFileSync(rt.target).includes(MARKER)).toBe(false);
  expect(sha256(rt.target)).toBe(rt.sha);
}

/**
 * skiff: the attack did get its hands on the re-executed skiff-init, and
 * what it held was the sealed memfd, not a file it could reach: else the
 * test would prove nothing (a lost race writes nothing either).
 */
function expectSealedMemfd(log: string): void {
  const caught = log.split("\n").filter((l) => l.startsWith("caught "));
  expect(caught.length).toBeGreaterThan(0);
  for (const l of caught) expect(l).toMatch(/^caught \d+ \/memfd:skiff-init /);
  expect(outcome(log)).toMatch(/^refused (open|write) \/memfd:skiff-init .*(EPERM|EACCES)$/);
}

const skip = skipWhy("CVE-2019-5736: overwrite the runtime's binary through /proc/self/exe", needRoot(), needFile(SKIFF, "run bash scripts/build.sh"));

beforeAll(() => {
  if (skip) return;
  work = tempDir("skiff-exe-attack-");
  attacker = join(work, "exe_attacker");
  const cc = spawnSync(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", attacker, ATTACKER_SOURCE], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`build exe_attacker: ${cc.stderr.toString()}`);

});

/** A fresh throwaway copy of the runtime's binary, its own --root, for one test. */
function newRuntime(name: Runtime["name"]): Runtime {
  const dir = join(work, `${name}-${runtimes.length}`);
  mkdirSync(dir);
  const target = join(dir, name === "skiff" ? "skiff-init" : "runc");
  copyFileSync(name === "skiff" ? SKIFF_INIT : RUNC, target);
  chmodSync(target, 0o755);
  const rt: Runtime = {
    name,
    bin: name === "skiff" ? SKIFF : target,
    target,
    sha: sha256(target),
    root: join(dir, "root"),
    env: name === "skiff" ? { SKIFF_INIT: target } : {},
    ids: [],
  };
  runtimes.push(rt);
  return rt;
}

afterAll(() => {
  for (const rt of runtimes) for (const id of rt.ids) call(rt, ["delete", "-f", id]);
  cleanupTempDirs();
});

const runcSkip = (what: string) => skipWhy(what, needRunc());

describe.skipIf(skip)("CVE-2019-5736: a container cannot overwrite the runtime's binary", () => {
  for (const name of ["skiff", "runc"] as const) {
    const skipThis = name === "runc" && runcSkip("runc beside skiff");

    test.skipIf(skipThis)(`${name}: exec of a "#!/proc/self/exe" script`, () => {
      const rt = newRuntime(name);
      const a = startAttacker(rt);
      // The re-executed helper finds arguments it does not take and exits non-zero.
      const got = attack(a.log, ATTEMPTS[name], () => call(rt, ["exec", a.id, "/bin/evil", "a", "b"]).stderr);
      call(rt, ["delete", "-f", a.id]);
      expect(leftovers(rt.root, a.id, a.bundle)).toEqual([]);
      expectUnchanged(rt, got.log, got.last);
      if (name === "skiff") expectSealedMemfd(got.log);
    });

    test.skipIf(skipThis)(`${name}: run of a container that joins the attacker's pid namespace`, () => {
      const rt = newRuntime(name);
      const a = startAttacker(rt);
      const joining = attackBundle(["/bin/evil", "a", "b"], (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.map((ns) => (ns.type === "pid" ? { type: "pid", path: `/proc/${a.pid}/ns/pid` } : ns));
      });
      let n = 0;
      const got = attack(a.log, ATTEMPTS[name], () => {
        const id = `exe-join-${process.pid}-${name}-${n++}`;
        rt.ids.push(id);
        const r = call(rt, ["run", "--bundle", joining, id]);
        call(rt, ["delete", "-f", id]);
        expect(leftovers(rt.root, id, joining)).toEqual([]);
        return r.stderr;
      });
      call(rt, ["delete", "-f", a.id]);
      expect(leftovers(rt.root, a.id, a.bundle)).toEqual([]);
      expectUnchanged(rt, got.log, got.last);
      if (name === "skiff") expectSealedMemfd(got.log);
    });
  }
});

describe.skipIf(skip)("the sealed copy", () => {
  test("a SKIFF_INIT that is not a program fails with one line naming it, and leaves nothing", () => {
    const rt = newRuntime("skiff");
    writeFileSync(rt.target, "not a program\n");
    const bundle = attackBundle(["/bin/true"]);
    const id = `exe-bad-init-${process.pid}`;
    rt.ids.push(id);
    const r = call(rt, ["run", "--bundle", bundle, id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`skiff: start skiff-init (a sealed copy of ${rt.target}): exec format error\n`);
    expect(leftovers(rt.root, id, bundle)).toEqual([]);
  });
});
