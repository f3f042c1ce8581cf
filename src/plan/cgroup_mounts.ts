// A "cgroup" mount in config.json becomes what the host's layout needs:
// cgroup2 on a unified host; a tmpfs holding one mount per hierarchy on v1
// and hybrid hosts. With a cgroup namespace the container gets fresh mounts
// rooted at its own cgroup; without one it gets binds of its own cgroup
// directories, so it never sees the host's tree either way.
import type { Op } from "./ops";
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC } from "../config/mount_options";

export interface CgroupHierarchy {
  dir: string; // name under /sys/fs/cgroup, e.g. "cpu" or "systemd" or "unified"
  fstype: "cgroup" | "cgroup2";
  options: string; // mount data for v1, e.g. "cpu" or "name=systemd"
  hostPath: string; // the container's cgroup directory on the host
}

export interface CgroupMountFacts {
  unified: boolean; // the host is cgroup v2 only
  hierarchies: CgroupHierarchy[]; // for v2: one entry, dir ""
  cgroupNs: boolean;
}

export function cgroupMountPlan(target: string, flags: number, opts: { facts: CgroupMountFacts; origin: string }): Op[] {
  const { facts, origin } = opts;
  const ops: Op[] = [];
  const subFlags = flags | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  const mountOne = (h: CgroupHierarchy, at: string) => {
    ops.push({ op: "mkdir", path: at, mode: 0o755, origin });
    if (facts.cgroupNs) {
      ops.push({ op: "mount", source: h.fstype, target: at, fstype: h.fstype, flags: subFlags, procfs: 0, data: h.options, origin });
    } else {
      ops.push({ op: "mount", source: h.hostPath, target: at, fstype: "", flags: MS_BIND | MS_REC, procfs: 0, data: "", origin });
      ops.push({ op: "remount", target: at, flags: MS_BIND | subFlags, origin });
    }
  };
  if (facts.unified) {
    for (const h of facts.hierarchies) mountOne(h, target);
    return ops;
  }
  ops.push({ op: "mkdir", path: target, mode: 0o755, origin });
  ops.push({ op: "mount", source: "tmpfs", target, fstype: "tmpfs", flags: subFlags & ~MS_RDONLY, procfs: 0, data: "mode=755", origin });
  for (const h of facts.hierarchies) mountOne(h, `${target}/${h.dir}`);
  if (flags & MS_RDONLY) ops.push({ op: "remount", target, flags: subFlags, origin });
  return ops;
}
