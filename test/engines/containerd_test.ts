// containerd (Debian's 1.6: containerd, ctr, containerd-shim-runc-v2) with
// skiff and with runc as the shim's runc binary (ctr run --runc-binary,
// --runc-root). containerd runs privately: its own config (root, state, grpc
// and ttrpc sockets under a temp dir, the CRI plugin disabled), started in
// the background with a pid file written by the harness; teardown stops
// exactly that pid. containerd 1.6 puts shim sockets under /run/containerd/s
// whatever its root: teardown removes those dirs when it made them and they
// are empty. Cgroups: cgroupfs (ctr does not pass --runc-systemd-cgroup, so
// the shim's SystemdCgroup option stays false).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  T,
  alive,
  engineDir,
  ensureEngines,
  engineInstallError,
  enginesInstalledTest,
  existing,
  existingCgroups,
  removeCreatedCgroups,
  leftovers,
  mountPoints,
  ociArchive,
  printErrors,
  processesNaming,
  ptySession,
  readLinkOr,
  recordError,
  removeCreatedDirs,
  removeTree,
  run,
  snapshotRuntimes,
  startDaemon,
  stopDaemon,
  waitFor,
  type Daemon,
  type Result,
  type Runtimes,
} from "./harness";
import { skipWhy } from "../skip";

const skipReason = ensureEngines();

const SHARED = ["/run/containerd/s", "/run/containerd/fifo", "/run/containerd"];
const IMAGE = "docker.io/library/skiff-busybox:test";
const NS = `skiff-test-${process.pid}`;
// the parent cgroup of this namespace's containers (cgroupsPath /<namespace>/<id>)
const CGROUPS = [NS];

let dir = "";
let rts: Runtimes;
let daemon: Daemon | undefined;
let before = new Set<string>();
let cgroupsBefore = new Set<string>();
let sock = "";

const ctr = (args: string[], opts: { timeoutMs?: number } = {}): Result => run(["ctr", "-a", sock, "-n", NS, ...withFifoDir(args)], opts);
// ctr keeps the fifos of a task's stdio under /run/containerd/fifo unless told otherwise
const withFifoDir = (args: string[]) =>
  (args[0] === "run" || (args[0] === "task" && (args[1] === "exec" || args[1] === "start")) ? [...args.slice(0, args[0] === "run" ? 1 : 2), "--fifo-dir", join(dir, "fifo"), ...args.slice(args[0] === "run" ? 1 : 2)] : args);
const runcRoot = () => join(dir, "runc-root");

/** Idempotent: also called when set-up fails half-way. */
async function teardown(): Promise<void> {
  try {
    if (daemon && alive(daemon.pid)) {
      for (const id of ctr(["task", "ls", "-q"]).stdout.trim().split("\n").filter(Boolean)) ctr(["task", "delete", "--force", id]);
      for (const id of ctr(["container", "ls", "-q"]).stdout.trim().split("\n").filter(Boolean)) ctr(["container", "delete", id]);
      ctr(["images", "rm", IMAGE]);
      ctr(["snapshots", "ls"]);
    }
    await stopDaemon(daemon);
    daemon = undefined;
    if (dir) removeTree(dir);
    dir = "";
  } finally {
    removeCreatedDirs(SHARED, before);
    removeCreatedCgroups(CGROUPS, cgroupsBefore);
    printErrors("containerd");
  }
}

describe.skipIf(skipWhy("containerd engine tests", skipReason ?? null))("containerd", () => {
  enginesInstalledTest();

  beforeAll(async () => {
    try {
      await setUp();
    } catch (e) {
      await teardown();
      throw e;
    }
  }, T);

  async function setUp(): Promise<void> {
    const failed = engineInstallError();
    if (failed) throw new Error(failed);
    before = existing(SHARED);
    cgroupsBefore = existingCgroups(CGROUPS);
    dir = engineDir("containerd");
    rts = snapshotRuntimes(dir);
    sock = join(dir, "containerd.sock");
    const conf = `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "${sock}"

[ttrpc]
  address = "${sock}.ttrpc"

[debug]
  address = "${dir}/debug.sock"
`;
    writeFileSync(join(dir, "config.toml"), conf);
    daemon = await startDaemon({
      name: "containerd",
      argv: ["/usr/bin/containerd", "--config", join(dir, "config.toml")],
      pidFile: join(dir, "containerd.pid"),
      writePidFile: true,
      log: join(dir, "containerd.log"),
      ready: () => existsSync(sock) && ctr(["version"]).code === 0,
    });
    const imp = ctr(["images", "import", ociArchive(dir, IMAGE)]);
    if (imp.code !== 0) throw new Error(`ctr images import: ${imp.out}`);
  }

  afterAll(teardown);

  let seq = 0;
  for (const rt of ["skiff", "runc"] as const) {
    describe(rt, () => {
      const bin = () => (rt === "skiff" ? rts.skiff : rts.runc);
      const rtFlags = () => ["--runc-binary", bin(), "--runc-root", runcRoot()];
      const id = (what: string) => `sk-${rt}-${what}-${++seq}`;
      const ctrRun = (args: string[], c: string, argv: string[]) => ctr(["run", ...rtFlags(), ...args, IMAGE, c, ...argv]);
      const clean = (c: string, mountsBefore: Set<string>) => {
        let left: string[] = [];
        waitFor(() => (left = leftovers({ id: c, stateRoots: [join(runcRoot(), NS)], mountsBefore, mountDirs: [join(dir, "state")] })).length === 0, 10_000);
        expect(left).toEqual([]);
        expect(ctr(["container", "info", c]).code).not.toBe(0);
      };
      const taskStatus = (c: string) => (ctr(["task", "ls"]).stdout.split("\n").find((l) => l.split(/\s+/)[0] === c) ?? "").split(/\s+/)[2] ?? "";
      const taskPid = (c: string) => Number((ctr(["task", "ls"]).stdout.split("\n").find((l) => l.split(/\s+/)[0] === c) ?? "").split(/\s+/)[1]);
      /** `ctr task delete` reports a non-zero exit status as a warning; "0" when there is none. */
      const deleteTask = (c: string, force = false) => {
        const r = ctr(["task", "delete", ...(force ? ["--force"] : []), c]);
        const m = /exit code (\d+)/.exec(r.out);
        return { r, status: m ? m[1] : "0" };
      };

      test("run --rm echo", () => {
        const c = id("echo");
        const mb = new Set(mountPoints());
        const r = ctrRun(["--rm"], c, ["echo", "hello from", rt]);
        expect(r.out).toBe(`hello from ${rt}`);
        expect(r.code).toBe(0);
        clean(c, mb);
      }, T);

      test("failing commands: exit code passed through; missing / not executable fail the create", () => {
        const mb = new Set(mountPoints());
        const c1 = id("exit");
        const r1 = ctrRun(["--rm"], c1, ["sh", "-c", "echo bye; exit 3"]);
        expect({ out: r1.stdout.trim(), code: r1.code }).toEqual({ out: "bye", code: 3 });
        clean(c1, mb);
        // ctr has no 127/126: a failed create is its exit status 1 (same under runc)
        for (const [what, argv] of [
          ["missing binary (nosuchcommand)", ["nosuchcommand"]],
          ["missing binary (/no/such/binary)", ["/no/such/binary"]],
          ["not executable (/etc/passwd)", ["/etc/passwd"]],
        ] as const) {
          const c = id("fail");
          const r = ctrRun(["--rm"], c, [...argv]);
          recordError({ engine: "containerd", what, runtime: rt, code: r.code, message: r.stderr });
          expect(r.code).toBe(1);
          expect(r.stderr).toContain(what.startsWith("not") ? "permission denied" : argv[0]);
          ctr(["container", "delete", c]);
          clean(c, mb);
        }
      }, T);

      test("run -d, task exec (plain, detached), ps, pause/resume, metrics, kill -s SIGUSR1, kill (TERM), start again, kill --all", async () => {
        const c = id("life");
        const mb = new Set(mountPoints());
        const script = 'trap "touch /tmp/got-usr1" USR1; trap "exit 7" TERM; while true; do sleep 0.2; done';
        expect(ctrRun(["-d"], c, ["sh", "-c", script]).code).toBe(0);
        expect(taskStatus(c)).toBe("RUNNING");
        const pid1 = taskPid(c);
        expect(readLinkOr(`/proc/${pid1}/exe`)).toMatch(/busybox$/);

        const e1 = ctr(["task", "exec", "--exec-id", "e1", c, "sh", "-c", "echo exec-ok; exit 4"]);
        expect({ out: e1.stdout.trim(), code: e1.code }).toEqual({ out: "exec-ok", code: 4 });
        expect(ctr(["task", "exec", "-d", "--exec-id", "e2", c, "sleep", "313"]).code).toBe(0);

        const ps = ctr(["task", "ps", c]);
        expect(ps.code).toBe(0);
        expect(ps.out).toContain("ExecID:e2");
        expect(ps.out).toContain(String(pid1));

        expect(ctr(["task", "pause", c]).code).toBe(0);
        expect(taskStatus(c)).toBe("PAUSED");
        expect(ctr(["task", "resume", c]).code).toBe(0);
        expect(taskStatus(c)).toBe("RUNNING");

        const m = ctr(["task", "metrics", c]);
        expect(m.code).toBe(0);
        expect(m.out).toMatch(/memory|pids/);

        expect(ctr(["task", "kill", "-s", "SIGUSR1", c]).code).toBe(0);
        expect(waitFor(() => ctr(["task", "exec", "--exec-id", `e${Date.now()}`, c, "test", "-e", "/tmp/got-usr1"]).code === 0, 5000)).toBe(true);

        expect(ctr(["task", "kill", c]).code).toBe(0); // SIGTERM
        expect(waitFor(() => taskStatus(c) === "STOPPED", 10_000)).toBe(true);
        expect(deleteTask(c).status).toBe("7");

        // start the container's task again (what a restart is to containerd)
        expect(ctr(["task", "start", "-d", c]).code).toBe(0);
        expect(waitFor(() => taskStatus(c) === "RUNNING", 5000)).toBe(true);
        const pid2 = taskPid(c);
        expect(pid2).not.toBe(pid1);
        expect(ctr(["task", "exec", "-d", "--exec-id", "e4", c, "sleep", "314"]).code).toBe(0);
        const all = ctr(["task", "ps", c]).stdout.trim().split("\n").slice(1).map((l) => Number(l.split(/\s+/)[0]));
        expect(all.length).toBeGreaterThanOrEqual(2);

        expect(ctr(["task", "kill", "--all", "-s", "SIGKILL", c]).code).toBe(0);
        expect(waitFor(() => taskStatus(c) === "STOPPED", 10_000)).toBe(true);
        expect(waitFor(() => all.every((p) => !alive(p)), 5000)).toBe(true);
        expect(deleteTask(c).status).toBe("137");
        expect(ctr(["container", "delete", c]).code).toBe(0);
        clean(c, mb);
      }, T);

      test("kill: TERM ignored by pid 1, then KILL", () => {
        const c = id("termkill");
        const mb = new Set(mountPoints());
        expect(ctrRun(["-d"], c, ["sleep", "1000"]).code).toBe(0);
        expect(ctr(["task", "kill", "-s", "SIGTERM", c]).code).toBe(0);
        Bun.sleepSync(1000);
        expect(taskStatus(c)).toBe("RUNNING");
        expect(ctr(["task", "kill", "-s", "SIGKILL", c]).code).toBe(0);
        expect(waitFor(() => taskStatus(c) === "STOPPED", 10_000)).toBe(true);
        expect(deleteTask(c).status).toBe("137");
        expect(ctr(["container", "delete", c]).code).toBe(0);
        clean(c, mb);
      }, T);

      test("task delete --force of a running task, then container delete", () => {
        const c = id("delforce");
        const mb = new Set(mountPoints());
        expect(ctrRun(["-d"], c, ["sleep", "1000"]).code).toBe(0);
        const pid = taskPid(c);
        const d = ctr(["task", "delete", "--force", c]);
        expect(d.code).toBe(0);
        expect(waitFor(() => !alive(pid), 5000)).toBe(true);
        expect(ctr(["container", "delete", c]).code).toBe(0);
        clean(c, mb);
      }, T);

      test("task delete --force / container delete of a container already gone", () => {
        const mb = new Set(mountPoints());
        // (a) its init killed behind the engine's back
        const a = id("gone-a");
        expect(ctrRun(["-d"], a, ["sleep", "1000"]).code).toBe(0);
        process.kill(taskPid(a), "SIGKILL");
        expect(waitFor(() => taskStatus(a) === "STOPPED", 10_000)).toBe(true);
        expect(ctr(["task", "delete", "--force", a]).code).toBe(0);
        expect(ctr(["container", "delete", a]).code).toBe(0);
        clean(a, mb);
        // (b) the runtime's own state deleted behind the engine's back
        const b = id("gone-b");
        expect(ctrRun(["-d"], b, ["sleep", "1000"]).code).toBe(0);
        const pid = taskPid(b);
        const del = run([bin(), "--root", join(runcRoot(), NS), "delete", "--force", b]);
        expect(del.code).toBe(0);
        expect(waitFor(() => !alive(pid), 5000)).toBe(true);
        expect(existsSync(join(runcRoot(), NS, b))).toBe(false);
        const td = ctr(["task", "delete", "--force", b]);
        expect({ code: td.code, out: td.out }).toEqual({ code: 0, out: expect.any(String) });
        const cd = ctr(["container", "delete", b]);
        expect({ code: cd.code, out: cd.out }).toEqual({ code: 0, out: "" });
        clean(b, mb);
        // the runtime itself: delete --force of an id it does not know succeeds
        expect(run([bin(), "--root", join(runcRoot(), NS), "delete", "--force", "no-such-container"]).code).toBe(0);
      }, T);

      test(`run -t on a real terminal: type a command, read its output`, async () => {
        const c = id("tty");
        const mb = new Set(mountPoints());
        const s = await ptySession(["ctr", "-a", sock, "-n", NS, ...withFifoDir(["run", ...rtFlags(), "-t", "--rm", IMAGE, c, "sh"])], {
          prompt: /\/ # /,
          input: "echo tty-$((6*7)); tty",
          expect: /tty-42[\s\S]*\/dev\/pts\/\d+/,
        });
        if (!s.sawExpect) console.log(`containerd/${rt} run -t screen:\n${s.screen}`);
        expect(s.sawExpect).toBe(true);
        expect(s.code).toBe(0);
        waitFor(() => ctr(["container", "info", c]).code !== 0, 5000);
        ctr(["task", "delete", "--force", c]);
        ctr(["container", "delete", c]);
        clean(c, mb);
      }, T);

      test(`task exec -t in a running task`, async () => {
        const c = id("exectty");
        const mb = new Set(mountPoints());
        expect(ctrRun(["-d"], c, ["sleep", "1000"]).code).toBe(0);
        try {
          // ctr -t needs a terminal of its own: script(1) gives it one
          const t = run(["script", "-qfec", `ctr -a ${sock} -n ${NS} task exec --fifo-dir ${dir}/fifo -t --exec-id t1 ${c} tty`, "/dev/null"]);
          expect(t.stdout).toMatch(/\/dev\/pts\/\d+/);
          const s = await ptySession(["ctr", "-a", sock, "-n", NS, ...withFifoDir(["task", "exec", "-t", "--exec-id", "t2", c, "sh"])], {
            prompt: /\/ # /,
            input: "echo exec-tty-$((6*7))",
            expect: /exec-tty-42/,
          });
          if (!s.sawExpect) console.log(`containerd/${rt} exec -t screen:\n${s.screen}`);
          expect(s.sawExpect).toBe(true);
        } finally {
          ctr(["task", "delete", "--force", c]);
          ctr(["container", "delete", c]);
        }
        clean(c, mb);
      }, T);

      test("engine-visible errors: broken config, bad mount", () => {
        const mb = new Set(mountPoints());
        const file = join(dir, "a-file");
        writeFileSync(file, "x\n");
        for (const [what, mount, re] of [
          ["broken config (tmpfs mount option bogus=1)", "type=tmpfs,src=tmpfs,dst=/x,options=bogus=1", /\/x|tmpfs|invalid/],
          ["bad mount (missing source)", `type=bind,src=${dir}/no-such-dir,dst=/x,options=rbind`, /no-such-dir|no such file/],
          ["bad mount (destination below a file)", `type=bind,src=${file},dst=/etc/hostname/sub,options=rbind`, /hostname/],
        ] as const) {
          const c = id("err");
          const r = ctrRun(["--rm", "--mount", mount], c, ["true"]);
          recordError({ engine: "containerd", what, runtime: rt, code: r.code, message: r.stderr });
          expect(r.code).not.toBe(0);
          expect(r.stderr).toMatch(re);
          ctr(["container", "delete", c]);
          clean(c, mb);
        }
      }, T);
    });
  }

  test("no shim of this namespace is left", () => {
    expect(processesNaming(`-namespace ${NS}`)).toEqual([]);
  });
});
