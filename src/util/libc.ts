// The few libc calls Bun does not offer: socketpair, flock, prctl, mkfifo;
// memfd_create, fcntl, sendfile (sealed copies); waitid, pidfd_open, poll
// (how a child ended). Loaded on first use only, so commands that need none
// (state) don't pay, and all in one dlopen: bun:ffi compiles one trampoline
// unit per dlopen (about 0.8 ms here, however many symbols it holds).
import type { Pointer } from "bun:ffi";

type Libc = {
  socketpair(domain: number, type: number, protocol: number, fds: Pointer): number;
  flock(fd: number, op: number): number;
  prctl(option: number, arg2: number, arg3: number, arg4: number, arg5: number): number;
  mkfifo(path: Pointer, mode: number): number;
  memfd_create(name: Pointer, flags: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  sendfile(outFd: number, inFd: number, offset: Pointer | null, count: number): number | bigint;
  waitid(idtype: number, id: number, info: Pointer, options: number): number;
  syscall(nr: number, a: number, b: number): number;
  poll(fds: Pointer, nfds: number, timeout: number): number;
  close(fd: number): number;
};

let libc: Libc | undefined;
let ffi: typeof import("bun:ffi") | undefined;

function load(): { libc: Libc; ffi: typeof import("bun:ffi") } {
  if (!libc || !ffi) {
    ffi = require("bun:ffi") as typeof import("bun:ffi");
    const { FFIType, dlopen } = ffi;
    const lib = dlopen("libc.so.6", {
      socketpair: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
      mkfifo: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      memfd_create: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.u64], returns: FFIType.i32 },
      sendfile: { args: [FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
      waitid: { args: [FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
      syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64], returns: FFIType.i64 },
      poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
      close: { args: [FFIType.i32], returns: FFIType.i32 },
    });
    libc = lib.symbols as unknown as Libc;
  }
  return { libc, ffi };
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;

/** A connected pair of unix stream sockets, both close-on-exec. */
export function socketPair(): [number, number] {
  const { libc, ffi } = load();
  const fds = new Int32Array(2);
  if (libc.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ffi.ptr(fds)) !== 0) {
    throw new Error("socketpair: failed");
  }
  return [fds[0]!, fds[1]!];
}

export function mkfifo(path: string, mode: number): void {
  const { libc, ffi } = load();
  const bytes = new TextEncoder().encode(path + "\0");
  if (libc.mkfifo(ffi.ptr(bytes), mode) !== 0) throw new Error(`mkfifo ${path}: failed`);
}

export const LOCK_EX = 2;
export const LOCK_UN = 8;

export function flock(fd: number, op: number): void {
  if (load().libc.flock(fd, op) !== 0) throw new Error("flock: failed");
}

// Used by the tests to stand in for an engine (conmon, a shim are subreapers).
const PR_SET_CHILD_SUBREAPER = 36;

export function setChildSubreaper(): void {
  load().libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

// ---- sealed memfd copies (src/helper/sealed_binary.ts) ----

export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;
/** Linux 6.3+: executable on purpose (vm.memfd_noexec may otherwise refuse exec). */
export const MFD_EXEC = 0x10;

/** memfd_create(2); -1 on failure. */
export function memfdCreate(name: string, flags: number): number {
  const bytes = new TextEncoder().encode(name + "\0");
  const { libc, ffi } = load();
  return libc.memfd_create(ffi.ptr(bytes), flags);
}

export const F_DUPFD_CLOEXEC = 1030;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;

/** fcntl(2) with an integer argument; -1 on failure. */
export function fcntl(fd: number, cmd: number, arg: number): number {
  return load().libc.fcntl(fd, cmd, arg);
}

/** sendfile(2) from the current offset of inFd; bytes copied, -1 on failure. */
export function sendfile(outFd: number, inFd: number, count: number): number {
  return Number(load().libc.sendfile(outFd, inFd, null, count));
}

// ---- how a child ended (src/helper/init_channel.ts) ----

const P_PID = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const CLD_EXITED = 1;

/**
 * How a child of ours ended, waiting for it if it has not yet, without
 * reaping it (WNOWAIT: Bun reaps its own children). Undefined when it cannot
 * be known (reaped already).
 */
export function exitOf(pid: number): { code: number } | { signal: number } | undefined {
  const { libc, ffi } = load();
  // siginfo_t: si_signo, si_errno, si_code, then (for SIGCHLD, 64-bit) si_pid at 16, si_uid, si_status at 24
  const info = new Int32Array(32);
  // ECHILD: someone reaped it already
  if (libc.waitid(P_PID, pid, ffi.ptr(info), WEXITED | WNOWAIT) !== 0 || info[4] !== pid) return undefined;
  return info[2] === CLD_EXITED ? { code: info[6]! } : { signal: info[6]! };
}

const SYS_pidfd_open = 434; // x86_64 and the asm-generic table alike
const POLLIN = 1;

/**
 * Wait up to timeoutMs for a process to exit (a pidfd is readable then);
 * true when it did, undefined when this kernel cannot tell (before 5.3).
 */
export function waitGone(pid: number, timeoutMs: number): boolean | undefined {
  const { libc, ffi } = load();
  const fd = Number(libc.syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return undefined;
  try {
    const pfd = new Int32Array([fd, POLLIN]); // struct pollfd { int fd; short events, revents; }
    return libc.poll(ffi.ptr(pfd), 1, timeoutMs) === 1;
  } finally {
    libc.close(fd);
  }
}
