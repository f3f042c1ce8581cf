// /dev inside the container: the default devices every runtime creates,
// the config's linux.devices, and the standard links.
import type { Op } from "./ops";
import type { Device } from "../config/types";

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** What runc creates in every container (libcontainer/specconv AllowedDevices). */
export const DEFAULT_DEVICES: readonly Device[] = [
  { type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o666 },
  { type: "c", path: "/dev/zero", major: 1, minor: 5, fileMode: 0o666 },
  { type: "c", path: "/dev/full", major: 1, minor: 7, fileMode: 0o666 },
  { type: "c", path: "/dev/random", major: 1, minor: 8, fileMode: 0o666 },
  { type: "c", path: "/dev/urandom", major: 1, minor: 9, fileMode: 0o666 },
  { type: "c", path: "/dev/tty", major: 5, minor: 0, fileMode: 0o666 },
];

const LINKS: readonly [string, string][] = [
  ["/proc/self/fd", "/dev/fd"],
  ["/proc/self/fd/0", "/dev/stdin"],
  ["/proc/self/fd/1", "/dev/stdout"],
  ["/proc/self/fd/2", "/dev/stderr"],
];

export function devicePlan(devices: readonly Device[], opts: { mountsDevpts: boolean }): Op[] {
  const ops: Op[] = [];
  const configured = new Set(devices.map((d) => d.path));
  for (const d of DEFAULT_DEVICES) {
    if (!configured.has(d.path)) ops.push(mknod(d, ""));
  }
  devices.forEach((d, i) => ops.push(mknod(d, `/linux/devices/${i}`)));
  for (const [target, path] of LINKS) ops.push({ op: "symlink", target, path, origin: "" });
  if (opts.mountsDevpts) ops.push({ op: "symlink", target: "pts/ptmx", path: "/dev/ptmx", origin: "" });
  return ops;
}

function mknod(d: Device, origin: string): Op {
  const type = d.type === "b" ? S_IFBLK : d.type === "p" ? S_IFIFO : S_IFCHR;
  return {
    op: "mknod",
    path: d.path,
    mode: type | (d.fileMode ?? 0o666),
    major: d.major ?? 0,
    minor: d.minor ?? 0,
    uid: d.uid ?? 0,
    gid: d.gid ?? 0,
    origin,
  };
}
