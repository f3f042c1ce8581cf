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
/** The id is the state directory's name (and a cgroup's): one file name, NAME_MAX. */
export const MAX_ID_LENGTH = 255;

/**
 * runc's rule for ids: letters, digits, and _+-. only (no path tricks; runc
 * also lets "," through, by accident of its regexp), and as runc in effect,
 * at most 255 characters (runc fails on the state directory's name).
 */
export function checkId(id: string): string | undefined {
  if (!id) return "container id cannot be empty";
  if (id.length > MAX_ID_LENGTH) return `invalid container id: ${id.length} characters long, the limit is ${MAX_ID_LENGTH}`;
  if (!ID.test(id) || id === "." || id === "..") return `invalid container id ${JSON.stringify(id)}: use letters, digits and _ + - . only`;
  return undefined;
}

/** The paths of container id under root; an id that could name a path elsewhere is refused. */
export function containerPaths(root: string, id: string): ContainerPaths {
  const problem = checkId(id);
  if (problem) throw new StateError(problem);
  const dir = join(root, id);
  return { dir, state: join(dir, "state.json"), fifo: join(dir, "exec.fifo"), lock: join(dir, ".lock") };
}
