import { writeOut } from "../util/output";
import type { Command } from "./command";
import { requireId } from "./command";
import { deriveStatus, ociState, readState } from "../container/state";

export const command: Command = {
  flags: {},
  usage: "<container-id>",
  run(p, g) {
    const { state, paths } = readState(g.root, requireId(p, "skiff state <container-id>"), { cgroupOnDisk: "status" });
    writeOut(JSON.stringify(ociState(state, deriveStatus(state, paths)), null, 2) + "\n");
    return 0;
  },
};
