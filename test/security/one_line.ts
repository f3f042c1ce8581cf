// What every refusal must look like: a non-zero exit, exactly one line on
// stderr, no stack trace or "internal error", and no terminal control bytes
// (text from a hostile config.json must not reach the terminal raw).
import { expect } from "bun:test";
import { constants } from "node:os";
import type { SkiffResult } from "../integration/skiff";

// "enodev": an errno skiff has no words for (describeErrno's fallback)
const ERRNO_NAMES = new Set(Object.keys(constants.errno).map((n) => n.toLowerCase()));

// C0 controls but newline and tab, DEL, C1 controls.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/** Why r is not a clean one-line failure, or undefined. */
export function oneLineProblem(r: Pick<SkiffResult, "code" | "stderr">): string | undefined {
  if (r.code === 0) return "exit status 0";
  const lines = r.stderr.split("\n").filter(Boolean);
  if (lines.length !== 1) return `${lines.length} lines on stderr`;
  if (!r.stderr.endsWith("\n")) return "stderr does not end in a newline";
  if (/internal error|^\s+at /m.test(r.stderr)) return "a stack trace";
  if (CONTROL.test(r.stderr)) return "a control byte on stderr";
  const raw = r.stderr.split(/[^A-Za-z0-9]+/).find((w) => ERRNO_NAMES.has(w));
  if (raw) return `an errno without words: ${raw}`;
  return undefined;
}

/** Asserts the one-line failure and returns the line. */
export function expectOneLine(r: Pick<SkiffResult, "code" | "stderr">): string {
  expect({ problem: oneLineProblem(r), stderr: r.stderr.slice(0, 2000) }).toEqual({ problem: undefined, stderr: r.stderr.slice(0, 2000) });
  return r.stderr.trim();
}
