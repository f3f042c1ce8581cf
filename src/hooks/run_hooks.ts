// Lifecycle hooks run by skiff itself (in the runtime's namespaces): each
// gets the container state on stdin, its own args and env, and a timeout.
// They run in the bundle directory, whoever calls skiff from wherever, as
// under runc called by an engine (the shim's directory is the bundle).
import { statSync } from "node:fs";
import { HookError } from "../errors";
import type { Hook, Hooks } from "../config/types";

export type HookName = keyof Hooks;

export interface HookState {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/** Run one kind of hook in order; throws HookError on the first failure. */
export function runHooks(name: HookName, hooks: readonly Hook[] | undefined, state: HookState): void {
  (hooks ?? []).forEach((hook, i) => runHook(hook, { name, index: i, state }));
}

/** The spec's rule for poststart and poststop: warn, and go on with the rest. */
export function runHooksWarning(name: HookName, hooks: readonly Hook[] | undefined, state: HookState, warn: (msg: string) => void): void {
  (hooks ?? []).forEach((hook, i) => {
    try {
      runHook(hook, { name, index: i, state });
    } catch (e) {
      warn((e as Error).message);
    }
  });
}

function runHook(hook: Hook, opts: { name: HookName; index: number; state: HookState }): void {
  const where = `${opts.name} hook ${hook.path} (from /hooks/${opts.name}/${opts.index})`;
  const args = hook.args?.length ? hook.args : [hook.path];
  let result;
  try {
    result = Bun.spawnSync({
      cmd: [hook.path, ...args.slice(1)],
      argv0: args[0],
      env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
      cwd: hookDir(opts.state.bundle),
      stdin: new TextEncoder().encode(JSON.stringify(opts.state)),
      stdout: "pipe",
      stderr: "pipe",
      timeout: hook.timeout ? hook.timeout * 1000 : undefined,
      killSignal: "SIGKILL",
      // Its own process group, so a timeout ends whatever the hook started too.
      detached: true,
    });
  } catch (e) {
    throw new HookError(`run ${where}: ${(e as Error).message}`);
  }
  if (result.exitedDueToTimeout) {
    try {
      process.kill(-result.pid, "SIGKILL");
    } catch {
      // the group is gone already
    }
    throw new HookError(`run ${where}: timed out after ${hook.timeout}s`);
  }
  if (!result.success) {
    const detail = result.stderr.toString().trim().split("\n").pop() ?? "";
    const status = result.signalCode ? `killed by ${result.signalCode}` : `exit status ${result.exitCode}`;
    throw new HookError(`run ${where}: ${status}${detail ? `: ${detail}` : ""}`);
  }
}

/** The bundle, or skiff's own directory when it is gone (a poststop hook after the engine removed it). */
function hookDir(bundle: string): string | undefined {
  try {
    return statSync(bundle).isDirectory() ? bundle : undefined;
  } catch {
    return undefined;
  }
}
