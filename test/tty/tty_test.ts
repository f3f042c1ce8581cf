// Terminals as root: process.terminal with --console-socket (through the
// project's recvtty), the foreground relay driven on a real pty (ptyrun),
// window sizes, /dev/console, the controlling tty, exec -t, the errors of
// runc's checkTerminal, fds, signals and exit codes, `ps`; and a
// differential test against runc for the console-socket path.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, skipWhy } from "../skip";
import type { Spec } from "../../src/config/types";
import { SKIFF, alive, forceDelete, leftovers, skiff, uniqueId, waitFor } from "../integration/skiff";
import { Session, buildTool, lines, waitForPath } from "./tools";

describe.skipIf(skipWhy("test/tty/tty_test.ts", needRoot()))("tty", () => {
  const RUNC = "/usr/sbin/runc";
  const T = 30_000;
  let root = "";
  let RECVTTY = "";
  let PTYRUN = "";
  const made: { id: string; runc?: boolean }[] = [];

  const tty = (extra?: (s: Spec) => void) => (s: Spec) => {
    s.process!.terminal = true;
    extra?.(s);
  };

  beforeAll(() => {
    root = tempDir("skiff-tty-root-");
    RECVTTY = buildTool("recvtty");
    PTYRUN = buildTool("ptyrun");
  });

  afterAll(() => {
    for (const m of made) {
      if (m.runc) Bun.spawnSync([RUNC, "--root", join(root, "runc"), "delete", "-f", m.id], { stdout: "ignore", stderr: "ignore" });
      else forceDelete(root, m.id);
    }
    cleanupTempDirs();
  });

  interface Received {
    name: string;
    fds: number;
    output: string;
    code: number;
  }

  /** Start recvtty in save mode on a fresh socket; `done` resolves when the pty closes. */
  async function receiver(input: string): Promise<{ socket: string; done: Promise<Received> }> {
    const dir = tempDir("skiff-tty-sock-");
    const socket = join(dir, "console.sock");
    const out = join(dir, "out");
    const report = join(dir, "report");
    const proc = spawn([RECVTTY, "-m", "save", "-o", out, "-n", report, "-i", input, socket], { stdout: "ignore", stderr: "pipe" });
    await waitForPath(socket);
    const done = (async () => {
      const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
      const code = await proc.exited;
      clearTimeout(timer);
      const rep = existsSync(report) ? readFileSync(report, "utf8") : "";
      const field = (k: string) => /^(\S+) (.*)$/m.exec(rep.split("\n").find((l) => l.startsWith(k + " ")) ?? "")?.[2] ?? "";
      const err = await new Response(proc.stderr).text();
      return { name: field("name"), fds: Number(field("fds")), output: (existsSync(out) ? readFileSync(out, "utf8") : "") + err, code };
    })();
    return { socket, done };
  }

  /** create --console-socket + start under skiff (or runc); what recvtty got. */
  async function consoleRoundTrip(input: string, opts: { mutate?: (s: Spec) => void; runc?: boolean; args?: string[] } = {}): Promise<Received> {
    const bundle = makeBundle({ args: opts.args ?? ["sh"], mutate: tty(opts.mutate) });
    const { socket, done } = await receiver(input);
    const id = uniqueId("tty");
    made.push({ id, runc: opts.runc });
    const run = (args: string[]): { code: number; stderr: string } => {
      if (!opts.runc) return skiff(args, { root });
      const r = Bun.spawnSync([RUNC, "--root", join(root, "runc"), ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
      return { code: r.exitCode ?? -1, stderr: r.stderr.toString() };
    };
    const c = run(["create", "-b", bundle, "--console-socket", socket, id]);
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    expect(run(["start", id]).code).toBe(0);
    const got = await done;
    run(["delete", "-f", id]);
    return got;
  }

  /** The lines a command printed: the output after the echo of the line that ran it. */
  function after(output: string, marker: string): string[] {
    const all = lines(output);
    const i = all.findLastIndex((l) => l.includes(marker));
    return all.slice(i + 1);
  }

  describe("console socket", () => {
    test(
      "create --console-socket: one fd and a name arrive; a command typed into the master runs",
      async () => {
        const got = await consoleRoundTrip("echo hi-$((1+2)); exit 3\n");
        expect(got.code).toBe(0);
        expect(got.fds).toBe(1);
        expect(got.name).toBe("/dev/ptmx");
        expect(lines(got.output)).toContain("hi-3");
      },
      T,
    );

    test(
      "consoleSize is the pty's size; /dev/console is the pty; the process has it as controlling tty",
      async () => {
        const got = await consoleRoundTrip(
          "stty size; tty; stat -c 'console=%F %t:%T' /dev/console; stat -L -c 'stdin=%t:%T' /dev/stdin; read -r a b c d e f g rest < /proc/self/stat; echo ctty=$g; exit\n",
          { mutate: (s) => void (s.process!.consoleSize = { height: 33, width: 111 }) },
        );
        const out = lines(got.output);
        expect(out).toContain("33 111");
        expect(out).toContain("/dev/pts/0");
        expect(out).toContain("console=character special file 88:0"); // 136:0 in hex
        expect(out).toContain("stdin=88:0");
        expect(out).toContain(`ctty=${136 * 256}`);
      },
      T,
    );

    test(
      "no fd of skiff's reaches the container: only 0, 1, 2, each the pty slave",
      async () => {
        const got = await consoleRoundTrip("", { args: ["/probe", "fds"] });
        const json = JSON.parse(lines(got.output).find((l) => l.startsWith("{"))!);
        expect(json.fds).toEqual([0, 1, 2].map((fd) => ({ fd, target: "/dev/pts/0" })));
      },
      T,
    );

    test(
      "create and run -d with a terminal and no console socket fail with one line and leave nothing",
      () => {
        const bundle = makeBundle({ args: ["sh"], mutate: tty() });
        for (const cmd of [["create"], ["run", "-d"]]) {
          const id = uniqueId("tty-nosock");
          const r = skiff([...cmd, "-b", bundle, id], { root });
          expect(r.code).toBe(1);
          expect(r.stderr.trim().split("\n")).toEqual(["skiff: cannot allocate tty if skiff will detach without setting console socket"]);
          expect(leftovers(root, id, bundle)).toEqual([]);
        }
        const plain = makeBundle({ args: ["true"] });
        const id = uniqueId("tty-nosock");
        const r = skiff(["create", "-b", plain, "--console-socket", "/tmp/none.sock", id], { root });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("cannot use console socket if skiff will not detach or allocate tty");
        expect(leftovers(root, id, plain)).toEqual([]);
      },
      T,
    );

    test(
      "differential: runc and skiff send one fd with the same name, and the container sees the same terminal",
      async () => {
        const input = "tty; stat -c 'console=%F %t:%T %a' /dev/console; ls /dev/pts; exit\n";
        const a = await consoleRoundTrip(input);
        const b = await consoleRoundTrip(input, { runc: true });
        expect(a.fds).toBe(1);
        expect(b.fds).toBe(1);
        expect(a.name).toBe(b.name);
        const seen = (r: Received) => after(r.output, "ls /dev/pts; exit").filter((l) => l && !l.includes("#"));
        expect(seen(a)).toEqual(seen(b));
        expect(seen(a)[0]).toBe("/dev/pts/0");
      },
      T,
    );
  });

  describe("foreground relay on a real pty", () => {
    test(
      "run: type a command, read its output, resize, exit 3; the caller's tty is restored",
      async () => {
        const bundle = makeBundle({ args: ["sh"], mutate: tty() });
        const id = uniqueId("tty-run");
        made.push({ id });
        const dir = tempDir("skiff-tty-stty-");
        const script = `stty -g > ${dir}/before; ${SKIFF} --root ${root} run -b ${bundle} ${id}; rc=$?; stty -g > ${dir}/after; exit $rc`;
        const s = Session.start([PTYRUN, "30x100", "50x132", "sh", "-c", script]);
        let at = await s.expect(/\/ # /);
        s.type("echo hi-$((1+2))\r");
        at = await s.expect(/^hi-3\r?$/m, { from: at });
        s.type("stty size\r");
        at = await s.expect(/^30 100\r?$/m, { from: at });
        s.proc.kill("SIGUSR1"); // ptyrun resizes its pty: SIGWINCH to skiff-init, which resizes the container's
        await Bun.sleep(300);
        s.type("stty size\r");
        at = await s.expect(/^50 132\r?$/m, { from: at });
        s.type("exit 3\r");
        expect(await s.exited()).toBe(3);
        expect(readFileSync(`${dir}/after`, "utf8")).toBe(readFileSync(`${dir}/before`, "utf8"));
        expect(existsSync(join(root, id))).toBe(false);
      },
      T,
    );

    test(
      "exec -t attached, and exec -t -d --console-socket",
      async () => {
        const bundle = makeBundle({ args: ["sleep", "120"] });
        const id = uniqueId("tty-exec");
        made.push({ id });
        expect(skiff(["run", "-d", "-b", bundle, id], { root }).code).toBe(0);
        const s = Session.start([PTYRUN, "20x70", "20x70", SKIFF, "--root", root, "exec", "-t", id, "sh"]);
        let at = await s.expect(/\/ # /);
        s.type("tty; stty size; echo hi-$((2+2))\r");
        at = await s.expect(/^hi-4\r?$/m, { from: at });
        expect(lines(s.out)).toContain("/dev/pts/0");
        expect(lines(s.out)).toContain("20 70");
        s.type("exit 4\r");
        expect(await s.exited()).toBe(4);

        const { socket, done } = await receiver("tty; echo hi-$((3+2)); exit 5\n");
        const r = skiff(["exec", "-t", "-d", "--console-socket", socket, id, "sh"], { root });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const got = await done;
        expect(got.fds).toBe(1);
        expect(got.name).toBe("/dev/ptmx");
        expect(lines(got.output)).toContain("hi-5");
        expect(lines(got.output).some((l) => /^\/dev\/pts\/\d+$/.test(l))).toBe(true); // the container's devpts
        forceDelete(root, id);
      },
      T,
    );
  });

  describe("signals, exit codes, ps", () => {
    test(
      "an attached run forwards SIGUSR1 to a shell that traps it, and exits with its status",
      async () => {
        const bundle = makeBundle({ args: ["sh", "-c", "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done"] });
        const id = uniqueId("tty-sig");
        made.push({ id });
        const dir = tempDir("skiff-tty-out-");
        const out = join(dir, "out");
        writeFileSync(out, "");
        const p = spawn([SKIFF, "--root", root, "run", "-b", bundle, id], { stdin: "ignore", stdout: Bun.file(out), stderr: "inherit" });
        expect(waitFor(() => readFileSync(out, "utf8").includes("ready"), 10_000)).toBe(true);
        p.kill("SIGUSR1");
        expect(await p.exited).toBe(7);
        expect(readFileSync(out, "utf8")).toContain("got-usr1");
      },
      T,
    );

    test(
      "exit codes: run and exec return the process's status, 128+n for a signal",
      () => {
        const b = makeBundle({ args: ["sh", "-c", "exit 42"] });
        const id = uniqueId("tty-code");
        made.push({ id });
        expect(skiff(["run", "-b", b, id], { root }).code).toBe(42);
        const sleeper = makeBundle({ args: ["sleep", "120"] });
        const id2 = uniqueId("tty-code");
        made.push({ id: id2 });
        expect(skiff(["run", "-d", "-b", sleeper, id2], { root }).code).toBe(0);
        expect(skiff(["exec", id2, "sh", "-c", "exit 9"], { root }).code).toBe(9);
        expect(skiff(["exec", id2, "sh", "-c", "kill -TERM $$"], { root }).code).toBe(128 + 15);
        forceDelete(root, id2);
      },
      T,
    );

    test(
      "ps: json is the host pids of the cgroup; table is ps -ef filtered to them, with ps args after --",
      () => {
        const bundle = makeBundle({ args: ["sleep", "120"] });
        const id = uniqueId("tty-ps");
        made.push({ id });
        expect(skiff(["run", "-d", "-b", bundle, id], { root }).code).toBe(0);
        const state = JSON.parse(skiff(["state", id], { root }).stdout);
        const json = skiff(["ps", "--format", "json", id], { root });
        expect(json.code).toBe(0);
        expect(JSON.parse(json.stdout)).toEqual([state.pid]);
        const table = skiff(["ps", id], { root });
        const rows = table.stdout.trim().split("\n");
        expect(rows[0]).toMatch(/^UID\s+PID\s+PPID/);
        expect(rows.slice(1).map((r) => Number(r.trim().split(/\s+/)[1]))).toEqual([state.pid]);
        const custom = skiff(["ps", id, "--", "-o", "pid,comm"], { root });
        expect(custom.stdout.trim().split("\n").map((l) => l.trim())).toEqual(["PID COMMAND", `${state.pid} sleep`]);
        const bad = skiff(["ps", "-f", "yaml", id], { root });
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain("invalid format");
        forceDelete(root, id);
        expect(waitFor(() => !alive(state.pid))).toBe(true);
        rmSync(join(root, id), { recursive: true, force: true });
      },
      T,
    );
  });
});
