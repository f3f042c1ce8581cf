// What every command module exports, and the small helpers they share.
// Commands import from here, main.ts imports the commands: arrows point one way.
import { UsageError } from "../errors";
import type { FlagDefs, Parsed } from "./args";

export interface Globals {
  root: string;
  systemdCgroup: boolean;
  rootless: boolean;
}

export interface Command {
  flags: FlagDefs;
  usage: string;
  /** flags end at the first argument: the rest is a command line (exec) */
  stopAtFirstArg?: boolean;
  run(p: Parsed, g: Globals): Promise<number> | number;
}

/** One container id as the only argument, as most commands take. */
export function requireId(p: Parsed, usage: string): string {
  if (p.args.length !== 1) throw new UsageError(`expected 1 argument (container id), got ${p.args.length}: usage: ${usage}`);
  return p.args[0]!;
}
