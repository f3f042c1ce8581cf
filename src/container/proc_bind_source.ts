// A bind onto /proc must bring a procfs (runc's checkProcMount): anything
// else would give the container fake kernel files where every tool, and
// skiff-init's own checks, expect procfs. Checked here, before the state
// directory or a cgroup exists, so the refusal leaves nothing behind;
// skiff-init checks the tree it actually clones again (native/ops_fs.c),
// since the source can change in between.
import { statfsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Spec } from "../config/types";
import { isBindMount, normalizeDestination } from "../config/mount_options";
import { SpecError, type SpecIssue } from "../errors";

const PROC_SUPER_MAGIC = 0x9fa0;

export function checkProcBindSources(spec: Spec, bundle: string): void {
  const issues: SpecIssue[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    if (normalizeDestination(m.destination) !== "/proc" || !isBindMount(m)) return;
    const source = isAbsolute(m.source ?? "") ? m.source! : join(bundle, m.source ?? "");
    let type: number;
    try {
      type = statfsSync(source).type;
    } catch {
      return; // a missing source fails where every bind's does, naming it
    }
    if (type !== PROC_SUPER_MAGIC) {
      issues.push({ pointer: `/mounts/${i}`, message: `mount ${source} on /proc: the source is not procfs (only a procfs may be bound onto /proc)` });
    }
  });
  if (issues.length) throw new SpecError(join(bundle, "config.json"), issues);
}
