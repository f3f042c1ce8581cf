// process.oomScoreAdj in a container with a new user namespace, under
// Debian's runc and skiff: the same bundle (busybox rootfs), the same
// command, and the same exit status and printed value.
//
// runc writes oom_score_adj in its first init stage, in the host's
// namespaces, before it makes anything of the container; the container
// inherits it across clone. From inside a new user namespace the write is
// refused (the non-dumpable process's /proc files belong to the host's root,
// and lowering takes CAP_SYS_RESOURCE in the host's namespace), so a runtime
// that writes it there fails even for 0 or 500.
//
// Lowering below the lowest value the caller may set (its oom_score_adj_min,
// usually 0) needs CAP_SYS_RESOURCE: where the test process has it, -500 must
// succeed under both; where it lacks it, both must fail alike. Lowering that
// needs no capability is tested by starting each runtime at 800.
//
// Needs root, /usr/sbin/runc and build/skiff (sh scripts/build.sh).
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/config/types";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { defaultConfig } from "../../src/config/default_config";
import { needFile, needRoot, needRunc, skipWhy } from "../skip";
import { RUNC, RUNTIMES, SKIFF, runCli, type CliResult, type Runtime } from "./compare";

const T = 60_000;
const skipAll = skipWhy("oom_score_adj against runc", needRoot(), needRunc(), needFile(SKIFF, "run sh scripts/build.sh"));

type Result = CliResult;

const roots: Partial<Record<Runtime, string>> = {};
const made: { runtime: Runtime; id: string }[] = [];
let counter = 0;

function rootOf(rt: Runtime): string {
  return (roots[rt] ??= tempDir(`skiff-oom-${rt}-root-`));
}

/**
 * `<runtime> --root ROOT args...`; startAdj: the runtime starts with this
 * oom_score_adj (set by a shell that then execs it).
 */
function run(rt: Runtime, args: string[], opts: { startAdj?: number; root?: string; asUser?: number } = {}): Result {
  let argv = [rt === "runc" ? RUNC : SKIFF, "--root", opts.root ?? rootOf(rt), ...args];
  if (opts.startAdj !== undefined) {
    argv = ["/bin/sh", "-c", `echo ${opts.startAdj} > /proc/self/oom_score_adj && exec "$@"`, "sh", ...argv];
  }
  if (opts.asUser !== undefined) {
    const u = String(opts.asUser);
    argv = ["setpriv", "--reuid", u, "--regid", u, "--clear-groups", ...argv];
  }
  return runCli(argv);
}

function newId(rt: Runtime, label: string): string {
  const id = `oom-${process.pid}-${++counter}-${label}-${rt}`;
  made.push({ runtime: rt, id });
  return id;
}

/** A new user namespace, container root = host uid 100000. */
function userns(adj: number | undefined): (s: Spec) => void {
  return (s) => {
    if (adj !== undefined) s.process!.oomScoreAdj = adj;
    s.linux!.namespaces!.push({ type: "user" });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };
}

/** A bundle of its own per runtime: the container's root (host uid 100000) must pass the bundle dir. */
function bundleFor(args: string[], mutate: (s: Spec) => void): string {
  const b = realpathSync(makeBundle({ args, mutate }));
  chmodSync(b, 0o755);
  return b;
}

const CAT = ["/bin/cat", "/proc/self/oom_score_adj"];

/** What `spec --rootless` writes for uid (and gid) id. */
function rootlessConfig(id: number): Spec {
  return { ...defaultConfig({ rootless: true, uid: id, gid: id }), ociVersion: "1.0.2-dev" };
}

/** `run` of a container that prints its oom_score_adj, under both runtimes. */
function runBoth(label: string, adj: number, opts: { startAdj?: number } = {}): Record<Runtime, Result> {
  const out = {} as Record<Runtime, Result>;
  for (const rt of RUNTIMES) out[rt] = run(rt, ["run", "-b", bundleFor(CAT, userns(adj)), newId(rt, label)], opts);
  return out;
}

/** Exit status and output, the part both runtimes must agree on (error texts differ in form). */
function outcome(r: Result): { ok: boolean; stdout: string } {
  return { ok: r.code === 0, stdout: r.stdout.trim() };
}

/** Whether this process holds CAP_SYS_RESOURCE (bit 24) in its effective set. */
function hasSysResource(): boolean {
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0";
  return ((BigInt(`0x${eff}`) >> 24n) & 1n) === 1n;
}

afterEach(() => {
  for (const { runtime, id } of made.splice(0)) run(runtime, ["delete", "-f", id]);
});
afterAll(() => {
  cleanupTempDirs();
});

describe.skipIf(skipAll)("process.oomScoreAdj with a new user namespace, runc vs skiff", () => {
  for (const adj of [500, 0]) {
    test(
      `run with oomScoreAdj ${adj}: set, as by runc`,
      () => {
        const r = runBoth(`run${adj}`, adj);
        expect(outcome(r.skiff)).toEqual(outcome(r.runc));
        expect({ code: r.skiff.code, stdout: r.skiff.stdout, stderr: r.skiff.stderr }).toEqual({ code: 0, stdout: `${adj}\n`, stderr: "" });
      },
      T,
    );
  }

  test(
    "run with oomScoreAdj 300 from a runtime at 800: lowering above the minimum needs no capability",
    () => {
      const r = runBoth("lower", 300, { startAdj: 800 });
      expect(outcome(r.skiff)).toEqual(outcome(r.runc));
      expect({ code: r.skiff.code, stdout: r.skiff.stdout }).toEqual({ code: 0, stdout: "300\n" });
    },
    T,
  );

  test(
    "run with oomScoreAdj -500: the same success (with CAP_SYS_RESOURCE) or the same refusal (without)",
    () => {
      const r = runBoth("neg", -500);
      expect(outcome(r.skiff)).toEqual(outcome(r.runc));
      if (hasSysResource()) expect(outcome(r.skiff)).toEqual({ ok: true, stdout: "-500" });
      // Refused here when the caller's minimum is above -500: skiff names the field.
      if (!outcome(r.skiff).ok) expect(r.skiff.stderr).toContain("(from /process/oomScoreAdj)");
    },
    T,
  );

  test(
    "an unprivileged user (rootless) runs with oomScoreAdj 500: set, as by runc",
    () => {
      const UID = 64123; // no such user: setpriv takes numbers
      const out = {} as Record<Runtime, Result>;
      for (const rt of RUNTIMES) {
        const root = tempDir(`skiff-oom-rootless-${rt}-`);
        chownSync(root, UID, UID);
        // skiff's `spec --rootless` for that user, the same config for both runtimes
        const bundle = bundleFor(CAT, (s) => {
          const r = rootlessConfig(UID);
          r.process!.args = CAT;
          r.process!.terminal = false;
          r.process!.oomScoreAdj = 500;
          r.root = s.root;
          Object.assign(s, r);
        });
        const id = `oom-${process.pid}-${++counter}-rootless-${rt}`;
        out[rt] = run(rt, ["run", "-b", bundle, id], { root, asUser: UID });
        run(rt, ["delete", "-f", id], { root, asUser: UID });
      }
      expect(outcome(out.skiff)).toEqual(outcome(out.runc));
      expect({ code: out.skiff.code, stdout: out.skiff.stdout, stderr: out.skiff.stderr }).toEqual({ code: 0, stdout: "500\n", stderr: "" });
    },
    T,
  );

  test(
    "exec into it: the container's oomScoreAdj, with and without a --process file; the file's own value is kept (runc ignores it)",
    () => {
      const seen: Record<Runtime, Record<string, { ok: boolean; stdout: string }>> = { runc: {}, skiff: {} };
      for (const rt of RUNTIMES) {
        const bundle = bundleFor(["/bin/sleep", "120"], userns(500));
        const id = newId(rt, "exec");
        const started = run(rt, ["run", "-d", "-b", bundle, id]);
        expect({ rt, code: started.code, stderr: started.stderr }).toEqual({ rt, code: 0, stderr: "" });
        const proc = (adj?: number) => {
          const file = join(bundle, `process-${adj ?? "none"}.json`);
          const p: Record<string, unknown> = { args: CAT, cwd: "/", env: ["PATH=/bin"], user: { uid: 0, gid: 0 } };
          if (adj !== undefined) p.oomScoreAdj = adj;
          writeFileSync(file, JSON.stringify(p));
          return file;
        };
        seen[rt].args = outcome(run(rt, ["exec", id, ...CAT]));
        seen[rt].file = outcome(run(rt, ["exec", "-p", proc(), id]));
        seen[rt].fileAdj = outcome(run(rt, ["exec", "-p", proc(700), id]));
      }
      // Same as runc, and right: the container's value.
      expect({ args: seen.skiff.args, file: seen.skiff.file }).toEqual({ args: seen.runc.args, file: seen.runc.file });
      expect(seen.skiff.args).toEqual({ ok: true, stdout: "500" });
      expect(seen.skiff.file).toEqual({ ok: true, stdout: "500" });
      // Deliberate: runc 1.1.5 sends only the container's value to its init
      // stage and drops the file's; skiff applies what the file sets.
      expect(seen.runc.fileAdj).toEqual({ ok: true, stdout: "500" });
      expect(seen.skiff.fileAdj).toEqual({ ok: true, stdout: "700" });
    },
    T,
  );
});
