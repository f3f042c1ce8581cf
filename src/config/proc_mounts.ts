// What config.json may mount at or inside /proc (runc's checkProcMount, as
// of runc 1.2 and the 1.1.14 fix). A container's /proc is where skiff-init,
// ps, and every tool in the container expect the kernel's answers; a tmpfs
// or a host directory there, or a volume over /proc/sys, lets whoever wrote
// the config or the image put fake kernel files in their place.
//
// The rule is on the destination as written (cleaned lexically), so it holds
// whether or not /proc is already procfs when the mount is made, and it is
// checked before anything exists. skiff-init adds the checks that need the
// real file system: a target that resolves into procfs through a link, and
// the source of a bind onto /proc (src/plan/compile.ts procfsRule).

import type { SpecIssue } from "../errors";
import { isBindMount, normalizeDestination } from "./mount_options";

/**
 * Files that lxcfs (and similar FUSE file systems) emulate per container:
 * the only paths inside /proc that a mount may cover. runc 1.1.5 lacks the
 * last one, which runc 1.2 added.
 */
export const LXCFS_FILES: ReadonlySet<string> = new Set([
  "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
  "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled",
]);

/** How a mount is named in a message: its type, or "bind". */
function kind(m: { type?: string; options?: readonly string[] }): string {
  return isBindMount(m) ? "bind" : m.type || "(no type)";
}

/**
 * Why config.json's mount may not go where it says, or undefined when it
 * may: on /proc only a proc mount or a bind (whose source skiff-init then
 * checks is a procfs); inside /proc only the files lxcfs emulates.
 */
export function procDestinationProblem(m: { destination: string; type?: string; options?: readonly string[] }): string | undefined {
  const dest = normalizeDestination(m.destination);
  if (dest === "/proc") {
    if (isBindMount(m) || m.type === "proc") return undefined;
    return `mount ${kind(m)} on /proc: not of type proc (only a proc mount or a bind of a procfs may go there)`;
  }
  if (!dest.startsWith("/proc/") || LXCFS_FILES.has(dest)) return undefined;
  return `mount ${kind(m)} on ${dest}: it is inside /proc (only the files lxcfs emulates, such as /proc/cpuinfo, may be covered)`;
}

/** Every mount of config.json that procDestinationProblem refuses, at its pointer. */
export function checkProcDestinations(out: SpecIssue[], mounts: readonly { destination?: unknown; type?: unknown; options?: unknown }[]): void {
  mounts.forEach((m, i) => {
    if (typeof m.destination !== "string") return; // the type layer reports it
    const options = Array.isArray(m.options) ? m.options.filter((o): o is string => typeof o === "string") : [];
    const why = procDestinationProblem({ destination: m.destination, type: typeof m.type === "string" ? m.type : undefined, options });
    if (why) out.push({ pointer: `/mounts/${i}`, message: why });
  });
}
