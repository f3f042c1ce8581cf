import { writeOut } from "../util/output";
import type { Command } from "./command";
import { featuresDocument } from "../config/features";

export const command: Command = {
  flags: {},
  usage: "",
  run(_p, g) {
    // checkpoint/restore: enabled where the criu binary is found (--criu or PATH).
    const criu = Bun.which(g.criu) ?? "";
    writeOut(JSON.stringify(featuresDocument({ criu }), null, 4) + "\n");
    return 0;
  },
};
