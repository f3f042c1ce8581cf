// The seccomp section of `skiff features`: what the compiler knows, and of
// the flags, what this kernel supports.
import { readFileSync } from "node:fs";
import { SUPPORTED_ARCHES } from "./arch";
import { SECCOMP_ACTIONS, SECCOMP_FLAGS, SECCOMP_OPERATORS } from "./compile";

export interface SeccompHost {
  /** /proc/sys/kernel/seccomp/actions_avail, split */
  actionsAvail: string[];
  /** kernel release, e.g. [6, 1] */
  kernel: [number, number];
}

export function readSeccompHost(): SeccompHost {
  let actionsAvail: string[] = [];
  try {
    actionsAvail = readFileSync("/proc/sys/kernel/seccomp/actions_avail", "utf8").trim().split(/\s+/);
  } catch {
    // no seccomp filter support: nothing is supported
  }
  let kernel: [number, number] = [0, 0];
  try {
    const m = /^(\d+)\.(\d+)/.exec(readFileSync("/proc/sys/kernel/osrelease", "utf8"));
    if (m) kernel = [Number(m[1]), Number(m[2])];
  } catch {
    // unknown kernel: only the flags that need no version
  }
  return { actionsAvail, kernel };
}

const atLeast = (k: [number, number], major: number, minor: number) => k[0] > major || (k[0] === major && k[1] >= minor);

export function seccompFeatures(host: SeccompHost = readSeccompHost()): object {
  const filters = host.actionsAvail.includes("allow");
  const supported = Object.keys(SECCOMP_FLAGS).filter((f) => {
    if (!filters) return false;
    if (f === "SECCOMP_FILTER_FLAG_LOG") return host.actionsAvail.includes("log"); // 4.14
    if (f === "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return atLeast(host.kernel, 4, 17);
    if (f === "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") return host.actionsAvail.includes("user_notif") && atLeast(host.kernel, 5, 19);
    return true; // TSYNC (3.17)
  });
  return {
    enabled: true,
    actions: [...SECCOMP_ACTIONS],
    operators: [...SECCOMP_OPERATORS],
    archs: [...SUPPORTED_ARCHES],
    knownFlags: Object.keys(SECCOMP_FLAGS),
    supportedFlags: supported,
  };
}
