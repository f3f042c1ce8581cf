// seccomp enforced by skiff-init, as root: errno, kill, allow, the probe's
// Seccomp mode, notify with an agent of our own, and the same profiles under
// runc and skiff allowing and denying the same syscalls.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, needRunc, skipWhy } from "../skip";
import type { Spec } from "../../src/config/types";
import type { Seccomp } from "../../src/seccomp/compile";
import { defaultProfile } from "./profile";
import { RUNC, buildAgent, runIn, shBundle as bundle, type Ran } from "./harness";

const isRoot = process.getuid?.() === 0;
const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
let AGENT = "";

beforeAll(() => {
  if (isRoot) AGENT = buildAgent();
});
afterAll(() => cleanupTempDirs());

const denyMkdir = (action = "SCMP_ACT_ERRNO", errnoRet?: number): Seccomp => ({
  defaultAction: "SCMP_ACT_ALLOW",
  architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  syscalls: [{ names: ["mkdir", "mkdirat"], action, errnoRet }],
});

describe.skipIf(skipWhy("seccomp in skiff", needRoot()))("seccomp in skiff", () => {
  for (const nnp of [true, false]) {
    test(`a blocked syscall fails with EPERM, others work (noNewPrivileges ${nnp})`, async () => {
      const b = bundle("mkdir /tmp/d 2>&1; echo mkdir=$?; touch /tmp/f && echo touch=$?", denyMkdir(), (s) => (s.process!.noNewPrivileges = nnp));
      const r = await runIn("skiff", b);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("Operation not permitted");
      expect(r.stdout).toContain("mkdir=1");
      expect(r.stdout).toContain("touch=0");
      expect(r.code).toBe(0);
    });
  }

  test("errnoRet is the errno the syscall gets", async () => {
    const r = await runIn("skiff", bundle("mkdir /tmp/d 2>&1; echo mkdir=$?", denyMkdir("SCMP_ACT_ERRNO", 28)));
    expect(r.stdout).toContain("No space left on device");
  });

  test("SCMP_ACT_KILL_PROCESS kills by SIGSYS", async () => {
    const r = await runIn("skiff", bundle("mkdir /tmp/d; echo status=$?", denyMkdir("SCMP_ACT_KILL_PROCESS")));
    expect(r.stdout).toContain("status=159"); // 128 + SIGSYS
  });

  test("SCMP_ACT_KILL kills the first process: run reports the signal", async () => {
    const r = await runIn("skiff", bundle("exec mkdir /tmp/d", denyMkdir("SCMP_ACT_KILL")));
    expect(r.code).toBe(128 + 31);
  });

  test("allowed syscalls work, and args are compared (chmod to a mode with o=r-x is denied)", async () => {
    const p: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["chmod"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 1, value: 0o007, valueTwo: 0o005, op: "SCMP_CMP_MASKED_EQ" }] },
        { names: ["fchmodat"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 2, value: 0o007, valueTwo: 0o005, op: "SCMP_CMP_MASKED_EQ" }] },
      ],
    };
    const r = await runIn("skiff", bundle("mkdir /tmp/a && echo a=ok; chmod 750 /tmp/a && echo c1=ok; chmod 705 /tmp/a 2>&1; echo c2=$?; stat -c %a /tmp/a", p));
    expect(r.stdout).toContain("a=ok");
    expect(r.stdout).toContain("c1=ok");
    expect(r.stdout).toContain("Permission denied");
    expect(r.stdout).toContain("c2=1");
    expect(r.stdout).toContain("750");
  });

  test("the probe shows Seccomp: 2 and one filter", async () => {
    const b = makeBundle({ args: ["/probe", "caps"], mutate: (s) => (s.linux!.seccomp = denyMkdir()) });
    const r = await runIn("skiff", b);
    const caps = JSON.parse(r.stdout.split("\n").find((l) => l.startsWith("{"))!);
    expect(caps.seccomp).toBe(2);
    expect(caps.seccomp_filters).toBe(1);
  });

  test("the containers-common default profile runs a shell", async () => {
    const r = await runIn("skiff", bundle("echo hello; mkdir /tmp/x && echo mk=ok; chroot / true 2>&1; echo chroot=$?", defaultProfile({ caps: CAPS })));
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("hello");
    expect(r.stdout).toContain("mk=ok");
    expect(r.stdout).toContain("Operation not permitted");
    expect(r.stdout).toContain("chroot=1");
  });

  test("an unknown architecture fails create with the pointer", async () => {
    const r = await runIn("skiff", bundle("true", { ...denyMkdir(), architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_PDP11"] }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("/linux/seccomp/architectures/1");
  });

  for (const [answer, nnp] of [[0, true], [28, false]] as const) {
    test(`SCMP_ACT_NOTIFY: the agent gets the fd and the state, and answers (errno ${answer}, noNewPrivileges ${nnp})`, async () => {
      const dir = tempDir("skiff-sc-agent-");
      const sock = join(dir, "agent.sock");
      const stateFile = join(dir, "state.json");
      const agent = spawn([AGENT, sock, stateFile, String(answer)], { stdout: "pipe", stderr: "pipe" });
      const reader = agent.stdout.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toContain("ready");
      const p: Seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: sock,
        listenerMetadata: "hello-agent",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
      };
      const b = bundle("mkdir /tmp/n 2>&1; echo mkdir=$?; test -d /tmp/n && echo exists || echo absent", p, (s) => (s.process!.noNewPrivileges = nnp));
      const r = await runIn("skiff", b);
      const timer = setTimeout(() => agent.kill("SIGKILL"), 10_000);
      await agent.exited;
      clearTimeout(timer);
      expect(r.stderr).toBe("");
      if (answer === 0) {
        expect(r.stdout).toContain("mkdir=0");
        expect(r.stdout).toContain("absent"); // the agent said success without doing it
      } else {
        expect(r.stdout).toContain("No space left on device");
        expect(r.stdout).toContain("mkdir=1");
      }
      const state = JSON.parse(readFileSync(stateFile, "utf8"));
      expect(state.fds).toEqual(["seccompFd"]);
      expect(state.metadata).toBe("hello-agent");
      expect(state.pid).toBeGreaterThan(1);
      expect(state.state.status).toBe("creating");
      expect(state.state.pid).toBe(state.pid);
      expect(state.state.id).toMatch(/^sc-/);
      expect(readFileSync(`${stateFile}.log`, "utf8").trim().split("\n").length).toBeGreaterThanOrEqual(1);
    });
  }
});

// Each line: a busybox command and what came of it. The same profile under
// both runtimes must give the same lines.
const PROBES = [
  "mkdir /tmp/d",
  "rmdir /tmp/d",
  "ln -s /x /tmp/l",
  "chmod 600 /etc/hostname",
  "chown 1000 /etc/hostname",
  "mknod /tmp/fifo p",
  "hostname other",
  "unshare -U true",
  "unshare -m true",
  "nice -n 5 true",
  "touch /tmp/t",
  "sync",
  "mount -t tmpfs none /mnt",
  "setpriv --reuid 1000 true",
  "chroot / true",
  "linux32 true",
  "swapoff /tmp/nothing",
  "cat /proc/self/status",
];
const SCRIPT = PROBES.map((c) => `${c} >/dev/null 2>/tmp/err; echo "${c}: $? $(cut -d: -f2- /tmp/err | tail -n1)"`).join("\n");

const PROFILES: Record<string, () => Seccomp> = {
  "containers-common default": () => defaultProfile({ caps: CAPS }),
  "deny-list with errnos and args": () => ({
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [
      { names: ["mkdir", "mkdirat", "symlink", "symlinkat"], action: "SCMP_ACT_ERRNO", errnoRet: 28 },
      { names: ["fchmodat", "chmod"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 2, value: 0o600, op: "SCMP_CMP_EQ" }] },
      { names: ["chmod"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 1, value: 0o600, op: "SCMP_CMP_EQ" }] },
      { names: ["setpriority"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 2, value: 4, op: "SCMP_CMP_GT" }] },
      { names: ["unshare"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [{ index: 0, value: 0x10000000, valueTwo: 0x10000000, op: "SCMP_CMP_MASKED_EQ" }] },
      { names: ["sethostname"], action: "SCMP_ACT_ERRNO", errnoRet: 16 },
      { names: ["mknodat", "mknod"], action: "SCMP_ACT_ERRNO", errnoRet: 19 },
    ],
  }),
  "allow-list": () => ({
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 38,
    syscalls: [
      {
        names: [
          "read", "write", "open", "openat", "close", "fstat", "newfstatat", "stat", "lstat", "mmap", "munmap", "mprotect", "brk", "rt_sigaction",
          "rt_sigprocmask", "rt_sigreturn", "ioctl", "dup2", "dup3", "fcntl", "execve", "exit", "exit_group", "wait4", "clone", "fork", "vfork",
          "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "arch_prctl", "set_tid_address", "set_robust_list", "prlimit64",
          "getcwd", "chdir", "readlink", "uname", "access", "faccessat", "faccessat2", "lseek", "pipe", "pipe2", "getdents64", "rseq", "futex",
          "capget", "capset", "setgroups", "setresuid", "setresgid", "prctl", "close_range", "statx", "sched_setaffinity", "getrandom", "umask",
          "fstatfs", "statfs", "nanosleep", "clock_nanosleep", "clock_gettime", "sched_yield", "madvise", "sigaltstack", "gettid", "tgkill",
          "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_wait", "readlinkat", "mincore", "sched_getaffinity", "fchdir", "setsid",
          "getpgrp", "setpgid", "setuid", "setgid", "setreuid", "setregid", "getgroups", "getresuid", "getresgid", "kill", "socket", "connect", "sendmsg", "recvmsg", "getsockopt", "keyctl", "dup", "openat2", "waitid",
          "rmdir", "unlink", "unlinkat", "sync", "setpriority", "getpriority", "poll", "ppoll", "sysinfo",
        ],
        action: "SCMP_ACT_ALLOW",
      },
    ],
  }),
};

describe.skipIf(skipWhy("seccomp: runc and skiff agree", needRoot(), needRunc()))("seccomp: runc and skiff agree", () => {
  for (const [label, make] of Object.entries(PROFILES)) {
    for (const nnp of [true, false]) {
      test(`${label} (noNewPrivileges ${nnp})`, async () => {
        const edit = (s: Spec) => {
          s.process!.noNewPrivileges = nnp;
          s.mounts!.push({ destination: "/mnt", type: "tmpfs", source: "tmpfs" });
        };
        const runc = await runIn("runc", bundle(SCRIPT, make(), edit));
        const skiff = await runIn("skiff", bundle(SCRIPT, make(), edit));
        const lines = (r: Ran) => r.stdout.split("\n").filter((l) => l && !l.startsWith("cat /proc/self/status"));
        expect(runc.stderr).toBe("");
        expect(lines(runc).length).toBe(PROBES.length - 1);
        expect(skiff.stderr).toBe(runc.stderr);
        expect(lines(skiff)).toEqual(lines(runc));
        expect(skiff.code).toBe(runc.code);
      });
    }
  }
});
