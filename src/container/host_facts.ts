// The facts of this host that the (pure) plan compiler needs.
import { readFileSync, realpathSync, statSync } from "node:fs";
import type { HostFacts } from "../plan/compile";
import type { CgroupLayout } from "../cgroups/layout";
import type { CgroupRecord } from "../cgroups/cgroup_types";

export function gatherHostFacts(layout: CgroupLayout, opts: { cgroup: CgroupRecord; cgroupNs: boolean }): HostFacts {
  const unified = layout.kind === "v2";
  return {
    sourceKind(path: string) {
      try {
        return statSync(path).isDirectory() ? "dir" : "file";
      } catch {
        return "missing";
      }
    },
    mountPointOf: mountPointOf,
    cgroup: {
      unified,
      cgroupNs: opts.cgroupNs,
      hierarchies: layout.hierarchies.map((h) => ({
        dir: unified ? "" : h.name,
        fstype: h.fstype,
        options: h.options,
        hostPath: opts.cgroup.paths[h.name] ?? h.mount,
      })),
    },
  };
}

/** The mount point (in this mount namespace) of the mount that holds path. */
export function mountPointOf(path: string): string | undefined {
  let real: string;
  let info: string;
  try {
    real = realpathSync(path);
    info = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return undefined;
  }
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  let best: string | undefined;
  for (const line of info.split("\n")) {
    const point = line.split(" ")[4];
    if (point === undefined) continue;
    const p = unescape(point);
    const holds = p === "/" || real === p || real.startsWith(p + "/");
    if (holds && (best === undefined || p.length > best.length)) best = p;
  }
  return best;
}
