import type { Command } from "./command";
import { requireId } from "./command";
import { CREATE_FLAGS, createOptions } from "./create_flags";
import { createContainer } from "../container/create";

export const command: Command = {
  flags: CREATE_FLAGS,
  usage: "[command options] <container-id>",
  run(p, g) {
    const id = requireId(p, "skiff create [options] <container-id>");
    createContainer({ ...createOptions(p, g.root, id), systemdCgroup: g.systemdCgroup });
    return 0;
  },
};
