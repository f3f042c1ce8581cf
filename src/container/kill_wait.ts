// Ending a process we started, by pid, and waiting until it is gone. Its
// own module: delete needs it, and must not load create's import graph.
import { processStartTime } from "./state";

/** SIGKILL a process we started and wait (up to a second) until it is gone. */
export function killAndWait(pid: number): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  for (let i = 0; i < 500 && processStartTime(pid) !== undefined; i++) Bun.sleepSync(2);
}
