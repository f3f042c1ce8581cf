// `skiff start`: release the process waiting on exec.fifo, then poststart.
import { closeSync, openSync, readSync, unlinkSync } from "node:fs";
import { StateError } from "../errors";
import { runHooksWarning } from "../hooks/run_hooks";
import { logWarning } from "../cli/log";
import { deriveStatus, readState, type ContainerState } from "./state";
import type { ContainerPaths } from "./paths";

export function startContainer(root: string, id: string): void {
  const { state, paths } = readState(root, id);
  const status = deriveStatus(state, paths);
  if (status === "stopped") throw new StateError(`cannot start a container that has stopped`);
  if (status !== "created") throw new StateError(`cannot start an already running container`);
  releaseFifo(state, paths);
}

export function releaseFifo(state: ContainerState, paths: ContainerPaths): void {
  // The init process blocks in open(O_WRONLY) until this open: a rendezvous.
  const fd = openSync(paths.fifo, "r");
  try {
    const buf = Buffer.alloc(1);
    if (readSync(fd, buf) !== 1) throw new StateError("start container: the container process exited before it started");
  } finally {
    closeSync(fd);
    unlinkSync(paths.fifo);
  }
  runHooksWarning(
    "poststart",
    state.config.hooks?.poststart,
    { ociVersion: state.ociVersion, id: state.id, status: "running", pid: state.pid, bundle: state.bundle, annotations: state.annotations },
    logWarning,
  );
}
