// One lock per container (flock on <root>/<id>/.lock): create holds it until
// it returns; start, delete, pause, resume and update take it, so that none
// of them acts on a container another command is halfway through changing.
import { closeSync, openSync } from "node:fs";
import { LOCK_EX, flock } from "../util/libc";
import type { ContainerPaths } from "./paths";

export function withContainerLock<T>(paths: ContainerPaths, fn: () => T): T {
  let fd: number;
  try {
    fd = openSync(paths.lock, "r+");
  } catch {
    return fn(); // a state dir from before locks, or one being removed: nothing to hold
  }
  try {
    flock(fd, LOCK_EX);
    return fn();
  } finally {
    closeSync(fd);
  }
}
