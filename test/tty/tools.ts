// Helpers for the terminal tests: the two small C programs (recvtty, the
// console-socket receiver; ptyrun, a pty for the caller), built static into
// build/ on first use, and a driver for an interactive session on a pty.
import { spawn, spawnSync, type Subprocess } from "bun";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "../bundle";

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/** Compile test/tty/NAME.c into build/NAME unless it is current; returns the path. */
export function buildTool(name: "recvtty" | "ptyrun"): string {
  const src = join(REPO_ROOT, "test/tty", `${name}.c`);
  const out = join(REPO_ROOT, "build", name);
  if (mtime(out) >= mtime(src)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", tmp, src], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`build ${name}: ${r.stderr.toString()}`);
  renameSync(tmp, out);
  return out;
}

/** A process whose output is collected as it comes, with expect(). */
export class Session {
  out = "";
  private constructor(readonly proc: Subprocess<"pipe", "pipe", "pipe">) {
    void this.pump(proc.stdout);
    void this.pump(proc.stderr);
  }

  static start(argv: string[]): Session {
    return new Session(spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "pipe" }));
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of stream) this.out += dec.decode(chunk, { stream: true });
  }

  type(text: string): void {
    this.proc.stdin.write(text);
    this.proc.stdin.flush();
  }

  /** Wait until the output after `from` matches re; returns the index after the match. */
  async expect(re: RegExp, opts: { from?: number; timeoutMs?: number } = {}): Promise<number> {
    const end = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      const m = re.exec(this.out.slice(opts.from ?? 0));
      if (m) return (opts.from ?? 0) + m.index + m[0].length;
      if (Date.now() > end) throw new Error(`expect ${re}: not seen in output:\n${this.out}`);
      await Bun.sleep(20);
    }
  }

  async exited(timeoutMs = 20_000): Promise<number> {
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), timeoutMs);
    const code = await this.proc.exited;
    clearTimeout(timer);
    await Bun.sleep(50); // the last output
    return code;
  }
}

/** Wait (async) for a path to exist. */
export async function waitForPath(path: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${path} did not appear`);
    await Bun.sleep(10);
  }
}

/** pty output without carriage returns. */
export function lines(text: string): string[] {
  return text.replaceAll("\r", "").split("\n");
}
