import type { Command } from "./command";
import { requireId } from "./command";
import { resumeContainer } from "../container/pause";

export const command: Command = {
  flags: {},
  usage: "<container-id>",
  run(p, g) {
    resumeContainer(g.root, requireId(p, "skiff resume <container-id>"));
    return 0;
  },
};
