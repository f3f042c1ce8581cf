// `skiff events`: container stats in runc's shape, once (--stats) or every
// interval, and OOM notifications as they happen.
import { StateError } from "../errors";
import { controllerDir } from "../cgroups/apply";
import { detectLayout } from "../cgroups/layout";
import { watchOomV1, watchOomV2, type OomWatcher } from "../cgroups/oom";
import { collectStats, toJson } from "../cgroups/stats";
import { logWarning } from "../util/log";
import { deriveStatus, readState } from "./state";

export function statsEvent(root: string, id: string): string {
  const { state, paths } = readState(root, id);
  if (deriveStatus(state, paths) === "stopped") throw new StateError(`container with id ${id} is not running`);
  return toJson({ type: "stats", id, data: collectStats(state.cgroup, detectLayout().kind) });
}

/** Stream events until the container stops; resolves with the exit code. */
export async function streamEvents(root: string, id: string, opts: { intervalMs: number; write: (line: string) => void }): Promise<number> {
  const { state, paths } = readState(root, id);
  if (deriveStatus(state, paths) === "stopped") throw new StateError(`container with id ${id} is not running`);
  const kind = detectLayout().kind;
  let oom: OomWatcher | undefined;
  try {
    if (kind === "v2") {
      if (state.cgroup.unified) oom = watchOomV2(state.cgroup.unified);
    } else {
      const mem = controllerDir(state.cgroup, "memory");
      if (mem) oom = watchOomV1(mem);
    }
  } catch (e) {
    logWarning(`oom notifications are off: ${(e as Error).message}`);
  }
  const alive = () => {
    try {
      const s = readState(root, id);
      return deriveStatus(s.state, s.paths) !== "stopped";
    } catch {
      return false;
    }
  };
  try {
    let next = Date.now();
    for (;;) {
      const n = oom?.poll() ?? 0;
      if (n > 0) opts.write(toJson({ type: "oom", id }));
      if (Date.now() >= next) {
        if (!alive()) return 0;
        opts.write(toJson({ type: "stats", id, data: collectStats(state.cgroup, kind) }));
        next = Date.now() + opts.intervalMs;
      }
      await Bun.sleep(Math.min(100, Math.max(1, next - Date.now())));
      if (!alive()) {
        // one last look: the OOM may be what ended it
        if ((oom?.poll() ?? 0) > 0) opts.write(toJson({ type: "oom", id }));
        return 0;
      }
    }
  } finally {
    oom?.close();
  }
}
