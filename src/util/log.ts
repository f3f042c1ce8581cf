// --log and --log-format: runc's log lines, which engines read to learn why
// a command failed. Errors always go to stderr as one line as well.
import { writeErr } from "./output";
import { appendFileSync } from "node:fs";

export interface LogConfig {
  file?: string;
  format: "text" | "json";
  debug: boolean;
}

let config: LogConfig = { format: "text", debug: false };

export function configureLog(c: LogConfig): void {
  config = c;
}

type Level = "debug" | "info" | "warning" | "error";

function write(level: Level, msg: string): void {
  if (!config.file) return;
  const time = new Date().toISOString();
  const line =
    config.format === "json"
      ? JSON.stringify({ level, msg, time })
      : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    appendFileSync(config.file, line + "\n");
  } catch {
    // the log is for the engine; an unwritable one must not hide the error
  }
}

export function logError(msg: string): void {
  write("error", msg);
  writeErr(`skiff: ${msg}\n`);
}

export function logWarning(msg: string): void {
  write("warning", msg);
  writeErr(`skiff: warning: ${msg}\n`);
}

export function logDebug(msg: string): void {
  if (!config.debug) return;
  write("debug", msg);
  if (!config.file) writeErr(`skiff: debug: ${msg}\n`);
}

/** --debug: where the time goes (ms since skiff started). */
export function logPhase(name: string): void {
  if (config.debug) logDebug(`${name} at ${performance.now().toFixed(1)} ms`);
}
