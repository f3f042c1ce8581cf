import { writeOut } from "../util/output";
import type { Command } from "./command";
import { featuresDocument } from "../config/features";

export const command: Command = {
  flags: {},
  usage: "",
  run() {
    writeOut(JSON.stringify(featuresDocument(), null, 4) + "\n");
    return 0;
  },
};
