// `skiff start`: release the process waiting on exec.fifo, then poststart.
import { closeSync, constants, openSync, readSync, unlinkSync } from "node:fs";
import { StateError } from "../errors";
import { runHooksWarning } from "../hooks/run_hooks";
import { logWarning } from "../util/log";
import { deriveStatus, isAlive, readState, type ContainerState } from "./state";
import type { ContainerPaths } from "./paths";
import { withContainerLock } from "./lock";

export function startContainer(root: string, id: string): void {
  // start reads the cgroup record only for the status (its freezer).
  const { paths } = readState(root, id, { cgroupOnDisk: "status" });
  withContainerLock(paths, () => {
    const { state } = readState(root, id, { cgroupOnDisk: "status" });
    const status = deriveStatus(state, paths);
    if (status === "stopped") throw new StateError(`cannot start a container that has stopped`);
    if (status !== "created") throw new StateError(`cannot start an already running container`);
    releaseFifo(state, paths);
  });
}

export function releaseFifo(state: ContainerState, paths: ContainerPaths): void {
  // The init process blocks in open(O_WRONLY) until this open, then writes
  // one byte. Non-blocking, so that a dead init is an error, not a hang.
  const fd = openSync(paths.fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    waitForByte(fd, state);
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

function waitForByte(fd: number, state: ContainerState): void {
  for (let tries = 0; ; tries++) {
    if (readByte(fd)) return;
    // The byte follows within microseconds: spin a little before sleeping.
    if (tries < 200) continue;
    // A short-lived process may write the byte, exec and exit between our
    // read and this check: the byte is then in the pipe, so read once more.
    if (!isAlive(state)) {
      if (readByte(fd)) return;
      throw new StateError("start container: the container process exited before it started");
    }
    Bun.sleepSync(1);
  }
}

/** One byte from the fifo; false when the writer has not opened it yet (0) or not written yet (EAGAIN). */
function readByte(fd: number): boolean {
  try {
    return readSync(fd, Buffer.alloc(1)) === 1;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
    return false;
  }
}
