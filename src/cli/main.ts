// skiff's entry point: global flags, then one command. Each command lives in
// its own module, imported only when used, so `state` and `kill` stay fast.
import { writeOut } from "../util/output";
import { SkiffError, UsageError, describeErrno } from "../errors";
import { parseArgs, helpText, type FlagDefs } from "./args";
import { ExitStatus, type Command, type Globals } from "./command";
import { configureLog, logError, logPhase } from "../util/log";
import { printable } from "../util/printable";
import { DEFAULT_ROOT } from "../container/paths";

const GLOBAL_FLAGS: FlagDefs = {
  root: { kind: "string", help: `root directory for storage of container state (default: "${DEFAULT_ROOT}")` },
  log: { kind: "string", help: "set the log file to write skiff logs to (default is stderr only)" },
  "log-format": { kind: "string", help: "set the log format ('text' (default), or 'json')" },
  debug: { kind: "bool", help: "enable debug logging" },
  "systemd-cgroup": { kind: "bool", help: "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" for e.g. \"system.slice:skiff:434234\"" },
  rootless: { kind: "string", help: "ignore cgroup permission errors ('true', 'false', or 'auto')" },
  criu: { kind: "string", help: 'path to the criu binary used for checkpoint and restore (default: "criu")' },
  version: { kind: "bool", short: "v", help: "print the version" },
  help: { kind: "bool", short: "h", help: "show help" },
};

const COMMANDS: Record<string, () => Promise<{ command: Command }>> = {
  create: () => import("./cmd_create"),
  start: () => import("./cmd_start"),
  run: () => import("./cmd_run"),
  state: () => import("./cmd_state"),
  kill: () => import("./cmd_kill"),
  delete: () => import("./cmd_delete"),
  list: () => import("./cmd_list"),
  spec: () => import("./cmd_spec"),
  features: () => import("./cmd_features"),
  plan: () => import("./cmd_plan"),
  pause: () => import("./cmd_pause"),
  resume: () => import("./cmd_resume"),
  update: () => import("./cmd_update"),
  events: () => import("./cmd_events"),
  exec: () => import("./cmd_exec"),
  ps: () => import("./cmd_ps"),
  checkpoint: () => import("./cmd_checkpoint"),
  restore: () => import("./cmd_restore"),
};

const SUMMARY = `skiff: an OCI container runtime (runtime-spec 1.3) with runc's command line

usage: skiff [global options] command [command options] [arguments...]

commands:
   create    create a container
   start     execute the user-defined process in a created container
   run       create and run a container
   exec      execute new process inside the container
   ps        ps displays the processes running inside a container
   state     output the state of a container
   kill      send a signal to the container's init process
   delete    delete any resources held by the container
   list      list containers started by skiff with the given root
   spec      create a new specification file
   features  show the enabled features
   plan      print what create would do, one op per line, without doing it
   pause     pause all processes in the container
   resume    resume all processes that have been previously paused
   update    update container resource constraints
   events    display container events such as OOM notifications, cpu, memory, and IO usage statistics
   checkpoint  checkpoint a running container (criu)
   restore   restore a container from a previous checkpoint (criu)

global options:
`;

export async function main(argv: string[]): Promise<number> {
  let command = "";
  try {
    const global = parseArgs(argv, GLOBAL_FLAGS, { stopAtFirstArg: true });
    const f = global.flags;
    const format = (f["log-format"] as string | undefined) ?? "text";
    if (format !== "text" && format !== "json") throw new UsageError(`invalid log format ${JSON.stringify(format)} (from --log-format): use text or json`);
    configureLog({ file: f.log as string | undefined, format, debug: Boolean(f.debug) });
    if (f.version) {
      const { versionText } = await import("./version");
      writeOut(versionText());
      return 0;
    }
    [command = ""] = global.args;
    if (f.help || !command || command === "help") {
      writeOut(SUMMARY + helpText(GLOBAL_FLAGS) + "\n");
      return command || f.help ? 0 : 1;
    }
    const load = COMMANDS[command];
    if (!load) throw new UsageError(`no such command: ${command}`);
    logPhase(`skiff started`);
    const { command: cmd } = await load();
    logPhase(`${command} loaded`);
    const rest = global.args.slice(1);
    // For exec, a -h after the container id belongs to the command it runs.
    const end = cmd.stopAtFirstArg ? rest.findIndex((a) => !a.startsWith("-")) : -1;
    const flagPart = end >= 0 ? rest.slice(0, end) : rest;
    if (flagPart.includes("--help") || flagPart.includes("-h")) {
      writeOut(`usage: skiff ${command} ${cmd.usage}\n\noptions:\n${helpText(cmd.flags)}\n`);
      return 0;
    }
    const parsed = parseArgs(rest, cmd.flags, { stopAtFirstArg: cmd.stopAtFirstArg });
    const globals: Globals = {
      root: (f.root as string | undefined) ?? DEFAULT_ROOT,
      systemdCgroup: Boolean(f["systemd-cgroup"]),
      rootless: f.rootless === "true",
      criu: (f.criu as string | undefined) || "criu",
    };
    return await cmd.run(parsed, globals);
  } catch (caught) {
    const status = caught instanceof ExitStatus ? caught.status : 1;
    const e = caught instanceof ExitStatus ? caught.cause : caught;
    // Messages carry text from files and the command line: one line, no
    // terminal controls, whatever they held.
    if (e instanceof SkiffError) {
      logError(printable(e.message));
      return status;
    }
    // A file operation that failed on the host: its syscall, path and cause
    // are the whole story (an unwritable --root, say; Bun refuses a path
    // longer than PATH_MAX before any syscall, with the errno's code). Anything
    // else is a bug of ours: say so, with the stack for the report.
    const err = e as NodeJS.ErrnoException;
    if (typeof err?.code === "string" && /^E[A-Z]+$/.test(err.code)) {
      const path = err.path ? ` ${err.path.length > 200 ? `${err.path.slice(0, 200)}...` : err.path}` : "";
      logError(printable(`${command || "skiff"}: ${err.syscall ?? "path"}${path}: ${describeErrno(err)}`));
      return status;
    }
    logError(`${command || "skiff"}: internal error: ${err?.stack ?? e}`);
    return status;
  }
}
