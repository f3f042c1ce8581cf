// Starts skiff-init and speaks its line protocol over a socketpair:
//   skiff -> init: the binary plan, then one byte per point ('G' = go on)
//   init -> skiff: "pid N", "point NAME", "error INDEX ERRNO MESSAGE\tCAUSE"
// Reads are blocking: a CLI has nothing else to do while it waits.
import { closeSync, existsSync, readSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Subprocess } from "bun";
import { HelperError, describeErrno } from "../errors";
import type { Op } from "../plan/ops";
import { exitOf, socketPair, waitGone } from "../util/libc";
import { logPhase } from "../util/log";
import { sealedCopy } from "./sealed_binary";

export type InitMessage =
  | { kind: "pid"; pid: number }
  | { kind: "point"; name: string }
  | { kind: "error"; index: number; errno: number; message: string; cause: string }
  | { kind: "eof" };

export function findInitBinary(): string {
  const candidates = [
    process.env.SKIFF_INIT,
    join(dirname(process.execPath), "skiff-init"),
    new URL("../../build/skiff-init", import.meta.url).pathname,
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new HelperError("find skiff-init: not found next to skiff; set SKIFF_INIT or reinstall");
}

export class InitChannel {
  private buffered = "";
  private constructor(
    readonly proc: Subprocess,
    private fd: number,
  ) {}

  /**
   * Spawn skiff-init with the caller's stdio and fds 3..3+preserveFds-1,
   * executed from a sealed memfd copy (sealed_binary.ts says why), never
   * from the file on disk. It waits for its plan (send): commands spawn it
   * first, so that its exec overlaps reading the config and making the
   * cgroups. A channel that never gets a plan must be abandon()ed.
   */
  static spawn(opts: { preserveFds: number }): InitChannel {
    const syncFd = 3 + opts.preserveFds;
    const binary = findInitBinary();
    const [ours, theirs] = socketPair();
    logPhase("sync socket made");
    let image: number;
    try {
      image = sealedCopy(binary, { minFd: syncFd + 1 });
    } catch (e) {
      closeSync(ours);
      closeSync(theirs);
      throw e;
    }
    logPhase("skiff-init copied into a sealed memfd");
    const passed: (number | "inherit")[] = [];
    for (let fd = 3; fd < syncFd; fd++) passed.push(fd);
    let proc: Subprocess;
    try {
      proc = Bun.spawn([`/proc/self/fd/${image}`, String(syncFd)], {
        argv0: "skiff-init",
        stdio: ["inherit", "inherit", "inherit", ...passed, theirs] as never,
        env: {},
      });
    } catch (e) {
      closeSync(ours);
      // Bun would name argv0 only; name the file the copy came from.
      throw new HelperError(`start skiff-init (a sealed copy of ${binary}): ${describeErrno(e)}`);
    } finally {
      closeSync(theirs);
      closeSync(image);
    }
    logPhase("skiff-init spawned");
    return new InitChannel(proc, ours);
  }

  /** The plan skiff-init executes; it has made nothing before it reads one. */
  send(plan: Uint8Array): void {
    this.write(plan);
  }

  /**
   * For a command that fails: close the socket and wait (bounded) for
   * skiff-init to exit, so that the failed command leaves no process behind.
   * Given no plan, skiff-init leaves without a word; in the middle of one, it
   * fails at its next read or report.
   */
  abandon(): void {
    if (this.fd < 0) return; // closed already: abandoned once, or handed over after its plan ran
    this.close();
    this.waitEnd(2000);
  }

  private write(bytes: Uint8Array): void {
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at);
    } catch (e) {
      // skiff-init is gone: the next read ends, and describeEnd says how.
      if (!gone(e)) throw e;
    }
  }

  /** Let skiff-init go on past the point it reported. */
  go(): void {
    this.write(new Uint8Array([0x47]));
  }

  /** go on, with a payload that the op asked for (u32 length, bytes) */
  goWith(payload: string): void {
    const bytes = new TextEncoder().encode(payload);
    const head = new Uint8Array(5);
    head[0] = 0x47;
    new DataView(head.buffer).setUint32(1, bytes.length, true);
    this.write(head);
    this.write(bytes);
  }

  next(): InitMessage {
    for (;;) {
      const nl = this.buffered.indexOf("\n");
      if (nl >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        return parseMessage(line);
      }
      const buf = Buffer.alloc(4096);
      let n: number;
      try {
        n = readSync(this.fd, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EINTR" || (e as NodeJS.ErrnoException).code === "EAGAIN") continue;
        if (gone(e)) return { kind: "eof" }; // it died with our bytes unread
        throw e;
      }
      if (n === 0) return { kind: "eof" };
      this.buffered += buf.subarray(0, n).toString();
    }
  }

  /**
   * Why skiff-init ended, for when the socket closed before it said: its
   * exit status or the signal that killed it (never "without a reason").
   */
  describeEnd(): string {
    const end = exitOf(this.proc.pid);
    if (!end) return "ended and its status is unknown";
    if ("code" in end) return `exited with status ${end.code}`;
    return `was killed by signal ${end.signal} (${signalName(end.signal)})`;
  }

  /** Wait (a bounded while: never forever) until skiff-init has exited. */
  waitEnd(timeoutMs = 10_000): boolean | undefined {
    return waitGone(this.proc.pid, timeoutMs);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export function parseMessage(line: string): InitMessage {
  const [kind, ...rest] = line.split(" ");
  if (kind === "pid") return { kind, pid: Number(rest[0]) };
  if (kind === "point") return { kind, name: rest.join(" ") };
  if (kind === "error") {
    const text = rest.slice(2).join(" ");
    const tab = text.indexOf("\t");
    return {
      kind,
      index: Number(rest[0]),
      errno: Number(rest[1]),
      message: tab >= 0 ? text.slice(0, tab) : text,
      cause: tab >= 0 ? text.slice(tab + 1).toLowerCase() : "",
    };
  }
  return { kind: "error", index: -1, errno: 0, message: `unexpected message from skiff-init: ${line}`, cause: "" };
}

/** skiff-init's error, with the origin in config.json of the op that failed. */
export function initError(msg: { index: number; message: string; cause: string }, ops: readonly Op[], opts: { prefix?: string } = {}): HelperError {
  const origin = ops[msg.index]?.origin;
  return new HelperError(`${opts.prefix ?? ""}${msg.message}${origin ? ` (from ${origin})` : ""}${msg.cause ? `: ${msg.cause}` : ""}`);
}

// node:os costs about half a millisecond to load: only on this error path.
function signalName(n: number): string {
  const { constants } = require("node:os") as typeof import("node:os");
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
}

function gone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "EPIPE" || code === "ECONNRESET";
}
