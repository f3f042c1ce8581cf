// linux.cgroupsPath -> the container's directory in each hierarchy, confined
// to that hierarchy. config.json is input: "/../../../tmp/x" must name
// <mount>/tmp/x (as runc's CleanPath makes it), never /tmp/x.
import { posix } from "node:path";
import { SpecError } from "../errors";
import type { Hierarchy } from "./layout";

const POINTER = "/linux/cgroupsPath";

/**
 * runc's CleanPath: an absolute path is cleaned with ".." stopping at "/";
 * a relative one is cleaned as if it were absolute and made relative again,
 * so it never climbs above the cgroup it is relative to. "." is that cgroup.
 */
export function cleanCgroupsPath(path: string): string {
  const abs = posix.normalize(`/${path}`).replace(/\/+$/, "") || "/";
  if (path.startsWith("/")) return abs;
  return abs === "/" ? "." : abs.slice(1);
}

/**
 * Refuse a cgroupsPath that would put the container in a cgroup that is not
 * its own: the root of a hierarchy (every host process is there) or, for a
 * relative path, the caller's cgroup. `delete` and `kill --all` signal every
 * process of the container's cgroup, so either would reach the host.
 */
export function checkCgroupsPath(path: string, file: string): void {
  const clean = cleanCgroupsPath(path);
  if (clean === "/") throw new SpecError(file, [{ pointer: POINTER, message: `${JSON.stringify(path)} names the root of the cgroup hierarchy: give the container a cgroup of its own` }]);
  if (clean === ".") throw new SpecError(file, [{ pointer: POINTER, message: `${JSON.stringify(path)} names the cgroup skiff runs in: give the container a cgroup of its own` }]);
}

/**
 * The container's directory in hierarchy h: absolute paths from the
 * hierarchy's root, relative ones from the cgroup this process is in (`own`,
 * from /proc/self/cgroup). The result is always strictly below h.mount: an
 * own path that climbs out of it (a cgroup namespace can show "/../x") is
 * refused rather than followed.
 */
export function cgroupDir(h: Hierarchy, o: { cgroupsPath: string; own: Map<string, string>; file: string }): string {
  const clean = cleanCgroupsPath(o.cgroupsPath);
  const dir = clean.startsWith("/") ? posix.join(h.mount, clean) : posix.join(h.mount, o.own.get(h.key) ?? "/", clean);
  if (!isBelow(dir, h.mount)) {
    throw new SpecError(o.file, [{ pointer: POINTER, message: `${JSON.stringify(o.cgroupsPath)} leads to ${dir}, outside the cgroup hierarchy at ${h.mount}` }]);
  }
  return dir;
}

/** dir is strictly inside mount, lexically (cgroup file systems hold no symlinks). */
export function isBelow(dir: string, mount: string): boolean {
  const m = mount.endsWith("/") ? mount : `${mount}/`;
  return dir.startsWith(m) && dir.length > m.length && posix.normalize(dir) === dir;
}
