import type { Command } from "./command";
import { requireId } from "./command";
import { deleteContainer } from "../container/delete";

export const command: Command = {
  flags: { force: { kind: "bool", short: "f", help: "forcibly delete the container if it is still running (uses SIGKILL)" } },
  usage: "[command options] <container-id>",
  run(p, g) {
    deleteContainer(g.root, requireId(p, "skiff delete [-f] <container-id>"), { force: Boolean(p.flags.force) });
    return 0;
  },
};
