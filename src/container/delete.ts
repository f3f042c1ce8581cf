// `skiff delete`: end what is left, run poststop hooks, remove cgroups and
// the state directory. Only what this container recorded is removed.
import { rmSync } from "node:fs";
import { StateError } from "../errors";
import { cgroupPids, removeCgroups } from "../cgroups/manage";
import { signalAll } from "../cgroups/freeze";
import { runHooksWarning } from "../hooks/run_hooks";
import { logWarning } from "../util/log";
import { killAndWait } from "./kill_wait";
import { NoSuchContainer, deriveStatus, readState } from "./state";
import { withContainerLock } from "./lock";
import { containerPaths } from "./paths";
import { loadSystemdDriver } from "../systemd/load";
import type { CgroupRecord } from "../cgroups/cgroup_types";

export function deleteContainer(root: string, id: string, opts: { force: boolean; ownCgroup?: CgroupRecord }): void {
  // The lock first: a container still being created is deleted once it is.
  withContainerLock(containerPaths(root, id), () => deleteLocked(root, id, opts));
}

function deleteLocked(root: string, id: string, opts: { force: boolean; ownCgroup?: CgroupRecord }): void {
  let found;
  try {
    found = readState(root, id, { ownCgroup: opts.ownCgroup });
  } catch (e) {
    if (opts.force && e instanceof NoSuchContainer) return; // runc: deleting nothing with --force succeeds
    throw e;
  }
  const { state, paths } = found;
  const status = deriveStatus(state, paths);
  if (status !== "stopped" && !opts.force) {
    throw new StateError(`cannot delete container ${id} that is not stopped: ${status}`);
  }
  // Every process of the cgroup, frozen while signalled so that a fork loop
  // cannot outrun us (without a pid namespace, init's children outlive it).
  if (cgroupPids(state.cgroup).length > 0) {
    try {
      signalAll(state.cgroup, 9);
    } catch {
      // no freezer or it is gone: kill one by one below
    }
  }
  if (status !== "stopped") killAndWait(state.pid);
  for (const pid of cgroupPids(state.cgroup)) killAndWait(pid);
  try {
    if (state.cgroup.systemd) {
      // systemd removes the scope's cgroup with the unit.
      const systemd = loadSystemdDriver();
      const conn = systemd.connectSystemd();
      try {
        systemd.stopScope(conn, state.cgroup);
      } finally {
        conn.close();
      }
    } else removeCgroups(state.cgroup);
  } finally {
    rmSync(paths.dir, { recursive: true, force: true });
  }
  // The spec: after the container is deleted, before delete returns.
  runHooksWarning(
    "poststop",
    state.config.hooks?.poststop,
    { ociVersion: state.ociVersion, id, status: "stopped", bundle: state.bundle, annotations: state.annotations },
    logWarning,
  );
}
