// seccomp as Debian's runc (1.1.5) does it, issue 11 items 8-12: the same
// bundle and command under both runtimes, the same observable result. The
// expected values are written out as well, so a test also fails when both
// runtimes change together.
import { afterAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "bun";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import type { Spec } from "../../src/config/types";
import type { Seccomp } from "../../src/seccomp/compile";
import { needRoot, needRunc, skipWhy } from "../skip";
import { RUNC, RUNTIME_SYSCALLS, SKIFF, buildAgent, rawsysBundle, rootOf, runIn, shBundle, type Ran, type Runtime } from "./harness";

afterAll(() => cleanupTempDirs());

const skip = (what: string) => skipWhy(what, needRoot(), needRunc());
const BOTH: Runtime[] = ["runc", "skiff"];

// x86_64 numbers (the suite runs on x86_64 hosts)
const NR = { getpid: 39, process_vm_readv: 310, process_vm_writev: 311, kcmp: 312, dup3: 292, socket: 41 };

/** Runs the same rawsys calls under both runtimes; returns each one's result. */
async function bothRawsys(calls: string[], profile: () => Seccomp, edit?: (s: Spec) => void): Promise<Record<Runtime, Ran>> {
  const out = {} as Record<Runtime, Ran>;
  for (const rt of BOTH) out[rt] = await runIn(rt, rawsysBundle(calls, profile(), edit));
  return out;
}

/** "CALL = RESULT" lines as a map. */
function results(r: Ran): Record<string, number> {
  const m: Record<string, number> = {};
  for (const line of r.stdout.split("\n")) {
    const at = line.lastIndexOf(" = ");
    if (at > 0) m[line.slice(0, at)] = Number(line.slice(at + 3));
  }
  return m;
}

const nnpBoth = [true, false];

describe.skipIf(skip("item 8: conditions on the same argument"))("item 8: conditions on one argument are alternatives, as runc splits the rule", () => {
  // runc's seccomp_syscall_test1 in spirit: "pid 100 or 9001", a rule that
  // repeats index 0 and also tests index 1 (every condition alone is
  // enough), and a rule over two arguments (ANDed).
  const rules = [
    { names: ["process_vm_readv"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, value: 100, op: "SCMP_CMP_EQ" }, { index: 0, value: 9001, op: "SCMP_CMP_EQ" }] },
    { names: ["kcmp"], action: "SCMP_ACT_ERRNO", errnoRet: 55, args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 0, value: 2, op: "SCMP_CMP_EQ" }, { index: 1, value: 7, op: "SCMP_CMP_EQ" }] },
    { names: ["dup3"], action: "SCMP_ACT_ERRNO", errnoRet: 33, args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 2, value: 0xffff, op: "SCMP_CMP_EQ" }] },
  ];
  const calls = [
    `${NR.process_vm_readv}:100:0:0:0:0:0`, `${NR.process_vm_readv}:9001:0:0:0:0:0`, `${NR.process_vm_readv}:5:0:0:0:0:0`,
    `${NR.kcmp}:1:0:0:0:0`, `${NR.kcmp}:2:0:0:0:0`, `${NR.kcmp}:3:7:0:0:0`, `${NR.kcmp}:3:8:0:0:0`,
    `${NR.dup3}:1:-100:0xffff`, `${NR.dup3}:1:-100:0`, `${NR.dup3}:0:-100:0xffff`,
  ];
  // What the kernel says when the filter lets a call through: process_vm_readv
  // with no iovecs reads 0 bytes; kcmp of no such pid is ESRCH; dup3 of fd
  // -100 is EBADF, with bad flags EINVAL first.
  const want = {
    [calls[0]!]: -22, [calls[1]!]: -22, [calls[2]!]: 0,
    [calls[3]!]: -55, [calls[4]!]: -55, [calls[5]!]: -55, [calls[6]!]: -3,
    [calls[7]!]: -33, [calls[8]!]: -9, [calls[9]!]: -22,
  };
  for (const nnp of nnpBoth) {
    test(`allowing default (noNewPrivileges ${nnp})`, async () => {
      const profile = (): Seccomp => ({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], syscalls: rules });
      const r = await bothRawsys(calls, profile, (s) => (s.process!.noNewPrivileges = nnp));
      expect(r.runc.stderr).toBe("");
      expect(results(r.runc)).toEqual(want);
      expect(r.skiff.stderr).toBe("");
      expect(results(r.skiff)).toEqual(results(r.runc));
      expect(r.skiff.code).toBe(r.runc.code);
    });
  }
  test("denying default with an allow-list, the alternatives allowing (runc's test1 shape)", async () => {
    const profile = (): Seccomp => ({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"],
      syscalls: [
        { names: RUNTIME_SYSCALLS.filter((n) => n !== "dup3"), action: "SCMP_ACT_ALLOW" },
        { names: ["process_vm_readv"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 100, op: "SCMP_CMP_EQ" }, { index: 0, value: 9001, op: "SCMP_CMP_EQ" }] },
        { names: ["process_vm_writev"], action: "SCMP_ACT_ERRNO", errnoRet: 55, args: [{ index: 0, value: 1337, op: "SCMP_CMP_EQ" }, { index: 0, value: 2020, op: "SCMP_CMP_EQ" }] },
        { names: ["kcmp"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }, { index: 1, value: 1337, op: "SCMP_CMP_EQ" }] },
      ],
    });
    const c = [
      `${NR.process_vm_readv}:100:0:0:0:0:0`, `${NR.process_vm_readv}:9001:0:0:0:0:0`, `${NR.process_vm_readv}:0:0:0:0:0:0`,
      `${NR.process_vm_writev}:1337`, `${NR.process_vm_writev}:2020`, `${NR.process_vm_writev}:0`,
      `${NR.kcmp}:0:1337`, `${NR.kcmp}:0:0`, `${NR.kcmp}:500:1337`, "1000:1",
    ];
    const r = await bothRawsys(c, profile);
    expect(r.runc.stderr).toBe("");
    // allowed: no iovecs to copy, 0 bytes; EPERM is the default; ESRCH: no such pid; ENOSYS above the newest named syscall
    expect(results(r.runc)).toEqual({ [c[0]!]: 0, [c[1]!]: 0, [c[2]!]: -1, [c[3]!]: -55, [c[4]!]: -55, [c[5]!]: -1, [c[6]!]: -3, [c[7]!]: -1, [c[8]!]: -1, [c[9]!]: -38 });
    expect(r.skiff.stderr).toBe("");
    expect(results(r.skiff)).toEqual(results(r.runc));
  });
});

describe.skipIf(skip("item 9: the native architecture"))("item 9: the host's architecture is always in the filter", () => {
  // runc's own tests list x86 and x32 but not x86_64.
  for (const nnp of nnpBoth) {
    test(`architectures x86 and x32 only: the process runs, the rules apply to it (noNewPrivileges ${nnp})`, async () => {
      const profile = (): Seccomp => ({
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        // not a call runc's own init makes (it checks getppid, say)
        syscalls: [{ names: ["kcmp"], action: "SCMP_ACT_ERRNO", errnoRet: 28 }],
      });
      const r = await bothRawsys([`${NR.kcmp}:0:0:0:0:0`, `${NR.getpid}`], profile, (s) => (s.process!.noNewPrivileges = nnp));
      expect(r.runc.stderr).toBe("");
      expect(results(r.runc)).toEqual({ [`${NR.kcmp}:0:0:0:0:0`]: -28, [`${NR.getpid}`]: 1 });
      expect(r.skiff.stderr).toBe("");
      expect(results(r.skiff)).toEqual(results(r.runc));
      expect(r.skiff.code).toBe(0);
    });
  }
  test("with a denying default, syscalls past the newest named one get ENOSYS only on listed architectures (runc's stub)", async () => {
    for (const architectures of [["SCMP_ARCH_X86", "SCMP_ARCH_X32"], [], ["SCMP_ARCH_X86_64"]]) {
      const profile = (): Seccomp => ({ defaultAction: "SCMP_ACT_ERRNO", architectures, syscalls: [{ names: RUNTIME_SYSCALLS, action: "SCMP_ACT_ALLOW" }] });
      const r = await bothRawsys(["1000", "450", `${NR.getpid}`], profile);
      const unlisted = !architectures.includes("SCMP_ARCH_X86_64");
      const past = unlisted ? -1 : -38;
      expect(r.runc.stderr).toBe("");
      expect({ architectures, got: results(r.runc) }).toEqual({ architectures, got: { "1000": past, "450": past, [`${NR.getpid}`]: 1 } });
      expect({ architectures, got: results(r.skiff) }).toEqual({ architectures, got: results(r.runc) });
    }
  });
});

describe.skipIf(skip("item 11: notify on write"))("item 11: SCMP_ACT_NOTIFY on write is refused", () => {
  test("one line naming the pointer; nothing left behind", async () => {
    const profile = (): Seccomp => ({
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/nonexistent/agent.sock",
      syscalls: [{ names: ["mkdir", "write"], action: "SCMP_ACT_NOTIFY" }],
    });
    const runc = await runIn("runc", shBundle("echo ran", profile()));
    const skiff = await runIn("skiff", shBundle("echo ran", profile()));
    expect(runc.code).not.toBe(0);
    expect(runc.stdout).toBe("");
    expect(runc.stderr).toContain("SCMP_ACT_NOTIFY cannot be used for the write syscall");
    expect(skiff.code).not.toBe(0);
    expect(skiff.stdout).toBe("");
    expect(skiff.stderr.trim().split("\n")).toEqual([expect.stringContaining("/linux/seccomp/syscalls/0/names/1: SCMP_ACT_NOTIFY cannot be used for the write syscall")]);
    expect(skiff.leftState).toBe(false);
  });
});

describe.skipIf(skip("item 10: startContainer hooks under the filter"))("item 10: startContainer hooks run under the container's filter", () => {
  for (const nnp of nnpBoth) {
    test(`a hook making a killed syscall fails run with "error running hook" and the signal (noNewPrivileges ${nnp})`, async () => {
      // runc's seccomp.bats "startContainer hook", with a marker: the process must not run
      const profile = (): Seccomp => ({
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"],
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL" }],
      });
      const edit = (s: Spec) => {
        s.process!.noNewPrivileges = nnp;
        s.process!.rlimits = [{ type: "RLIMIT_CORE", soft: 0, hard: 0 }];
        s.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "mkdir /dev/shm/foo"] }] };
      };
      const r: Record<Runtime, Ran> = {} as Record<Runtime, Ran>;
      for (const rt of BOTH) r[rt] = await runIn(rt, shBundle("echo the process ran", profile(), edit));
      for (const rt of BOTH) {
        expect({ rt, code: r[rt].code === 0 }).toEqual({ rt, code: false });
        expect({ rt, stdout: r[rt].stdout }).toEqual({ rt, stdout: "" });
        expect({ rt, stderr: r[rt].stderr }).toEqual({ rt, stderr: expect.stringContaining("error running hook") });
        expect({ rt, stderr: r[rt].stderr }).toEqual({ rt, stderr: expect.stringContaining("signal: bad system call") });
      }
      expect(r.skiff.leftState).toBe(false);
    });
  }
  test("a hook making an allowed syscall runs, and so does the process", async () => {
    const profile = (): Seccomp => ({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL" }] });
    const edit = (s: Spec) => (s.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "touch /tmp/hooked"] }] });
    for (const rt of BOTH) {
      const r = await runIn(rt, shBundle("test -f /tmp/hooked && echo hooked", profile(), edit));
      expect({ rt, code: r.code, stdout: r.stdout }).toEqual({ rt, code: 0, stdout: "hooked\n" });
    }
  });
});

describe.skipIf(skip("item 12: exec with a listenerPath"))("item 12: exec of a container with a seccomp listener", () => {
  interface Seen {
    exec: { code: number; stdout: string; stderr: string };
    /** what the agent got for the first process and for the exec'd one */
    first: Record<string, any>;
    second: Record<string, any> | undefined;
    answered: string[];
  }
  /** run -d with the agent, then exec a mkdir that notifies; the agent answers ENOSPC. */
  async function execUnderAgent(rt: Runtime, nnp: boolean): Promise<Seen> {
    const bin = rt === "skiff" ? SKIFF : RUNC;
    const dir = tempDir(`skiff-sc-exec-${rt}-`);
    const sock = join(dir, "agent.sock"), stateFile = join(dir, "state.json");
    const agent = spawn([buildAgent(), sock, stateFile, "28", "2"], { stdout: "pipe", stderr: "pipe" });
    const first = new TextDecoder().decode((await agent.stdout.getReader().read()).value);
    expect(first).toContain("ready");
    const b = makeBundle({
      args: ["/bin/sleep", "60"],
      mutate: (s) => {
        s.process!.noNewPrivileges = nnp;
        s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: sock, listenerMetadata: "m-12", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }] };
      },
    });
    const id = `sc12-${process.pid}-${rt}-${nnp}`;
    const root = rootOf(rt);
    // stdio not a pipe: the detached container keeps it
    const run = spawnSync([bin, "--root", root, "run", "-d", "-b", b, id], { stdin: "ignore", stdout: "ignore", stderr: "ignore", timeout: 30_000 });
    let exec;
    try {
      expect(run.exitCode).toBe(0);
      const e = spawnSync([bin, "--root", root, "exec", id, "/bin/sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?; test -d /tmp/x && echo exists || echo absent"], {
        stdout: "pipe",
        stderr: "pipe",
        timeout: 30_000,
      });
      exec = { code: e.exitCode ?? -1, stdout: e.stdout.toString(), stderr: e.stderr.toString() };
    } finally {
      spawnSync([bin, "--root", root, "kill", id, "KILL"], { stdout: "ignore", stderr: "ignore" });
      // the agent leaves once both filters have no process left
      const timer = setTimeout(() => agent.kill("SIGKILL"), 10_000);
      await agent.exited;
      clearTimeout(timer);
      spawnSync([bin, "--root", root, "delete", "-f", id], { stdout: "ignore", stderr: "ignore" });
    }
    const read = (f: string) => (existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : undefined);
    const log = existsSync(`${stateFile}.log`) ? readFileSync(`${stateFile}.log`, "utf8").trim().split("\n").filter(Boolean) : [];
    return { exec, first: read(stateFile), second: read(`${stateFile}.1`), answered: log };
  }

  for (const nnp of nnpBoth) {
    test(`the exec'd process's listener fd goes to the agent with its state (noNewPrivileges ${nnp})`, async () => {
      const seen = {} as Record<Runtime, Seen>;
      for (const rt of BOTH) seen[rt] = await execUnderAgent(rt, nnp);
      for (const rt of BOTH) {
        const s = seen[rt];
        // the agent answered the exec'd mkdir: ENOSPC, and nothing was made
        expect({ rt, exec: s.exec }).toEqual({ rt, exec: { code: 0, stdout: "mkdir: can't create directory '/tmp/x': No space left on device\nrc=1\nabsent\n", stderr: "" } });
        expect({ rt, answered: s.answered }).toEqual({ rt, answered: ["83"] });
        const second = s.second!;
        expect({ rt, fds: second.fds, metadata: second.metadata, status: second.state.status, id: second.state.id }).toEqual({
          rt, fds: ["seccompFd"], metadata: "m-12", status: "running", id: expect.stringMatching(/^sc12-/),
        });
        // the process's own pid; the container's state carries init's
        expect({ rt, initPid: second.state.pid }).toEqual({ rt, initPid: s.first.pid });
        expect(second.pid).toBeGreaterThan(0);
        expect(second.pid).not.toBe(s.first.pid);
      }
      const shape = (o: Record<string, any>) => ({ keys: Object.keys(o).sort(), state: Object.keys(o.state).sort() });
      expect(shape(seen.skiff.second!)).toEqual(shape(seen.runc.second!));
    });
  }
});

describe.skipIf(skip("item 9: a process killed before exec"))("item 9: a container process killed before exec says how", () => {
  // A filter loaded before the user switch (noNewPrivileges false) that
  // kills capset, which both runtimes make after it: runc says "container
  // process is already dead"; skiff names the signal and the step.
  const profile = (): Seccomp => ({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["capset"], action: "SCMP_ACT_KILL_PROCESS" }] });
  const edit = (s: Spec) => (s.process!.noNewPrivileges = false);
  test("run: both fail; skiff names the signal and the op, and leaves nothing", async () => {
    const runc = await runIn("runc", shBundle("echo ran", profile(), edit));
    const skiff = await runIn("skiff", shBundle("echo ran", profile(), edit));
    expect(runc.code).not.toBe(0);
    expect(runc.stdout).toBe("");
    expect(runc.stderr).toContain("container process is already dead");
    expect(skiff.code).not.toBe(0);
    expect(skiff.stdout).toBe("");
    expect(skiff.stderr.trim().split("\n")).toEqual([
      expect.stringContaining("container process died before exec (from /process/capabilities): killed by signal 31: bad system call"),
    ]);
    expect(skiff.stderr).not.toContain("without a reason");
    expect(skiff.leftState).toBe(false);
  });
  test("create (the parent stage does not stay): the same", () => {
    const id = `sc9-${process.pid}`;
    const b = shBundle("echo ran", profile(), edit);
    const r = spawnSync([SKIFF, "--root", rootOf("skiff"), "create", "-b", b, id], { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 30_000 });
    spawnSync([SKIFF, "--root", rootOf("skiff"), "delete", "-f", id], { stdout: "ignore", stderr: "ignore" });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.toString()).toContain("container process died before exec (from /process/capabilities): killed by signal 31: bad system call");
    expect(existsSync(join(rootOf("skiff"), id))).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/pids/${id}`)).toBe(false);
  });
});

describe.skipIf(skipWhy("item 9: skiff-init itself killed", needRoot()))("item 9: skiff-init killed before it reports: the signal, never \"without a reason\"", () => {
  // skiff only (runc's init is another program): a stand-in skiff-init that
  // dies by SIGSEGV before it reads its plan.
  test("create, run and exec name the signal", () => {
    const dir = tempDir("skiff-sc-init-");
    // A program, not a script: skiff runs skiff-init from a sealed memfd by
    // /proc/self/fd/N, which is closed by the time an interpreter would open it.
    const fake = join(dir, "skiff-init");
    writeFileSync(`${fake}.c`, "#include <signal.h>\nint main(void) { raise(SIGSEGV); return 0; }\n");
    const cc = spawnSync(["gcc", "-O2", "-o", fake, `${fake}.c`], { stderr: "pipe" });
    expect(cc.stderr.toString()).toBe("");
    const root = rootOf("skiff");
    const b = makeBundle({ args: ["/bin/sleep", "60"] });
    const id = `sc9i-${process.pid}`;
    const withFake = (args: string[]) =>
      spawnSync([SKIFF, "--root", root, ...args], { env: { ...process.env, SKIFF_INIT: fake }, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 30_000 });
    try {
      for (const cmd of ["create", "run"]) {
        const r = withFake([cmd, "-b", b, id]);
        expect({ cmd, code: r.exitCode === 0 }).toEqual({ cmd, code: false });
        expect({ cmd, stderr: r.stderr.toString() }).toEqual({ cmd, stderr: "skiff: create container: skiff-init was killed by signal 11 (SIGSEGV) before the container was ready\n" });
        expect(existsSync(join(root, id))).toBe(false);
      }
      // exec into a container made by the real skiff-init
      expect(spawnSync([SKIFF, "--root", root, "run", "-d", "-b", b, id], { stdin: "ignore", stdout: "ignore", stderr: "ignore", timeout: 30_000 }).exitCode).toBe(0);
      const e = withFake(["exec", id, "/bin/true"]);
      expect(e.exitCode).not.toBe(0);
      expect(e.stderr.toString()).toContain("exec: skiff-init was killed by signal 11 (SIGSEGV) before it started the process");
    } finally {
      spawnSync([SKIFF, "--root", root, "delete", "-f", id], { stdout: "ignore", stderr: "ignore" });
    }
  });
});

describe.skipIf(skip("notify on the runtime's own syscalls"))("SCMP_ACT_NOTIFY on the syscalls the runtime makes after the load (runc's \"important syscalls\")", () => {
  // runc's seccomp-notify.bats: execve, openat, open, read, close notified,
  // the agent lets each through (SECCOMP_USER_NOTIF_FLAG_CONTINUE); the
  // runtime must not wait on the agent for one it makes itself.
  for (const nnp of nnpBoth) {
    test(`run /bin/true succeeds under both (noNewPrivileges ${nnp})`, async () => {
      for (const rt of BOTH) {
        const dir = tempDir(`skiff-sc-imp-${rt}-`);
        const sock = join(dir, "agent.sock"), stateFile = join(dir, "state.json");
        const agent = spawn([buildAgent(), sock, stateFile, "continue", "1"], { stdout: "pipe", stderr: "pipe" });
        expect(new TextDecoder().decode((await agent.stdout.getReader().read()).value)).toContain("ready");
        const b = makeBundle({
          args: ["/bin/true"],
          mutate: (s) => {
            s.process!.noNewPrivileges = nnp;
            s.linux!.seccomp = {
              defaultAction: "SCMP_ACT_ALLOW",
              listenerPath: sock,
              architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"],
              syscalls: [{ names: ["execve", "openat", "open", "read", "close"], action: "SCMP_ACT_NOTIFY" }],
            };
          },
        });
        const r = await runIn(rt, b);
        const timer = setTimeout(() => agent.kill("SIGKILL"), 10_000);
        await agent.exited;
        clearTimeout(timer);
        expect({ rt, code: r.code, stderr: r.stderr }).toEqual({ rt, code: 0, stderr: "" });
        // the agent saw the process's execve at least
        expect(readFileSync(`${stateFile}.log`, "utf8").trim().split("\n")).toContain("59");
      }
    });
  }
});
