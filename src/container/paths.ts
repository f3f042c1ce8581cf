// Where a container's state lives under --root.
import { join } from "node:path";
import { StateError } from "../errors";

export const DEFAULT_ROOT = "/run/skiff";

export interface ContainerPaths {
  dir: string;
  state: string;
  fifo: string;
  lock: string;
}

const ID = /^[\w+\-.]+$/;

/** runc's rule for ids: letters, digits, and _+-. only (no path tricks). */
export function checkId(id: string): string | undefined {
  if (!id) return "container id cannot be empty";
  if (!ID.test(id) || id === "." || id === "..") return `invalid container id ${JSON.stringify(id)}`;
  return undefined;
}

/** The paths of container id under root; an id that could name a path elsewhere is refused. */
export function containerPaths(root: string, id: string): ContainerPaths {
  const problem = checkId(id);
  if (problem) throw new StateError(problem);
  const dir = join(root, id);
  return { dir, state: join(dir, "state.json"), fifo: join(dir, "exec.fifo"), lock: join(dir, ".lock") };
}
