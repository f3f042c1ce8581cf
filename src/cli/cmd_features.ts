import { writeOut } from "../util/output";
import type { Command } from "./main";
import { featuresDocument } from "../spec/features";

export const command: Command = {
  flags: {},
  usage: "",
  run() {
    writeOut(JSON.stringify(featuresDocument(), null, 4) + "\n");
    return 0;
  },
};
