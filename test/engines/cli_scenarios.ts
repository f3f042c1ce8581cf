// The scenarios Podman and Docker share (their command lines agree on run,
// exec, top, pause, stats, stop, restart, kill, rm, inspect), registered once
// per runtime by podman_test.ts and docker_test.ts. Each scenario asserts what
// the user sees and that the container left nothing behind.

import { expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { T, leftovers, mountPoints, ptySession, readLinkOr, recordError, run, waitFor, type Result, type RunOptions } from "./harness";

export interface CliEngine {
  name: "podman" | "docker";
  /** the engine's private temp dir */
  dir: string;
  image: string;
  /** `<engine> run ...` (or create) with the runtime selected */
  runCmd(rt: string, sub: "run" | "create", args: string[]): string[];
  /** any other engine command */
  cmd(args: string[]): string[];
  env: Record<string, string | undefined>;
  /** dirs under which the runtime keeps its per-container state (runtime --root) */
  stateRoots(rt: string): string[];
  /** where the engine mounts things for a container (new mounts there after rm = leftover) */
  mountDirs: (string | RegExp)[];
  /** `rm -f` as this engine spells "kill and remove now" */
  rmForce: string[];
}

let seq = 0;
// busybox sh's prompt; its line editor then asks for the cursor position (ESC [6n)
const PROMPT = /\/ # /;

export function dockerLikeScenarios(getEngine: () => CliEngine, rt: "skiff" | "runc"): void {
  const E = () => getEngine();
  const name = (what: string) => `sk-${rt}-${what}-${process.pid}-${++seq}`;
  const exec = (argv: string[], opts: RunOptions = {}): Result => run(argv, { env: E().env, ...opts });
  const eng = (args: string[], opts: RunOptions = {}) => exec(E().cmd(args), opts);
  /** `<engine> run` with this runtime */
  const runc = (args: string[], opts: RunOptions = {}) => exec(E().runCmd(rt, "run", args), opts);
  const cidFile = (n: string) => join(E().dir, `${n}.cid`);
  const readCid = (n: string) => {
    try {
      return readFileSync(cidFile(n), "utf8").trim();
    } catch {
      return "";
    }
  };
  const inspect = (n: string, format: string) => eng(["inspect", "--format", format, n]).stdout.trim();
  /** Asserts that the (removed) container `id` left nothing behind; `before`: the mounts before it ran. */
  const clean = async (id: string, before: Set<string>) => {
    let left: string[] = [];
    let first: string[] | undefined;
    const t0 = Date.now();
    const ok = waitFor(() => {
      left = leftovers({ id, stateRoots: E().stateRoots(rt), mountsBefore: before, mountDirs: E().mountDirs });
      first ??= left;
      return left.length === 0;
    }, 15_000);
    // the engine may clean up asynchronously (podman's cleanup process): say when that was slow
    if (Date.now() - t0 > 2000) console.log(`${E().name}/${rt}: leftovers of ${id.slice(0, 12)} took ${Date.now() - t0} ms to go: ${first!.join("; ")}`);
    expect(ok ? [] : left).toEqual([]);
  };

  test(`run --rm echo`, async () => {
    const n = name("echo");
    const before = new Set(mountPoints());
    const r = runc(["--rm", "--cidfile", cidFile(n), "--name", n, E().image, "echo", "hello from", rt]);
    expect(r.out).toBe(`hello from ${rt}`);
    expect(r.code).toBe(0);
    const id = readCid(n);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(eng(["inspect", n]).code).not.toBe(0); // removed
    await clean(id, before);
  }, T);

  test(`failing commands: exit code passed through, 127 missing, 126 not executable`, async () => {
    const before = new Set(mountPoints());
    const cases: [string, string[], number][] = [
      ["exit", ["sh", "-c", "echo bye; exit 3"], 3],
      ["missing", ["/no/such/binary"], 127],
      ["missing-path", ["nosuchcommand"], 127],
      ["noexec", ["/etc/passwd"], 126],
    ];
    for (const [what, argv, code] of cases) {
      const n = name(what);
      const r = runc(["--rm", "--cidfile", cidFile(n), "--name", n, E().image, ...argv]);
      if (what === "exit") expect(r.stdout.trim()).toBe("bye");
      else recordError({ engine: E().name, what: `${what === "noexec" ? "not executable" : "missing binary"} (${argv[0]})`, runtime: rt, code: r.code, message: r.stderr });
      expect({ what, code: r.code }).toEqual({ what, code });
      const id = readCid(n);
      // a failed create may leave the container for the engine to remove
      eng([...E().rmForce, n]);
      if (id) await clean(id, before);
    }
  }, T);

  test(`run -d, exec (plain, detached), top, pause/unpause, stats, kill -s USR1, stop (TERM), restart, rm -f`, async () => {
    const n = name("life");
    const before = new Set(mountPoints());
    const script = 'trap "echo got-usr1" USR1; trap "echo got-term; exit 7" TERM; echo started; while true; do sleep 0.2; done';
    const r = runc(["-d", "--cidfile", cidFile(n), "--name", n, E().image, "sh", "-c", script]);
    expect(r.code).toBe(0);
    const id = readCid(n);
    expect(r.stdout.trim().split("\n").pop()).toBe(id);
    expect(inspect(n, "{{.State.Status}}")).toBe("running");
    const pid1 = Number(inspect(n, "{{.State.Pid}}"));
    expect(pid1).toBeGreaterThan(0);
    // the engine's process is the container's init, seen from the host
    expect(readLinkOr(`/proc/${pid1}/exe`)).toMatch(/busybox$/);

    const e1 = eng(["exec", n, "sh", "-c", "echo exec-ok; exit 4"]);
    expect({ out: e1.stdout.trim(), code: e1.code }).toEqual({ out: "exec-ok", code: 4 });
    const e2 = eng(["exec", "-d", n, "sleep", "313"]);
    expect(e2.code).toBe(0);
    expect(waitFor(() => eng(["exec", n, "ps"]).stdout.includes("sleep 313"), 5000)).toBe(true);

    const top = eng(["top", n]);
    expect(top.out).toContain("sleep 313");
    expect(top.code).toBe(0);

    expect(eng(["pause", n]).code).toBe(0);
    expect(inspect(n, "{{.State.Status}}")).toBe("paused");
    expect(eng(["unpause", n]).code).toBe(0);
    expect(inspect(n, "{{.State.Status}}")).toBe("running");

    const stats = eng(["stats", "--no-stream", n]);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toContain(n);

    expect(eng(["kill", "--signal", "USR1", n]).code).toBe(0);
    expect(waitFor(() => eng(["logs", n]).out.includes("got-usr1"), 5000)).toBe(true);
    expect(inspect(n, "{{.State.Status}}")).toBe("running");

    const stop = eng(["stop", "-t", "20", n]);
    expect(stop.code).toBe(0);
    expect(inspect(n, "{{.State.Status}}")).toBe("exited");
    expect(inspect(n, "{{.State.ExitCode}}")).toBe("7"); // the TERM trap's status: TERM was enough, no KILL
    expect(eng(["logs", n]).out).toContain("got-term");

    expect(eng(["restart", "-t", "5", n]).code).toBe(0);
    expect(inspect(n, "{{.State.Status}}")).toBe("running");
    const pid2 = Number(inspect(n, "{{.State.Pid}}"));
    expect(pid2).toBeGreaterThan(0);
    expect(pid2).not.toBe(pid1);
    expect(eng(["exec", n, "echo", "after-restart"]).stdout.trim()).toBe("after-restart");

    expect(eng([...E().rmForce, n]).code).toBe(0);
    expect(eng(["inspect", n]).code).not.toBe(0);
    await clean(id, before);
  }, T);

  test(`stop: TERM ignored, then KILL`, async () => {
    const n = name("stopkill");
    const before = new Set(mountPoints());
    // sleep as pid 1 has no TERM handler: the kernel drops TERM for it
    const r = runc(["-d", "--cidfile", cidFile(n), "--name", n, E().image, "sleep", "1000"]);
    expect(r.code).toBe(0);
    const id = readCid(n);
    expect(eng(["stop", "-t", "2", n]).code).toBe(0);
    expect(inspect(n, "{{.State.Status}}")).toBe("exited");
    expect(inspect(n, "{{.State.ExitCode}}")).toBe("137"); // 128 + SIGKILL: the TERM changed nothing
    expect(eng([...E().rmForce, n]).code).toBe(0);
    await clean(id, before);
  }, T);

  test(`rm -f of a running container (kills, removes)`, async () => {
    const n = name("rmf");
    const before = new Set(mountPoints());
    expect(runc(["-d", "--cidfile", cidFile(n), "--name", n, E().image, "sleep", "1000"]).code).toBe(0);
    const id = readCid(n);
    const pid = Number(inspect(n, "{{.State.Pid}}"));
    expect(eng([...E().rmForce, n]).code).toBe(0);
    expect(waitFor(() => !existsSync(`/proc/${pid}`) || readLinkOr(`/proc/${pid}/exe`) === "", 5000)).toBe(true);
    await clean(id, before);
  }, T);

  test(`run -it on a real terminal: type a command, read its output`, async () => {
    const n = name("tty");
    const before = new Set(mountPoints());
    const s = await ptySession(E().runCmd(rt, "run", ["-it", "--rm", "--cidfile", cidFile(n), "--name", n, E().image, "sh"]), {
      env: E().env,
      prompt: PROMPT,
      input: "echo tty-$((6*7)); tty",
      expect: /tty-42[\s\S]*\/dev\/pts\/\d+/,
    });
    if (!s.sawExpect) console.log(`${E().name}/${rt} run -it screen:\n${s.screen}`);
    expect(s.sawPrompt).toBe(true);
    expect(s.sawExpect).toBe(true);
    expect(s.code).toBe(0);
    const id = readCid(n);
    eng([...E().rmForce, n]);
    if (id) await clean(id, before);
  }, T);

  test(`exec -t and exec -it in a running container`, async () => {
    const n = name("exectty");
    const before = new Set(mountPoints());
    expect(runc(["-d", "--cidfile", cidFile(n), "--name", n, E().image, "sleep", "1000"]).code).toBe(0);
    const id = readCid(n);
    try {
      const t = eng(["exec", "-t", n, "tty"]);
      expect({ code: t.code, out: t.stdout.trim() }).toEqual({ code: 0, out: expect.stringMatching(/^\/dev\/pts\/\d+$/) });
      const s = await ptySession(E().cmd(["exec", "-it", n, "sh"]), { env: E().env, prompt: PROMPT, input: "echo exec-tty-$((6*7))", expect: /exec-tty-42/ });
      if (!s.sawExpect) console.log(`${E().name}/${rt} exec -it screen:\n${s.screen}`);
      expect(s.sawExpect).toBe(true);
      expect(s.code).toBe(0);
    } finally {
      eng([...E().rmForce, n]);
    }
    await clean(id, before);
  }, T);

  // Only configs the engine passes on and the runtime refuses: Docker and
  // Podman reject an unknown --tmpfs option and a missing bind source
  // themselves, before any runtime runs, so those say nothing about skiff.
  // Both cases here reach the runtime's create: the engine wraps what the
  // runtime printed in an "OCI ..." message (Docker: "OCI runtime create
  // failed"; Podman: "OCI runtime error", or the "OCI runtime attempted to
  // invoke a command that was not found" it makes of "no such file").
  test(`engine-visible errors: broken config, bad mount`, async () => {
    const before = new Set(mountPoints());
    const file = join(E().dir, "a-file");
    writeFileSync(file, "x\n");
    const cases: [string, string[], RegExp][] = [
      // net.* sysctls are namespaced: both engines pass any of them on; the runtime finds no such file under /proc/sys
      ["broken config (--sysctl net.ipv4.nosuch=1)", ["--sysctl", "net.ipv4.nosuch=1"], /nosuch/],
      // the engines check the source, not the destination: the runtime cannot mount below the file /etc/hostname
      ["bad mount (destination below a file)", ["--mount", `type=bind,source=${file},destination=/etc/hostname/sub`], /hostname/],
    ];
    for (const [what, args, re] of cases) {
      const n = name("err");
      const r = runc(["--rm", "--cidfile", cidFile(n), "--name", n, ...args, E().image, "true"]);
      recordError({ engine: E().name, what, runtime: rt, code: r.code, message: r.stderr });
      expect({ what, failed: r.code !== 0 }).toEqual({ what, failed: true });
      expect(r.stderr).toMatch(/\bOCI\b/); // it reached the runtime (Podman maps some causes to "OCI permission denied")
      expect(r.stderr).toMatch(re);
      const id = readCid(n);
      eng([...E().rmForce, n]);
      if (id) await clean(id, before);
    }
  }, T);
}
