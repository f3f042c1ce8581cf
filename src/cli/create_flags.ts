// The flags `create` and `run` share, and their translation to CreateOptions.
import type { FlagDefs, Parsed } from "./args";
import type { CreateOptions } from "../container/create";
import { listenEnv, preservedFds } from "./fds";

export const CREATE_FLAGS: FlagDefs = {
  bundle: { kind: "string", short: "b", help: "path to the root of the bundle directory, defaults to the current directory" },
  "console-socket": { kind: "string", help: "path to an AF_UNIX socket which will receive the pty master (needs process.terminal)" },
  "pid-file": { kind: "string", help: "specify the file to write the process id to" },
  "no-pivot": { kind: "bool", help: "do not use pivot root to jail process inside rootfs (move + chroot instead)" },
  "no-new-keyring": { kind: "bool", help: "do not create a new session keyring for the container" },
  "preserve-fds": { kind: "int", help: "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)" },
};

export function createOptions(p: Parsed, root: string, id: string): CreateOptions {
  const f = p.flags;
  return {
    root,
    id,
    bundle: (f.bundle as string | undefined) ?? process.cwd(),
    pidFile: f["pid-file"] as string | undefined,
    consoleSocket: f["console-socket"] as string | undefined,
    noPivot: Boolean(f["no-pivot"]),
    noNewKeyring: Boolean(f["no-new-keyring"]),
    preserveFds: preservedFds((f["preserve-fds"] as number | undefined) ?? 0),
    extraEnv: listenEnv(),
  };
}

