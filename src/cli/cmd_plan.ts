import { writeOut } from "../util/output";
import type { Command } from "./command";
import { UsageError } from "../errors";
import { printPlan } from "../plan/print";
import { planBundle } from "../container/plan_bundle";

export const command: Command = {
  flags: {
    id: { kind: "string", help: "container id to plan for (default: \"plan\")" },
    "no-pivot": { kind: "bool", help: "plan move + chroot instead of pivot_root" },
    "preserve-fds": { kind: "int", help: "plan for N extra file descriptors" },
  },
  usage: "[command options] <bundle>",
  run(p, g) {
    if (p.args.length !== 1) throw new UsageError(`expected 1 argument (bundle directory), got ${p.args.length}`);
    const ops = planBundle(p.args[0]!, {
      root: g.root,
      id: (p.flags.id as string | undefined) ?? "plan",
      noPivot: Boolean(p.flags["no-pivot"]),
      preserveFds: (p.flags["preserve-fds"] as number | undefined) ?? 0,
    });
    writeOut(printPlan(ops));
    return 0;
  },
};
