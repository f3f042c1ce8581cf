import type { Command } from "./command";
import { requireId } from "./command";
import { CREATE_FLAGS, createOptions } from "./create_flags";
import { createContainer } from "../container/create";
import { releaseFifo } from "../container/start";
import { deleteContainer } from "../container/delete";
import { logPhase } from "../util/log";
import { forwardSignals } from "./signals";

export const command: Command = {
  flags: {
    ...CREATE_FLAGS,
    detach: { kind: "bool", short: "d", help: "detach from the container's process" },
    keep: { kind: "bool", help: "do not delete the container after it exits" },
    "no-subreaper": { kind: "bool", help: "disable the use of the subreaper used to reap reparented processes" },
  },
  usage: "[command options] <container-id>",
  async run(p, g) {
    const id = requireId(p, "skiff run [options] <container-id>");
    const detach = Boolean(p.flags.detach);
    const opts = { ...createOptions(p, g.root, id), systemdCgroup: g.systemdCgroup, foreground: !detach, subreaper: !p.flags["no-subreaper"] };
    // Attached: every signal goes to the container's process (queued until its pid is known).
    const signals = detach ? undefined : forwardSignals();
    const created = createContainer(opts);
    const pid = created.state.pid;
    try {
      signals?.start(pid, { terminal: Boolean(created.state.config.process?.terminal) });
      releaseFifo(created.state, created.paths);
    } catch (e) {
      deleteContainer(g.root, id, { force: true });
      throw e;
    }
    if (detach) return 0;
    logPhase("started");
    const code = await created.init.proc.exited;
    logPhase("container exited");
    // The cgroup record is the one this process wrote: no need to check it on disk again.
    if (!p.flags.keep) deleteContainer(g.root, id, { force: true, ownCgroup: created.state.cgroup });
    logPhase("deleted");
    return code;
  },
};
