// Where a container's state lives under --root.
import { join } from "node:path";

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

export function containerPaths(root: string, id: string): ContainerPaths {
  const dir = join(root, id);
  return { dir, state: join(dir, "state.json"), fifo: join(dir, "exec.fifo"), lock: join(dir, ".lock") };
}
