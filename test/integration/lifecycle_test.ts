// The container lifecycle through skiff's CLI, as root on this host:
// create, state, start, kill, delete, run, list, and who the init's parent is.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir, REPO_ROOT } from "../bundle";
import { needRoot, skipWhy } from "../skip";
import type { Spec } from "../../src/config/types";
import {
  SKIFF,
  SKIFF_INIT_EXE,
  alive,
  cgroupCandidates,
  forceDelete,
  leftovers,
  procExe,
  procStatus,
  skiff,
  uniqueId,
  waitFor,
} from "./skiff";

describe.skipIf(skipWhy("test/integration/lifecycle_test.ts", needRoot()))("lifecycle", () => {
  const BUN = join(REPO_ROOT, "node_modules/.bin/bun");
  let root = "";
  const made: { id: string; bundle: string }[] = [];

  beforeAll(() => {
    root = tempDir("skiff-lc-root-");
  });

  afterEach(() => {
    for (const { id } of made.splice(0)) forceDelete(root, id);
  });

  afterAll(() => {
    cleanupTempDirs();
  });

  function bundleFor(args: string[], mutate?: (s: Spec) => void): string {
    return makeBundle({ args, mutate });
  }

  function newContainer(prefix: string, args: string[], mutate?: (s: Spec) => void): { id: string; bundle: string } {
    const c = { id: uniqueId(prefix), bundle: bundleFor(args, mutate) };
    made.push(c);
    return c;
  }

  function create(c: { id: string; bundle: string }, extra: string[] = []): void {
    const r = skiff(["create", "-b", c.bundle, ...extra, c.id], { root });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  }

  function state(id: string, r = root): Record<string, unknown> {
    const res = skiff(["state", id], { root: r });
    if (res.code !== 0) throw new Error(`state ${id}: exit ${res.code}: ${res.stderr}`);
    return JSON.parse(res.stdout);
  }

  function statusOf(id: string): string {
    return state(id).status as string;
  }

  function waitStatus(id: string, want: string, ms = 5000): string {
    let last = "";
    waitFor(() => (last = statusOf(id)) === want, ms);
    return last;
  }

  const SLEEP = ["/probe", "sleep", "30"];

  /** The process has a handler for signal sig (SigCgt in /proc/PID/status). */
  function catches(pid: number, sig: number): boolean {
    const mask = BigInt("0x" + (procStatus(pid)?.get("SigCgt") ?? "0"));
    return ((mask >> BigInt(sig - 1)) & 1n) === 1n;
  }
  // A pid-namespace init only gets the signals it handles: this one handles TERM and USR1.
  const TRAPPING = ["/bin/sh", "-c", "trap 'exit 3' TERM; trap 'exit 4' USR1; sleep 30 & wait"];

  describe("create and state", () => {
    test("create gives a created container with the OCI state fields and a live pid", () => {
      const c = newContainer("lc-create", SLEEP);
      const pidFile = join(tempDir("skiff-lc-pid-"), "pid");
      create(c, ["--pid-file", pidFile]);
      const s = state(c.id);
      expect(s.status).toBe("created");
      expect(s.ociVersion).toBe("1.3.0");
      expect(s.id).toBe(c.id);
      expect(s.bundle).toBe(c.bundle);
      expect(s.rootfs).toBe(join(c.bundle, "rootfs"));
      expect(typeof s.owner).toBe("string");
      expect(typeof s.created).toBe("string");
      expect(Number.isNaN(Date.parse(s.created as string))).toBe(false);
      expect(Math.abs(Date.now() - Date.parse(s.created as string))).toBeLessThan(60_000);
      const pid = s.pid as number;
      expect(Number.isInteger(pid) && pid > 0).toBe(true);
      expect(existsSync(`/proc/${pid}`)).toBe(true);
      expect(alive(pid)).toBe(true);
      // --pid-file is written before create returns.
      expect(readFileSync(pidFile, "utf8").trim()).toBe(String(pid));
    });

    test("start runs the process; a second start fails", () => {
      const c = newContainer("lc-start", SLEEP);
      create(c);
      const pid = state(c.id).pid as number;
      // Until start, init waits on exec.fifo, still skiff-init.
      expect(procExe(pid)).toBe(SKIFF_INIT_EXE);
      const r = skiff(["start", c.id], { root });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const s = state(c.id);
      expect(s.status).toBe("running");
      expect(s.pid).toBe(pid);
      expect(waitFor(() => procExe(pid).endsWith("/probe"))).toBe(true);
      const again = skiff(["start", c.id], { root });
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain("cannot start an already running container");
    });

    test("state of a container that does not exist fails", () => {
      const r = skiff(["state", uniqueId("lc-none")], { root });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("does not exist");
      expect(r.stdout).toBe("");
    });
  });

  describe("kill", () => {
    const cases: { name: string; args: string[]; signal: string[] }[] = [
      { name: "default SIGTERM", args: TRAPPING, signal: [] },
      { name: "by name KILL", args: SLEEP, signal: ["KILL"] },
      { name: "by number 9", args: SLEEP, signal: ["9"] },
      { name: "SIGUSR1", args: TRAPPING, signal: ["SIGUSR1"] },
    ];
    for (const k of cases) {
      test(`kill ${k.name} stops the container`, () => {
        const c = newContainer("lc-kill", k.args);
        create(c);
        expect(skiff(["start", c.id], { root }).code).toBe(0);
        expect(statusOf(c.id)).toBe("running");
        const pid = state(c.id).pid as number;
        // Give sh time to install its traps before we signal it.
        if (k.args === TRAPPING) expect(waitFor(() => catches(pid, 15) && catches(pid, 10))).toBe(true);
        const r = skiff(["kill", c.id, ...k.signal], { root });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(waitStatus(c.id, "stopped")).toBe("stopped");
        expect(state(c.id).pid).toBe(0);
        expect(alive(pid)).toBe(false);
        // A stopped container cannot be signalled.
        const again = skiff(["kill", c.id, "KILL"], { root });
        expect(again.code).not.toBe(0);
        expect(again.stderr).toContain("not running");
      });
    }

    test("kill with an unknown signal fails and the container keeps running", () => {
      const c = newContainer("lc-badsig", SLEEP);
      create(c);
      expect(skiff(["start", c.id], { root }).code).toBe(0);
      const r = skiff(["kill", c.id, "SIGNOPE"], { root });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("unknown signal");
      expect(statusOf(c.id)).toBe("running");
    });

    test("kill -a signals every process of the container", () => {
      // sh as pid 1 ignores SIGTERM (no handler); its children do not.
      const c = newContainer("lc-killall", ["/bin/sh", "-c", "sleep 100 & sleep 100 & wait"]);
      create(c);
      expect(skiff(["start", c.id], { root }).code).toBe(0);
      const procs = cgroupCandidates(c.id).find((d) => d.includes("/pids/")) ?? cgroupCandidates(c.id)[0]!;
      let pids: number[] = [];
      expect(
        waitFor(() => {
          pids = readFileSync(join(procs, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
          return pids.length >= 3;
        }),
      ).toBe(true);
      const r = skiff(["kill", "-a", c.id, "TERM"], { root });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(waitStatus(c.id, "stopped")).toBe("stopped");
      expect(waitFor(() => pids.every((p) => !alive(p)))).toBe(true);
    });
  });

  describe("delete", () => {
    test("delete removes a stopped container; state then fails", () => {
      const c = newContainer("lc-del", SLEEP);
      create(c);
      expect(skiff(["start", c.id], { root }).code).toBe(0);
      expect(skiff(["kill", c.id, "KILL"], { root }).code).toBe(0);
      expect(waitStatus(c.id, "stopped")).toBe("stopped");
      const r = skiff(["delete", c.id], { root });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const s = skiff(["state", c.id], { root });
      expect(s.code).not.toBe(0);
      expect(s.stderr).toContain("does not exist");
      expect(leftovers(root, c.id, c.bundle)).toEqual([]);
    });

    test("delete of a running container needs -f", () => {
      const c = newContainer("lc-delrun", SLEEP);
      create(c);
      expect(skiff(["start", c.id], { root }).code).toBe(0);
      const pid = state(c.id).pid as number;
      const r = skiff(["delete", c.id], { root });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("not stopped");
      expect(statusOf(c.id)).toBe("running");
      const f = skiff(["delete", "-f", c.id], { root });
      expect(f.stderr).toBe("");
      expect(f.code).toBe(0);
      expect(alive(pid)).toBe(false);
      expect(leftovers(root, c.id, c.bundle)).toEqual([]);
    });

    test("delete -f of a created container ends its init", () => {
      const c = newContainer("lc-delcreated", SLEEP);
      create(c);
      const pid = state(c.id).pid as number;
      expect(skiff(["delete", "-f", c.id], { root }).code).toBe(0);
      expect(alive(pid)).toBe(false);
      expect(leftovers(root, c.id, c.bundle)).toEqual([]);
    });

    test("delete -f of a nonexistent id succeeds; without -f it fails", () => {
      const id = uniqueId("lc-ghost");
      const f = skiff(["delete", "-f", id], { root });
      expect(f.stderr).toBe("");
      expect(f.code).toBe(0);
      const r = skiff(["delete", id], { root });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("does not exist");
    });
  });

  describe("run", () => {
    test("run returns the process's exit code and deletes the container", () => {
      const c = newContainer("lc-run7", ["/probe", "exit", "7"]);
      const r = skiff(["run", "-b", c.bundle, c.id], { root });
      expect(r.code).toBe(7);
      expect(JSON.parse(r.stdout.trim())).toEqual({ exit: 7 });
      expect(leftovers(root, c.id, c.bundle)).toEqual([]);
    });

    test("run returns 128+n when the process is killed by signal n", () => {
      // Without a pid namespace: a namespace's init cannot be killed from inside.
      const c = newContainer("lc-runsig", ["/bin/sh", "-c", "kill -TERM $$"], (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "pid");
      });
      const r = skiff(["run", "-b", c.bundle, c.id], { root });
      expect(r.code).toBe(143);
      expect(leftovers(root, c.id, c.bundle)).toEqual([]);
    });

    test("run -d returns at once with the container running", () => {
      const c = newContainer("lc-rund", SLEEP);
      const t0 = Date.now();
      const r = skiff(["run", "-d", "-b", c.bundle, c.id], { root, timeoutMs: 20_000 });
      expect(r.code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(statusOf(c.id)).toBe("running");
      expect(alive(state(c.id).pid as number)).toBe(true);
    });

    test("run --keep leaves a stopped container in list", () => {
      const c = newContainer("lc-keep", ["/probe", "exit", "0"]);
      const r = skiff(["run", "--keep", "-b", c.bundle, c.id], { root });
      expect(r.code).toBe(0);
      const list = skiff(["list", "--format", "json"], { root });
      expect(list.code).toBe(0);
      const row = (JSON.parse(list.stdout) as { id: string; status: string }[]).find((x) => x.id === c.id);
      expect(row?.status).toBe("stopped");
      expect(skiff(["delete", c.id], { root }).code).toBe(0);
      expect(leftovers(root, c.id, c.bundle)).toEqual([]);
    });

    test("the container has its own pid namespace and the configured hostname", () => {
      const c = newContainer("lc-pid", ["/probe", "pid"], (s) => {
        s.hostname = "lc-host-name";
      });
      const r = skiff(["run", "-b", c.bundle, c.id], { root });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout.trim()).pid).toBe(1);
      const h = newContainer("lc-host", ["/probe", "hostname"], (s) => {
        s.hostname = "lc-host-name";
      });
      const rh = skiff(["run", "-b", h.bundle, h.id], { root });
      expect(rh.code).toBe(0);
      expect(JSON.parse(rh.stdout.trim()).hostname).toBe("lc-host-name");
    });
  });

  describe("list", () => {
    test("list as a table, as json, and quiet", () => {
      const listRoot = tempDir("skiff-lc-list-");
      const a = { id: uniqueId("lc-list-a"), bundle: bundleFor(SLEEP) };
      const b = { id: uniqueId("lc-list-b"), bundle: bundleFor(SLEEP) };
      try {
        expect(skiff(["create", "-b", a.bundle, a.id], { root: listRoot }).code).toBe(0);
        expect(skiff(["run", "-d", "-b", b.bundle, b.id], { root: listRoot }).code).toBe(0);
        const q = skiff(["list", "-q"], { root: listRoot });
        expect(q.code).toBe(0);
        expect(q.stdout.split("\n").filter(Boolean).sort()).toEqual([a.id, b.id].sort());

        const j = skiff(["list", "--format", "json"], { root: listRoot });
        expect(j.code).toBe(0);
        const rows = JSON.parse(j.stdout) as Record<string, unknown>[];
        expect(rows.length).toBe(2);
        const byId = Object.fromEntries(rows.map((r) => [r.id as string, r]));
        expect(byId[a.id]?.status).toBe("created");
        expect(byId[b.id]?.status).toBe("running");
        expect(byId[a.id]?.bundle).toBe(a.bundle);
        expect(byId[b.id]?.pid).toBe(state(b.id, listRoot).pid);

        const t = skiff(["list"], { root: listRoot });
        expect(t.code).toBe(0);
        const lines = t.stdout.trimEnd().split("\n");
        expect(lines[0]!.split(/\s+/)).toEqual(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]);
        expect(lines.length).toBe(3);
        const rowA = lines.find((l) => l.startsWith(a.id + " "))!.split(/\s+/);
        expect(rowA[1]).toBe(String(state(a.id, listRoot).pid));
        expect(rowA[2]).toBe("created");
        expect(rowA[3]).toBe(a.bundle);
        const rowB = lines.find((l) => l.startsWith(b.id + " "))!.split(/\s+/);
        expect(rowB[2]).toBe("running");

        const empty = skiff(["list", "-q"], { root: tempDir("skiff-lc-empty-") });
        expect(empty.code).toBe(0);
        expect(empty.stdout).toBe("");
      } finally {
        forceDelete(listRoot, a.id);
        forceDelete(listRoot, b.id);
      }
      expect(leftovers(listRoot, a.id, a.bundle)).toEqual([]);
      expect(leftovers(listRoot, b.id, b.bundle)).toEqual([]);
    });
  });

  describe("process tree", () => {
    test("after create returns, the init's parent is not skiff", () => {
      const c = newContainer("lc-ppid", SLEEP);
      const r = skiff(["create", "-b", c.bundle, c.id], { root });
      expect(r.code).toBe(0);
      const pid = state(c.id).pid as number;
      // The init waits on exec.fifo: alive, with a parent that is alive too
      // (else ppid would be NaN and the checks below would pass on nothing).
      expect(alive(pid)).toBe(true);
      const ppid = Number(procStatus(pid)?.get("PPid"));
      expect(Number.isInteger(ppid) && ppid > 0).toBe(true);
      expect(ppid).not.toBe(r.pid);
      const parent = procStatus(ppid);
      expect(parent).toBeDefined(); // the parent is alive
      expect(["skiff", "skiff-init"]).not.toContain(parent!.get("Name"));
      const parentExe = procExe(ppid); // "" where /proc/PID/exe cannot be read (pid 1 in some sandboxes)
      expect(parentExe).not.toBe(SKIFF);
      expect(parentExe).not.toBe(SKIFF_INIT_EXE);
    });

    test("no skiff or skiff-init process stays between the caller and the init", () => {
      // A child subreaper (as conmon and containerd's shim are) adopts every
      // orphan below it: after create, its only child must be the init.
      const c = newContainer("lc-reaper", SLEEP);
      const script = join(tempDir("skiff-lc-reaper-"), "reaper.ts");
      writeFileSync(
        script,
        `import { setChildSubreaper } from ${JSON.stringify(join(REPO_ROOT, "src/util/libc.ts"))};
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
setChildSubreaper();
const [bin, root, bundle, id] = process.argv.slice(2);
const r = Bun.spawnSync([bin, "--root", root, "create", "-b", bundle, id], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
Bun.sleepSync(300);
const children = [];
for (const n of readdirSync("/proc")) {
  if (!/^\\d+$/.test(n)) continue;
  try {
    const st = readFileSync("/proc/" + n + "/status", "utf8");
    const ppid = Number(/\\nPPid:\\s*(\\d+)/.exec(st)?.[1]);
    if (ppid !== process.pid) continue;
    let exe = "";
    try { exe = readlinkSync("/proc/" + n + "/exe"); } catch {}
    children.push({ pid: Number(n), exe, state: /\\nState:\\s*(\\S)/.exec(st)?.[1] });
  } catch {}
}
console.log(JSON.stringify({ code: r.exitCode, skiffPid: r.pid, children }));
`,
      );
      const p = Bun.spawnSync([BUN, script, SKIFF, root, c.bundle, c.id], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
      expect(p.stderr.toString()).toBe("");
      const out = JSON.parse(p.stdout.toString().trim()) as {
        code: number;
        skiffPid: number;
        children: { pid: number; exe: string; state: string }[];
      };
      expect(out.code).toBe(0);
      const pid = state(c.id).pid as number;
      expect(statusOf(c.id)).toBe("created");
      // Bun may keep helper processes of its own; ignore those that are not ours.
      const ours = out.children.filter((ch) => ch.exe === SKIFF || ch.exe.startsWith(SKIFF_INIT_EXE) || ch.pid === pid);
      expect(ours.filter((ch) => ch.state !== "Z").map((ch) => ch.pid)).toEqual([pid]);
      expect(out.children.some((ch) => ch.pid === out.skiffPid && ch.state !== "Z")).toBe(false);
    });
  });
});
