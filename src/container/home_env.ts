// runc's HOME rule: when process.env has no HOME, the container gets the
// home directory of its user from the rootfs's /etc/passwd, or "/".
import { readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";

export function withHome(env: readonly string[], opts: { rootfs: string; uid: number }): string[] {
  if (env.some((e) => e.startsWith("HOME="))) return [...env];
  return [...env, `HOME=${homeOf(opts.rootfs, opts.uid) ?? "/"}`];
}

function homeOf(rootfs: string, uid: number): string | undefined {
  let text: string;
  try {
    // /etc/passwd may be a symlink; never read a file outside the rootfs.
    const root = realpathSync(rootfs);
    const file = realpathSync(join(root, "etc/passwd"));
    if (!file.startsWith(root + "/")) return undefined;
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length >= 6 && Number(f[2]) === uid && f[2] !== "") return f[5] || "/";
  }
  return undefined;
}
