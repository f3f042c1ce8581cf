// What every command module exports, and the small helpers they share.
// Commands import from here, main.ts imports the commands: arrows point one way.
import { UsageError } from "../errors";
import type { FlagDefs, Parsed } from "./args";

export interface Globals {
  root: string;
  systemdCgroup: boolean;
  rootless: boolean;
  /** --criu: the criu binary checkpoint and restore run */
  criu: string;
}

export interface Command {
  flags: FlagDefs;
  usage: string;
  /** flags end at the first argument: the rest is a command line (exec) */
  stopAtFirstArg?: boolean;
  run(p: Parsed, g: Globals): Promise<number> | number;
}

/**
 * A command's failure that exits with `status` instead of 1: exec's own
 * errors exit 255, as runc's, so a caller tells them from the process's
 * own exit status 1. main.ts reports `cause` as any other error.
 */
export class ExitStatus extends Error {
  constructor(
    override readonly cause: unknown,
    readonly status: number,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** One container id as the only argument, as most commands take. */
export function requireId(p: Parsed, usage: string): string {
  if (p.args.length !== 1) throw new UsageError(`expected 1 argument (container id), got ${p.args.length}: usage: ${usage}`);
  return p.args[0]!;
}
