// A small flag parser with runc's (urfave/cli) conventions: `--flag value`,
// `--flag=value`, `-f value`, booleans without a value, `--` ends flags.
// A "list" flag may repeat; its values are collected in order (string[]).
import { UsageError } from "../errors";

export type FlagKind = "bool" | "string" | "int" | "list";
export interface FlagDef {
  kind: FlagKind;
  short?: string;
  help: string;
}
export type FlagDefs = Record<string, FlagDef>;
export type Parsed = { flags: Record<string, string | boolean | number | string[] | undefined>; args: string[] };

export function parseArgs(argv: readonly string[], defs: FlagDefs, opts: { stopAtFirstArg?: boolean } = {}): Parsed {
  const flags: Parsed["flags"] = {};
  const args: string[] = [];
  const byShort = new Map(Object.entries(defs).flatMap(([name, d]) => (d.short ? [[d.short, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      // Global flags end at the command name; its own flags follow it.
      if (opts.stopAtFirstArg) {
        args.push(...argv.slice(i));
        break;
      }
      args.push(a);
      continue;
    }
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const key = eq >= 0 ? body.slice(0, eq) : body;
    const name = defs[key] ? key : byShort.get(key);
    if (!name) throw new UsageError(`flag provided but not defined: ${a.split("=")[0]}`);
    const def = defs[name]!;
    if (def.kind === "bool") {
      flags[name] = eq >= 0 ? body.slice(eq + 1) !== "false" : true;
      continue;
    }
    const value = eq >= 0 ? body.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`flag needs an argument: ${a}`);
    if (def.kind === "int") {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`invalid value ${JSON.stringify(value)} for flag ${a}: not a non-negative integer`);
      flags[name] = n;
    } else if (def.kind === "list") {
      const prev = flags[name];
      flags[name] = [...(Array.isArray(prev) ? prev : []), value];
    } else {
      flags[name] = value;
    }
  }
  return { flags, args };
}

export function helpText(defs: FlagDefs): string {
  return Object.entries(defs)
    .map(([name, d]) => {
      const names = (d.short ? `-${d.short}, ` : "") + `--${name}${d.kind === "bool" ? "" : " value"}`;
      return `   ${names.padEnd(28)} ${d.help}`;
    })
    .join("\n");
}
