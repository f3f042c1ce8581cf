// --log, --log-format and --debug: runc's log lines, which engines read to
// learn why a command failed and tools parse as logrus writes them.
//
// Where lines go, as runc: to the --log file when there is one (then errors
// and warnings are also printed plainly on stderr, for whoever ran skiff); with
// --debug and no --log, stderr is the log and takes every line in the log
// format. Otherwise stderr is for people: `skiff: <msg>` lines.
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

/** One line as runc (logrus) writes it, in text or JSON form, with its newline. */
export function formatLogLine(level: Level, msg: string, format: LogConfig["format"], now = new Date()): string {
  const time = rfc3339(now);
  if (format === "json") return JSON.stringify({ level, msg, time }) + "\n";
  return `time=${logfmtValue(time)} level=${level} msg=${logfmtValue(msg)}\n`;
}

/** Go's time.RFC3339 in local time: seconds, and "Z" or the offset as +hh:mm. */
export function rfc3339(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? "Z" : `${off < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`;
}

/** logrus's text formatter: bare when every character is [A-Za-z0-9-._/@^+] (or empty), else Go's %q. */
export function logfmtValue(s: string): string {
  return /^[A-Za-z0-9\-._/@^+]*$/.test(s) ? s : goQuote(s);
}

const GO_ESCAPES: Record<string, string> = { "\x07": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", '"': '\\"', "\\": "\\\\" };

/** Go's strconv.Quote for the characters a message holds: named escapes, \xNN for other controls. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (GO_ESCAPES[ch]) out += GO_ESCAPES[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code >= 0x80 && code < 0xa0) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else if (code >= 0xd800 && code <= 0xdfff) out += "\\ufffd"; // a lone surrogate: Go sees invalid UTF-8
    else out += ch;
  }
  return out + '"';
}

/** Writes the line to the log; true when that log is stderr (nothing more to print there). */
function write(level: Level, msg: string): boolean {
  const line = () => formatLogLine(level, msg, config.format);
  if (config.file) {
    try {
      appendFileSync(config.file, line());
    } catch {
      // the log is for the engine; an unwritable one must not hide the error
    }
    return false;
  }
  if (!config.debug) return false;
  writeErr(line());
  return true;
}

export function logError(msg: string): void {
  if (!write("error", msg)) writeErr(`skiff: ${msg}\n`);
}

export function logWarning(msg: string): void {
  if (!write("warning", msg)) writeErr(`skiff: warning: ${msg}\n`);
}

export function logDebug(msg: string): void {
  if (config.debug) write("debug", msg);
}

/** --debug: where the time goes (ms since skiff started). */
export function logPhase(name: string): void {
  if (config.debug) logDebug(`${name} at ${performance.now().toFixed(1)} ms`);
}
