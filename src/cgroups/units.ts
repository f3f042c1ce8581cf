// Sizes and durations written as runc's flags take them.
import { UsageError } from "../errors";

const RAM = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const POW: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 };

/** docker/go-units RAMInBytes: "100m" = 100 MiB, "1.5g", "512k", "1024" (bytes), "-1" unlimited. */
export function ramInBytes(text: string, flag: string): number {
  if (text === "-1") return -1;
  const m = RAM.exec(text);
  if (!m) throw new UsageError(`invalid value for --${flag}: invalid size: ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  if (!Number.isFinite(n)) throw new UsageError(`invalid value for --${flag}: invalid size: ${JSON.stringify(text)}`);
  const unit = m[2] ? POW[m[2].toLowerCase()]! : 0;
  return Math.floor(n * 1024 ** unit);
}

const DUR = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
const NS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in milliseconds: "5s", "1m30s", "500ms". */
export function parseDurationMs(text: string, flag: string): number {
  if (!/^((\d+(\.\d+)?)(ns|us|µs|ms|s|m|h))+$/.test(text)) throw new UsageError(`invalid value ${JSON.stringify(text)} for flag --${flag}: time: invalid duration`);
  let ns = 0;
  for (const m of text.matchAll(DUR)) ns += Number(m[1]) * NS[m[2]!]!;
  return ns / 1e6;
}

/** A signed integer flag (the arg parser's int kind refuses negatives). */
export function intFlag(text: string, flag: string, opts: { min?: number } = {}): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || (opts.min !== undefined && n < opts.min)) {
    throw new UsageError(`invalid value ${JSON.stringify(text)} for flag --${flag}: not an integer${opts.min !== undefined ? ` >= ${opts.min}` : ""}`);
  }
  return n;
}
