// `skiff kill`: a signal to the init process, or to every process (--all).
import { StateError, SystemError, describeErrno } from "../errors";
import { signalAll } from "../cgroups/freeze";
import { deriveStatus, readState } from "./state";

export function killContainer(root: string, id: string, opts: { signal: number; all: boolean }): void {
  // Only --all acts through the cgroup record (it signals what is listed there).
  const { state, paths } = readState(root, id, { cgroupOnDisk: opts.all ? "all" : "status" });
  const status = deriveStatus(state, paths);
  if (status === "stopped" && !opts.all) throw new StateError("container not running");
  // --all: freeze, signal every process, thaw, so that none forks away meanwhile.
  if (opts.all) {
    signalAll(state.cgroup, opts.signal);
    return;
  }
  for (const pid of [state.pid]) {
    try {
      process.kill(pid, opts.signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ESRCH") continue;
      throw new SystemError(`kill ${pid}`, describeErrno(e));
    }
  }
}
