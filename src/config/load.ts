// Reads and validates <bundle>/config.json. On the path of every `create`,
// so it stays light: node:fs plus the hand-written validator, no ajv.

import { readFileSync } from "node:fs";
import { describeErrno, SpecError } from "../errors";
import { printable } from "../util/printable";
import type { Spec } from "./types";
import { dropNullMembers, dropUnknownDeviceAccess, validateSpec } from "./validate";
import { logWarning } from "../util/log";

export interface LoadOptions {
  /** Defaults to true: `create` and `run` need a process to start. */
  requireProcess?: boolean;
  /** Log what is accepted with a warning (default true; exec rereads a config create warned about). */
  warn?: boolean;
}

/** Load bundleDir/config.json; throws SpecError naming the file as given and every issue. */
export function loadSpec(bundleDir: string, opts: LoadOptions = {}): { spec: Spec; raw: string } {
  const file = configPath(bundleDir);
  const { raw, value } = readJsonFile(file);
  for (const w of dropUnknownDeviceAccess(value)) if (opts.warn ?? true) logWarning(`${file}: ${w.pointer}: ${w.message}`);
  const issues = validateSpec(value, { requireProcess: opts.requireProcess ?? true });
  if (issues.length > 0) throw new SpecError(file, issues);
  return { spec: value as Spec, raw };
}

// Keep the path as the user wrote it (no resolving), so messages match the command line.
function configPath(bundleDir: string): string {
  const dir = bundleDir.replace(/\/+$/, "");
  return `${dir === "" && bundleDir.startsWith("/") ? "" : dir || "."}/config.json`;
}

/** Read and parse a JSON file; a SpecError naming the file on either failure. */
export function readJsonFile(file: string): { raw: string; value: unknown } {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch (e) {
    throw new SpecError(file, [{ pointer: "", message: `open ${file}: ${describeErrno(e)}` }]);
  }
  try {
    return { raw, value: dropNullMembers(JSON.parse(raw)) };
  } catch (e) {
    // The parser quotes the bytes it stopped at: shown escaped, never raw.
    throw new SpecError(file, [{ pointer: "", message: printable(`parse json: ${file}: ${e instanceof Error ? e.message : String(e)}`) }]);
  }
}
