import type { Command } from "./command";
import { requireId } from "./command";
import { pauseContainer } from "../container/pause";

export const command: Command = {
  flags: {},
  usage: "<container-id>",
  run(p, g) {
    pauseContainer(g.root, requireId(p, "skiff pause <container-id>"));
    return 0;
  },
};
