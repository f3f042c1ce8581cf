import { writeOut } from "../util/output";
import type { Command } from "./command";
import { requireId } from "./command";
import { parseDurationMs } from "../cgroups/units";
import { statsEvent, streamEvents } from "../container/events";

export const command: Command = {
  flags: {
    interval: { kind: "string", help: "set the stats collection interval (default: 5s)" },
    stats: { kind: "bool", help: "display the container's stats then exit" },
  },
  usage: "[command options] <container-id>",
  async run(p, g) {
    const id = requireId(p, "skiff events [--stats] [--interval 5s] <container-id>");
    if (p.flags.stats) {
      writeOut(statsEvent(g.root, id) + "\n");
      return 0;
    }
    const intervalMs = parseDurationMs((p.flags.interval as string | undefined) ?? "5s", "interval");
    return streamEvents(g.root, id, { intervalMs, write: (line) => writeOut(line + "\n") });
  },
};
