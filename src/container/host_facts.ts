// The facts of this host that the (pure) plan compiler needs.
import { statSync } from "node:fs";
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
