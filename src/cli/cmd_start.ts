import type { Command } from "./main";
import { requireId } from "./main";
import { startContainer } from "../container/start";

export const command: Command = {
  flags: {},
  usage: "<container-id>",
  run(p, g) {
    startContainer(g.root, requireId(p, "skiff start <container-id>"));
    return 0;
  },
};
