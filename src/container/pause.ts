// `skiff pause` and `skiff resume`: freeze and thaw the container's cgroup.
import { StateError } from "../errors";
import { freeze, thaw } from "../cgroups/freeze";
import { deriveStatus, readState } from "./state";
import { withContainerLock } from "./lock";

export function pauseContainer(root: string, id: string): void {
  const { paths } = readState(root, id);
  withContainerLock(paths, () => {
    const { state } = readState(root, id);
    const status = deriveStatus(state, paths);
    if (status !== "running" && status !== "created") throw new StateError(`container not running or created: ${status}`);
    freeze(state.cgroup);
  });
}

export function resumeContainer(root: string, id: string): void {
  const { paths } = readState(root, id);
  withContainerLock(paths, () => {
    const { state } = readState(root, id);
    const status = deriveStatus(state, paths);
    if (status !== "paused") throw new StateError(`container not paused: ${status}`);
    thaw(state.cgroup);
  });
}
