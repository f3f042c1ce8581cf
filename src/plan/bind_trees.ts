// Bind mounts made in skiff-init's parent stage, as detached trees: still in
// the host's user and mount namespaces, it clones each source (open_tree)
// and sets its flags there; the trees are inherited across clone and the
// container process moves each onto its target inside the rootfs
// (native/ops_tree.c). Two kinds of bind go this way:
//
// - Idmapped binds (mounts[].uidMappings/gidMappings, "idmap", "ridmap"):
//   mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN in the user
//   namespace of the source's filesystem, which a container's own user
//   namespace never has. The parent stage makes a user namespace holding
//   the mapping and idmaps the tree with it.
// - Every bind of a container with a user namespace, when root runs skiff:
//   inside that namespace the source may be out of reach (a 0700 directory
//   of host root), while the parent stage opens it with root's credentials,
//   as runc does.
//
// Mapping lines are written as in linux.uidMappings: "containerID hostID
// size". Through the mount, a file the source's filesystem stores as
// containerID+k is seen as hostID+k (from the host's user namespace), and a
// file created as hostID+k is stored as containerID+k, as in runc.
import type { Op } from "./ops";
import type { IdMapping, Mount, Spec } from "../config/types";
import { SpecError } from "../errors";
import {
  MOUNT_ATTR_IDMAP, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW,
  MOUNT_ATTR_RDONLY, MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_RELATIME, MOUNT_ATTR_STRICTATIME,
  MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW, MS_RDONLY, MS_NOATIME, MS_RELATIME, MS_STRICTATIME,
  MS_PRIVATE, MS_SHARED, MS_SLAVE, MS_UNBINDABLE,
  isBindMount, normalizeDestination, parseMountOptions, type MountOptions,
} from "../config/mount_options";

/** Slots for trees and user namespaces in skiff-init (native/ops_tree.c IDMAP_MAX). */
export const IDMAP_MAX = 256;

/** A mount is idmapped when it has mappings or the "idmap"/"ridmap" option. */
export function isIdmapped(m: Mount): boolean {
  return (m.uidMappings?.length ?? 0) > 0 || (m.gidMappings?.length ?? 0) > 0 || (m.options ?? []).some((o) => o === "idmap" || o === "ridmap");
}

/**
 * Tree slot of each mount made as a tree, by mount index, in the order
 * bindTreePlan opens them. privileged: skiff runs as root (an unprivileged
 * caller could not clone the source outside the container's namespace).
 * Binds onto /proc or the files lxcfs covers keep the in-container path:
 * their procfs checks live there (compile.ts procfsRule).
 */
export function bindTrees(spec: Spec, opts: { privileged: boolean }): Map<number, number> {
  const trees = new Map<number, number>();
  const userns = opts.privileged && (spec.linux?.namespaces ?? []).some((n) => n.type === "user");
  (spec.mounts ?? []).forEach((m, i) => {
    const dest = normalizeDestination(m.destination);
    const procTarget = dest === "/proc" || dest.startsWith("/proc/");
    if (isIdmapped(m) || (userns && isBindMount(m) && !procTarget)) trees.set(i, trees.size);
  });
  return trees;
}

// Per-mount flags of a bind, as mount_setattr attributes. The kernel keeps
// one access-time mode: a change clears MOUNT_ATTR__ATIME and sets the mode.
const FLAG_ATTRS: readonly (readonly [number, number])[] = [
  [MS_RDONLY, MOUNT_ATTR_RDONLY], [MS_NOSUID, MOUNT_ATTR_NOSUID], [MS_NODEV, MOUNT_ATTR_NODEV], [MS_NOEXEC, MOUNT_ATTR_NOEXEC],
  [MS_NODIRATIME, MOUNT_ATTR_NODIRATIME], [MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW],
];
const ATIME_ATTRS: readonly (readonly [number, number])[] = [
  [MS_NOATIME, MOUNT_ATTR_NOATIME], [MS_STRICTATIME, MOUNT_ATTR_STRICTATIME], [MS_RELATIME, MOUNT_ATTR_RELATIME],
];

export function bindAttrs(o: MountOptions): { set: number; clear: number } {
  let set = 0;
  let clear = 0;
  for (const [flag, attr] of FLAG_ATTRS) {
    if (o.flags & flag) set |= attr;
    else if (o.clearFlags & flag) clear |= attr;
  }
  const atime = ATIME_ATTRS.find(([flag]) => o.flags & flag);
  if (atime) {
    set |= atime[1];
    clear |= MOUNT_ATTR__ATIME;
  }
  return { set, clear };
}

// The tree's propagation: as a bind made inside the container's mount
// namespace would have it, never a peer that carries mounts back to the host.
function treePropagation(spec: Spec): number {
  const p = spec.linux?.rootfsPropagation ?? "rslave";
  if (p.endsWith("private")) return MS_PRIVATE;
  if (p.endsWith("unbindable")) return MS_UNBINDABLE;
  if (p.endsWith("shared")) return MS_SHARED;
  return MS_SLAVE;
}

const mapText = (maps: readonly IdMapping[] | undefined) => (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");

/** Parent-stage ops: detached trees, the idmap's user namespaces, the trees' flags; then the namespaces are closed. */
export function bindTreePlan(spec: Spec, opts: { bundle: string; privileged: boolean }): Op[] {
  const ops: Op[] = [];
  const trees = bindTrees(spec, opts);
  if (trees.size === 0) return ops;
  const userns = new Map<string, number>();
  const user = spec.linux?.namespaces?.find((n) => n.type === "user");
  const propagation = treePropagation(spec);
  for (const [i, tree] of trees) {
    const m = spec.mounts![i]!;
    const origin = `/mounts/${i}`;
    if (tree >= IDMAP_MAX) throw new SpecError("config.json", [{ pointer: origin, message: `at most ${IDMAP_MAX} bind mounts are supported in a user namespace` }]);
    const o = parseMountOptions(m.options ?? [], { pointer: `${origin}/options` });
    const source = (m.source ?? "").startsWith("/") ? m.source! : `${opts.bundle}/${m.source ?? ""}`;
    if (!isIdmapped(m)) {
      const recursive = o.recursive ? 1 : 0;
      ops.push({ op: "open_tree", tree, recursive, source, origin });
      ops.push({ op: "tree_setattr", tree, set: 0, clear: 0, propagation, recursive, userns: -1, origin });
      ops.push(...treeAttrOps(tree, o, origin));
      continue;
    }
    // Own mappings, else those of the container's user namespace (runc's rule for "idmap" alone).
    const own = (m.uidMappings?.length ?? 0) > 0;
    const path = !own && user?.path ? user.path : undefined;
    const uidMap = mapText(own ? m.uidMappings : spec.linux?.uidMappings);
    const gidMap = mapText(own ? m.gidMappings : spec.linux?.gidMappings);
    const key = path !== undefined ? `path ${path}` : `${uidMap}|${gidMap}`;
    let slot = userns.get(key);
    if (slot === undefined) {
      slot = userns.size;
      userns.set(key, slot);
      ops.push(path !== undefined ? { op: "open_userns", slot, path, origin } : { op: "idmap_userns", slot, uid_map: uidMap, gid_map: gidMap, origin });
    }
    const recursive = o.recursive || o.ridmap ? 1 : 0;
    ops.push({ op: "open_tree", tree, recursive, source, origin });
    ops.push({ op: "tree_setattr", tree, set: 0, clear: 0, propagation, recursive, userns: -1, origin });
    ops.push({ op: "tree_setattr", tree, set: MOUNT_ATTR_IDMAP, clear: 0, propagation: 0, recursive: o.ridmap ? 1 : 0, userns: slot, origin });
    ops.push(...treeAttrOps(tree, o, origin));
  }
  if (userns.size) ops.push({ op: "close_userns", origin: "/mounts" });
  return ops;
}

/** A tree's bind flags (its top mount only) and r* attributes (all of it). */
function treeAttrOps(tree: number, o: MountOptions, origin: string): Op[] {
  const ops: Op[] = [];
  const { set, clear } = bindAttrs(o);
  if (set || clear) ops.push({ op: "tree_setattr", tree, set, clear, propagation: 0, recursive: 0, userns: -1, origin });
  if (o.recAttrSet || o.recAttrClr) ops.push({ op: "tree_setattr", tree, set: o.recAttrSet, clear: o.recAttrClr, propagation: 0, recursive: 1, userns: -1, origin });
  return ops;
}
