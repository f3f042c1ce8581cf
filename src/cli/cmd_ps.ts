// `skiff ps`: the processes of a container, from its cgroup, as runc's ps:
// json is the array of host pids; table runs the host's ps(1) (default -ef)
// and keeps its header and the lines of those pids.
import { spawnSync } from "bun";
import type { Command } from "./command";
import { SkiffError, UsageError } from "../errors";
import { readState } from "../container/state";
import { cgroupPids } from "../cgroups/manage";
import { writeOut } from "../util/output";

const USAGE = "skiff ps [command options] <container-id> [ps options]";

export const command: Command = {
  flags: {
    format: { kind: "string", short: "f", help: "select one of: table or json (default: \"table\")" },
  },
  usage: "[command options] <container-id> [-- ps options]",
  stopAtFirstArg: true,
  run(p, g) {
    const [id, ...rest] = p.args;
    if (!id) throw new UsageError(`expected at least 1 argument (container id): usage: ${USAGE}`);
    const psArgs = rest[0] === "--" ? rest.slice(1) : rest;
    const format = (p.flags.format as string | undefined) ?? "table";
    if (format !== "table" && format !== "json") throw new UsageError(`invalid format option ${JSON.stringify(format)} (from --format): use table or json`);
    const { state } = readState(g.root, id);
    const pids = cgroupPids(state.cgroup);
    if (format === "json") {
      writeOut(JSON.stringify(pids) + "\n");
      return 0;
    }
    writeOut(filterPsOutput(runPs(psArgs.length ? psArgs : ["-ef"]), pids));
    return 0;
  },
};

function runPs(args: string[]): string {
  let r;
  try {
    r = spawnSync(["ps", ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  } catch (e) {
    throw new SkiffError(`run ps: ${(e as Error).message}`);
  }
  const out = r.stdout.toString() + r.stderr.toString();
  if (r.exitCode !== 0) throw new SkiffError(`ps ${args.join(" ")}: exit status ${r.exitCode}: ${out.trim()}`);
  return r.stdout.toString();
}

/** The header and the lines whose PID column is one of pids. */
export function filterPsOutput(output: string, pids: readonly number[]): string {
  const lines = output.split("\n");
  const header = lines[0] ?? "";
  const pidIndex = header.trim().split(/\s+/).indexOf("PID");
  if (pidIndex < 0) throw new SkiffError("couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const out = [header];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const field = line.trim().split(/\s+/)[pidIndex];
    const pid = Number(field);
    if (!Number.isInteger(pid)) throw new SkiffError(`unable to parse pid: ${JSON.stringify(field)}`);
    if (wanted.has(pid)) out.push(line);
  }
  return out.join("\n") + "\n";
}
