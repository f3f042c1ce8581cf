// The container's mounts whose source lies outside it: criu cannot dump what
// they show, only name them. On dump each is named by its destination (a
// file masked with /dev/null by "/dev/null"); on restore each name maps to
// the source on this host, as runc does. Cgroup mounts without a cgroup
// namespace are binds of the container's own cgroup directories, which a
// restored container gets anew.
import { lstatSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Mount, Spec } from "../config/types";
import type { CgroupHierarchy } from "../plan/cgroup_mounts";
import { SkiffError } from "../errors";
import { isBindMount, normalizeDestination } from "../config/mount_options";

export interface KeyVal {
  key: string;
  val: string;
}


function hasCgroupNs(spec: Spec): boolean {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === "cgroup");
}

/** Where a cgroup mount's binds go: the mount itself on a v2 host, one per hierarchy on v1. */
function cgroupBinds(dest: string, hierarchies: readonly CgroupHierarchy[], unified: boolean): { dest: string; source: string }[] {
  return hierarchies.map((h) => ({ dest: unified ? dest : `${dest}/${h.dir}`, source: h.hostPath }));
}

export interface CgroupView {
  unified: boolean;
  hierarchies: CgroupHierarchy[];
}

/** ext_mnt for a dump: destination -> name in the image. */
export function dumpExtMounts(spec: Spec, opts: { cgroups: CgroupView; isFileInside: (path: string) => boolean }): KeyVal[] {
  const out: KeyVal[] = [];
  for (const m of spec.mounts ?? []) {
    const dest = normalizeDestination(m.destination);
    if (m.type === "cgroup" || m.type === "cgroup2") {
      if (hasCgroupNs(spec)) continue;
      for (const b of cgroupBinds(dest, opts.cgroups.hierarchies, opts.cgroups.unified)) out.push({ key: b.dest, val: b.dest });
    } else if (isBindMount(m)) {
      out.push({ key: dest, val: dest });
    }
  }
  // A masked file is /dev/null bound over it; masked directories are tmpfs, dumped whole.
  for (const path of spec.linux?.maskedPaths ?? []) {
    if (opts.isFileInside(path)) out.push({ key: normalizeDestination(path), val: "/dev/null" });
  }
  return out;
}

/** ext_mnt for a restore: name in the image -> source on this host. */
export function restoreExtMounts(spec: Spec, opts: { bundle: string; cgroups: CgroupView }): KeyVal[] {
  const out: KeyVal[] = [];
  for (const m of spec.mounts ?? []) {
    const dest = normalizeDestination(m.destination);
    if (m.type === "cgroup" || m.type === "cgroup2") {
      if (hasCgroupNs(spec)) continue;
      for (const b of cgroupBinds(dest, opts.cgroups.hierarchies, opts.cgroups.unified)) out.push({ key: b.dest, val: b.source });
    } else if (isBindMount(m)) {
      const source = m.source ?? "";
      out.push({ key: dest, val: source.startsWith("/") ? source : join(opts.bundle, source) });
    }
  }
  if (spec.linux?.maskedPaths?.length) out.push({ key: "/dev/null", val: "/dev/null" });
  return out;
}

/**
 * Make the mount points of the config in the rootfs, as create does, so
 * that criu can mount there (a rootfs copied elsewhere may lack them).
 * Those under a tmpfs of the config are left out: criu restores the tmpfs
 * with its content. Paths never leave the rootfs: a symlink on the way is refused.
 */
export function makeMountPoints(spec: Spec, opts: { rootfs: string; bundle: string }): void {
  const mounts = spec.mounts ?? [];
  const tmpfs = mounts.filter((m) => m.type === "tmpfs").map((m) => normalizeDestination(m.destination));
  const under = (p: string) => tmpfs.some((t) => p !== t && (t === "/" || p.startsWith(t + "/")));
  for (const [i, m] of mounts.entries()) {
    const dest = normalizeDestination(m.destination);
    if (under(dest)) continue;
    let asFile = false;
    if (isBindMount(m)) {
      const source = (m.source ?? "").startsWith("/") ? m.source! : join(opts.bundle, m.source ?? "");
      try {
        asFile = !statSync(source).isDirectory();
      } catch (e) {
        throw new SkiffError(`restore mount ${dest} (from /mounts/${i}): stat ${source}: ${(e as Error).message}`);
      }
    }
    makeInside(opts.rootfs, dest, asFile, `/mounts/${i}`);
  }
}

function makeInside(rootfs: string, dest: string, asFile: boolean, origin: string): void {
  const parts = dest.split("/").filter(Boolean);
  let at = rootfs;
  for (const [i, part] of parts.entries()) {
    at = join(at, part);
    const last = i === parts.length - 1;
    let st;
    try {
      st = lstatSync(at);
    } catch {
      st = undefined;
    }
    if (st?.isSymbolicLink()) throw new SkiffError(`restore mount point ${dest} (from ${origin}): ${at} is a symlink`);
    if (st) continue;
    // Made as new only (O_EXCL; mkdir never follows a last link): a link put
    // here meanwhile by a process sharing the rootfs is never followed, so
    // no host file is truncated; it is refused like one found above.
    try {
      if (last && asFile) writeFileSync(at, "", { mode: 0o644, flag: "wx" });
      else mkdirSync(at, { mode: 0o755 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (lstatSync(at).isSymbolicLink()) throw new SkiffError(`restore mount point ${dest} (from ${origin}): ${at} is a symlink`);
    }
  }
}
