// `skiff exec`: runc's command line for running a process in a container.
// Attached, skiff returns the process's exit status (128+n for signal n);
// with --detach it returns once the process runs, leaving nothing behind.
import { ExitStatus, type Command } from "./command";
import { UsageError } from "../errors";
import { execContainer } from "../container/exec";
import { listenEnv, preservedFds } from "./fds";
import { forwardSignals } from "./signals";

/**
 * exec's own failures (no such container, paused, bad --pid-file, a command
 * that cannot start), as runc: a caller tells them from the usual statuses
 * of the process (0, 1, 126, 127, 128+n). Usage errors stay 1, as runc's.
 */
const EXEC_FAILED = 255;

const USAGE = "skiff exec [command options] <container-id> <command> [command options]  ||  -p process.json <container-id>";

export const command: Command = {
  flags: {
    "console-socket": { kind: "string", help: "path to an AF_UNIX socket which will receive the pty master (with --tty and --detach)" },
    cwd: { kind: "string", help: "current working directory in the container" },
    env: { kind: "list", short: "e", help: "set environment variables (repeatable)" },
    tty: { kind: "bool", short: "t", help: "allocate a pseudo-TTY" },
    user: { kind: "string", short: "u", help: "UID (format: <uid>[:<gid>]), or a name from the container's /etc/passwd" },
    "additional-gids": { kind: "list", short: "g", help: "additional gids (repeatable)" },
    process: { kind: "string", short: "p", help: "path to the process.json" },
    detach: { kind: "bool", short: "d", help: "detach from the container's process" },
    "pid-file": { kind: "string", help: "specify the file to write the process id to" },
    "process-label": { kind: "string", help: "set the asm process label for the process commonly used with selinux" },
    apparmor: { kind: "string", help: "set the apparmor profile for the process" },
    "no-new-privs": { kind: "bool", help: "set the no new privileges value for the process" },
    cap: { kind: "list", short: "c", help: "add a capability to the bounding set for the process (repeatable)" },
    "preserve-fds": { kind: "int", help: "pass N additional file descriptors to the process (stdio + $LISTEN_FDS + N in total)" },
    cgroup: { kind: "list", help: "run the process in an (existing) sub-cgroup: path, or controller[,controller]:path (repeatable)" },
    "ignore-paused": { kind: "bool", help: "allow exec in a paused container" },
  },
  usage: "[command options] <container-id> <command> [command options]  ||  -p process.json <container-id>",
  stopAtFirstArg: true,
  async run(p, g) {
    const f = p.flags;
    const [id, ...args] = p.args;
    if (!id) throw new UsageError(`expected at least 1 argument (container id): usage: ${USAGE}`);
    const list = (name: string) => (f[name] as string[] | undefined) ?? [];
    const detach = Boolean(f.detach);
    // Handlers first: a signal that comes while the process starts must not
    // kill skiff and leave the process behind. It is passed on once the pid is known.
    const signals = detach ? undefined : forwardSignals();
    let execed;
    try {
      execed = execContainer({
        root: g.root,
        id,
        args,
        processFile: f.process as string | undefined,
        cwd: f.cwd as string | undefined,
        env: [...list("env"), ...listenEnv()],
        user: f.user as string | undefined,
        additionalGids: list("additional-gids"),
        caps: list("cap"),
        noNewPrivs: Boolean(f["no-new-privs"]),
        detach,
        pidFile: f["pid-file"] as string | undefined,
        preserveFds: preservedFds((f["preserve-fds"] as number | undefined) ?? 0),
        cgroups: list("cgroup"),
        ignorePaused: Boolean(f["ignore-paused"]),
        apparmor: f.apparmor as string | undefined,
        processLabel: f["process-label"] as string | undefined,
        tty: Boolean(f.tty),
        consoleSocket: f["console-socket"] as string | undefined,
      });
    } catch (e) {
      // runc: everything after the command line parsed exits 255.
      throw new ExitStatus(e, EXEC_FAILED);
    }
    const { pid, init, terminal } = execed;
    if (detach) return 0;
    signals?.start(pid, { terminal });
    return await init.proc.exited;
  },
};
