import type { Command } from "./command";
import { UsageError } from "../errors";
import { parseSignal } from "../config/tables";
import { killContainer } from "../container/kill";

export const command: Command = {
  flags: { all: { kind: "bool", short: "a", help: "send the specified signal to all processes inside the container" } },
  usage: "[command options] <container-id> [signal]",
  run(p, g) {
    if (p.args.length < 1 || p.args.length > 2) throw new UsageError(`expected 1 or 2 arguments, got ${p.args.length}: usage: skiff kill [-a] <container-id> [signal]`);
    const name = p.args[1] ?? "SIGTERM";
    const signal = parseSignal(name);
    if (signal === undefined) throw new UsageError(`unknown signal ${JSON.stringify(name)}`);
    killContainer(g.root, p.args[0]!, { signal, all: Boolean(p.flags.all) });
    return 0;
  },
};
