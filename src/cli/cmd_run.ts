import type { Command } from "./main";
import { requireId } from "./main";
import { CREATE_FLAGS, createOptions } from "./create_flags";
import { createContainer } from "../container/create";
import { releaseFifo } from "../container/start";
import { deleteContainer } from "../container/delete";

// Signals a foreground `run` passes on to the container, as runc does.
const FORWARDED = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGWINCH", "SIGCONT", "SIGALRM", "SIGPIPE"] as const;

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
    const opts = { ...createOptions(p, g.root, id), foreground: !detach, subreaper: !p.flags["no-subreaper"] };
    const created = createContainer(opts);
    const pid = created.state.pid;
    try {
      for (const sig of FORWARDED) {
        process.on(sig, () => {
          try {
            process.kill(pid, sig);
          } catch {
            // already gone: the exit status is on its way
          }
        });
      }
      releaseFifo(created.state, created.paths);
    } catch (e) {
      deleteContainer(g.root, id, { force: true });
      throw e;
    }
    if (detach) return 0;
    const code = await created.init.proc.exited;
    if (!p.flags.keep) deleteContainer(g.root, id, { force: true });
    return code;
  },
};
