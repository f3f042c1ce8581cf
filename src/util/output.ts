// Plain writes to stdout and stderr. Bun builds node's stream machinery on
// the first use of process.stdout (about 2.5 ms); a CLI that prints a line
// and exits does not need it.
import { writeSync } from "node:fs";

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(fd, bytes, at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        Bun.sleepSync(1); // a non-blocking pipe that is full: let the reader catch up
        continue;
      }
      if (code === "EPIPE") return; // the reader went away: nothing to tell
      throw e;
    }
  }
}

export function writeOut(text: string): void {
  writeAll(1, text);
}

export function writeErr(text: string): void {
  writeAll(2, text);
}
