import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "./command";
import { SkiffError, UsageError } from "../errors";
import { defaultConfig } from "../config/default_config";

export const command: Command = {
  flags: {
    bundle: { kind: "string", short: "b", help: "path to the root of the bundle directory" },
    rootless: { kind: "bool", help: "generate a configuration for a rootless container" },
  },
  usage: "[command options]",
  run(p) {
    if (p.args.length) throw new UsageError(`expected no arguments, got ${p.args.length}`);
    const dir = (p.flags.bundle as string | undefined) ?? ".";
    const file = join(dir, "config.json");
    if (existsSync(file)) throw new SkiffError(`write ${file}: file exists`);
    writeFileSync(file, JSON.stringify(defaultConfig({ rootless: Boolean(p.flags.rootless) }), null, "\t") + "\n");
    return 0;
  },
};
