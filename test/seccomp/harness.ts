// What the seccomp tests share: running a bundle under skiff or runc, the
// notify agent and the rawsys probe (test/seccomp/*.c), built on demand.
import { spawn, spawnSync } from "bun";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, makeBundle, tempDir } from "../bundle";
import type { Spec } from "../../src/config/types";
import type { Seccomp } from "../../src/seccomp/compile";

export const SKIFF = join(REPO_ROOT, "build/skiff");
export const RUNC = "/usr/sbin/runc";
export type Runtime = "skiff" | "runc";

/** Compiles test/seccomp/NAME.c into build/OUT unless it is up to date. */
function buildTool(name: string, outName: string, extra: string[] = []): string {
  const src = join(REPO_ROOT, `test/seccomp/${name}.c`);
  const out = join(REPO_ROOT, `build/${outName}`);
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return out;
  mkdirSync(join(REPO_ROOT, "build"), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(["gcc", ...extra, "-O2", "-Wall", "-Wextra", "-Werror", "-o", tmp, src], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`build ${name}: ${r.stderr.toString()}`);
  renameSync(tmp, out);
  return out;
}

export const buildAgent = () => buildTool("agent", "seccomp-agent");
/** Static: it runs in the test rootfs. */
export const buildRawsys = () => buildTool("rawsys", "rawsys", ["-static"]);

const roots: Partial<Record<Runtime, string>> = {};
/** The --root each runtime uses in this test process. */
export function rootOf(runtime: Runtime): string {
  return (roots[runtime] ??= tempDir(`skiff-sc-${runtime}-`));
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  /** the container's state directory was left behind */
  leftState: boolean;
}

let n = 0;

/** `RUNTIME run -b BUNDLE ID`, then `delete -f`. */
export async function runIn(runtime: Runtime, bundle: string, timeoutMs = 30_000): Promise<Ran> {
  const id = `sc-${process.pid}-${++n}-${runtime}`;
  const bin = runtime === "skiff" ? SKIFF : RUNC;
  const root = rootOf(runtime);
  const proc = spawn([bin, "--root", root, "run", "-b", bundle, id], { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: bundle });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  const leftState = existsSync(root) && readdirSync(root).includes(id);
  spawnSync([bin, "--root", root, "delete", "-f", id], { stdout: "ignore", stderr: "ignore" });
  return { code, stdout, stderr, leftState };
}

/** A busybox bundle that runs `sh -c SCRIPT` under the profile. */
export function shBundle(script: string, seccomp: Seccomp | undefined, edit?: (s: Spec) => void): string {
  return makeBundle({
    args: ["/bin/sh", "-c", script],
    mutate: (s) => {
      s.root!.readonly = false;
      if (seccomp) s.linux!.seccomp = seccomp;
      edit?.(s);
    },
  });
}

/** A bundle whose process is /rawsys CALLS... (see rawsys.c) under the profile. */
export function rawsysBundle(calls: string[], seccomp: Seccomp, edit?: (s: Spec) => void): string {
  const b = makeBundle({
    args: ["/rawsys", ...calls],
    mutate: (s) => {
      s.linux!.seccomp = seccomp;
      edit?.(s);
    },
  });
  copyFileSync(buildRawsys(), join(b, "rootfs/rawsys"));
  chmodSync(join(b, "rootfs/rawsys"), 0o755);
  return b;
}

/**
 * What a static C program and both runtimes need to get from create to the
 * program's exit, for profiles whose default denies: an allow-list.
 */
export const RUNTIME_SYSCALLS = [
  "read", "write", "open", "openat", "openat2", "close", "close_range", "fstat", "newfstatat", "stat", "lstat", "statx", "mmap", "munmap",
  "mprotect", "brk", "madvise", "mincore", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack", "ioctl",
  "dup2", "dup3", "fcntl", "execve", "exit", "exit_group", "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64",
  "getcwd", "chdir", "fchdir", "readlink", "readlinkat", "uname", "access", "faccessat", "faccessat2", "futex", "capget", "capset",
  "setgroups", "setresuid", "setresgid", "setuid", "setgid", "prctl", "getrandom", "umask", "fstatfs", "nanosleep", "getpid", "getppid",
  "gettid", "tgkill", "kill", "getuid", "getgid", "geteuid", "getegid", "setsid", "sched_getaffinity", "sched_yield", "lseek",
  "getdents64", "pipe", "pipe2", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_wait", "poll", "ppoll", "waitid", "wait4",
  "socket", "connect", "sendmsg", "recvmsg", "clone", "clone3", "fchown", "fchmod", "unlinkat", "mkdirat", "setitimer",
  "timer_create", "timer_settime",
];
