import type { Command } from "./command";
import { requireId } from "./command";
import { startContainer } from "../container/start";

export const command: Command = {
  flags: {},
  usage: "<container-id>",
  run(p, g) {
    startContainer(g.root, requireId(p, "skiff start <container-id>"));
    return 0;
  },
};
