// What `skiff plan` shows: the plan create would hand skiff-init for a
// bundle, computed without creating anything (no cgroup, no state).
import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { loadSpec } from "../config/load";
import { compilePlan } from "../plan/compile";
import type { Op } from "../plan/ops";
import { detectLayout, parseProcCgroup } from "../cgroups/layout";
import { cgroupDirs } from "../cgroups/manage";
import { cgroupDir, checkCgroupsPath } from "../cgroups/cgroups_path";
import { gatherHostFacts } from "./host_facts";
import { containerPaths } from "./paths";
import { checkSupported } from "./supported";

export interface PlanBundleOptions {
  /** --root: where exec.fifo would be */
  root: string;
  id: string;
  noPivot?: boolean;
  preserveFds?: number;
}

export function planBundle(bundleDir: string, opts: PlanBundleOptions): Op[] {
  const bundle = resolve(bundleDir);
  const fifo = containerPaths(opts.root, opts.id).fifo;
  const { spec } = loadSpec(bundle);
  checkSupported(spec, {});
  const layout = detectLayout();
  const own = parseProcCgroup(readFileSync("/proc/self/cgroup", "utf8"));
  const cgroupsPath = spec.linux?.cgroupsPath || opts.id;
  const file = join(bundle, "config.json");
  checkCgroupsPath(cgroupsPath, file);
  const paths = Object.fromEntries(layout.hierarchies.map((h) => [h.name, cgroupDir(h, { cgroupsPath, own, file })]));
  const cgroupNs = (spec.linux?.namespaces ?? []).some((n) => n.type === "cgroup" && !n.path);
  const rootPath = spec.root!.path;
  return compilePlan(spec, {
    rootfs: isAbsolute(rootPath) ? rootPath : join(bundle, rootPath),
    bundle,
    fifo,
    id: opts.id,
    cgroups: cgroupDirs({ paths, created: [], unified: layout.hierarchies.some((h) => h.name === "unified") ? paths.unified : undefined }),
    noPivot: opts.noPivot,
    preserveFds: opts.preserveFds ?? 0,
    host: gatherHostFacts(layout, { cgroup: { paths, created: [] }, cgroupNs }),
  });
}
