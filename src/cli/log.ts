// --log and --log-format: runc's log lines, which engines read to learn why
// a command failed. Errors always go to stderr as one line as well.
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
  process.stderr.write(`skiff: ${msg}\n`);
}

export function logWarning(msg: string): void {
  write("warning", msg);
  process.stderr.write(`skiff: warning: ${msg}\n`);
}

export function logDebug(msg: string): void {
  if (!config.debug) return;
  write("debug", msg);
  if (!config.file) process.stderr.write(`skiff: debug: ${msg}\n`);
}
