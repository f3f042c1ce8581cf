// Kernel numbers for the names config.json and the CLI use (Linux x86_64).
// Pure data: the validator checks names against these tables and the plan
// compiler turns names into the numbers skiff-init passes to syscalls.

import type { NamespaceType } from "./types";

/** Capability name -> bit number (linux/capability.h). */
export const CAPABILITIES: Readonly<Record<string, number>> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
};

/** Highest capability number skiff knows (CAP_LAST_CAP of the tables). */
export const CAP_LAST_CAP = 40;

/** Resource name -> resource number for setrlimit/prlimit (asm-generic/resource.h). */
export const RLIMITS: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

/** Signal name without "SIG" -> number (x86_64, asm/signal.h). Aliases included. */
export const SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
  RTMIN: 34,
  RTMAX: 64,
};

const SIG_RTMIN = 34;
const SIG_RTMAX = 64;

/**
 * Parse a signal the way `runc kill` accepts it: a number ("15"), a name
 * with or without the SIG prefix in any case ("TERM", "SIGTERM", "term"),
 * or a real-time offset ("RTMIN+3", "SIGRTMAX-2"). Returns undefined for
 * anything else, including numbers outside 0..64 (0 probes for existence).
 */
export function parseSignal(s: string): number | undefined {
  const text = s.trim();
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    return n <= SIG_RTMAX ? n : undefined;
  }
  let name = text.toUpperCase();
  if (name.startsWith("SIG")) name = name.slice(3);
  const rt = /^(RTMIN|RTMAX)([+-])([0-9]+)$/.exec(name);
  if (rt) {
    const base = rt[1] === "RTMIN" ? SIG_RTMIN : SIG_RTMAX;
    const n = base + (rt[2] === "+" ? 1 : -1) * Number(rt[3]);
    return n >= SIG_RTMIN && n <= SIG_RTMAX ? n : undefined;
  }
  return Object.hasOwn(SIGNALS, name) ? SIGNALS[name] : undefined;
}

/** Namespace type -> CLONE_NEW* flag (linux/sched.h). */
export const NAMESPACE_FLAGS: Readonly<Record<NamespaceType, number>> = {
  mount: 0x00020000, // CLONE_NEWNS
  cgroup: 0x02000000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  network: 0x40000000,
  time: 0x00000080,
};

/** Namespace type -> file name under /proc/<pid>/ns/. */
export const NAMESPACE_PROC_NAMES: Readonly<Record<NamespaceType, string>> = {
  mount: "mnt",
  cgroup: "cgroup",
  uts: "uts",
  ipc: "ipc",
  user: "user",
  pid: "pid",
  network: "net",
  time: "time",
};

/** Every namespace type of runtime-spec v1.3, in runc's order. */
export const NAMESPACE_TYPES: readonly NamespaceType[] = [
  "pid",
  "network",
  "mount",
  "ipc",
  "uts",
  "user",
  "cgroup",
  "time",
];
