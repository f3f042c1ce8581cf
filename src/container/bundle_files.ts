// The bundle's rootfs and the --pid-file: what create and restore share,
// kept apart from create's heavy imports so that restore loads quickly.
import { renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { SkiffError, SpecError, describeErrno } from "../errors";
import type { Spec } from "../config/types";

export function resolveRootfs(spec: Spec, bundle: string): string {
  const path = spec.root?.path;
  if (!path) throw new SpecError("config.json", [{ pointer: "/root/path", message: "root.path is required" }]);
  const rootfs = isAbsolute(path) ? path : join(bundle, path);
  let st;
  try {
    st = statSync(rootfs);
  } catch (e) {
    throw new SpecError("config.json", [{ pointer: "/root/path", message: `stat ${rootfs}: ${describeErrno(e)}` }]);
  }
  if (!st.isDirectory()) throw new SpecError("config.json", [{ pointer: "/root/path", message: `${rootfs} is not a directory` }]);
  return rootfs;
}

export function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, String(pid));
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new SkiffError(`write pid file ${path} (from --pid-file): ${describeErrno(e)}`);
  }
}
