import { writeOut } from "../util/output";
import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { Command } from "./command";
import { UsageError } from "../errors";
import { loadSpec } from "../config/load";
import { compilePlan } from "../plan/compile";
import { printPlan } from "../plan/print";
import { detectLayout, parseProcCgroup } from "../cgroups/layout";
import { cgroupDirs } from "../cgroups/manage";
import { cgroupDir, checkCgroupsPath } from "../cgroups/cgroups_path";
import { gatherHostFacts } from "../container/host_facts";
import { containerPaths } from "../container/paths";
import { checkSupported } from "../container/supported";

export const command: Command = {
  flags: {
    id: { kind: "string", help: "container id to plan for (default: \"plan\")" },
    "no-pivot": { kind: "bool", help: "plan move + chroot instead of pivot_root" },
    "preserve-fds": { kind: "int", help: "plan for N extra file descriptors" },
  },
  usage: "[command options] <bundle>",
  run(p, g) {
    if (p.args.length !== 1) throw new UsageError(`expected 1 argument (bundle directory), got ${p.args.length}`);
    const bundle = resolve(p.args[0]!);
    const id = (p.flags.id as string | undefined) ?? "plan";
    const { spec } = loadSpec(bundle);
    checkSupported(spec, {});
    const layout = detectLayout();
    const own = parseProcCgroup(readFileSync("/proc/self/cgroup", "utf8"));
    const cgroupsPath = spec.linux?.cgroupsPath || id;
    const file = join(bundle, "config.json");
    checkCgroupsPath(cgroupsPath, file);
    const paths = Object.fromEntries(layout.hierarchies.map((h) => [h.name, cgroupDir(h, { cgroupsPath, own, file })]));
    const cgroupNs = (spec.linux?.namespaces ?? []).some((n) => n.type === "cgroup" && !n.path);
    const rootPath = spec.root!.path;
    const ops = compilePlan(spec, {
      rootfs: isAbsolute(rootPath) ? rootPath : join(bundle, rootPath),
      bundle,
      fifo: containerPaths(g.root, id).fifo,
      id,
      cgroups: cgroupDirs({ paths, created: [], unified: layout.hierarchies.some((h) => h.name === "unified") ? paths.unified : undefined }),
      noPivot: Boolean(p.flags["no-pivot"]),
      preserveFds: (p.flags["preserve-fds"] as number | undefined) ?? 0,
      host: gatherHostFacts(layout, { cgroup: { paths, created: [] }, cgroupNs }),
    });
    writeOut(printPlan(ops));
    return 0;
  },
};
