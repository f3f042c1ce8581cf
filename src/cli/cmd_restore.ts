// `skiff restore`: runc's flags; attached (no --detach) skiff waits for the
// restored process, passing signals on, and deletes the container after it.
import type { Command } from "./command";
import { requireId } from "./command";
import { restoreContainer } from "../container/restore";
import { deleteContainer } from "../container/delete";
import { reapIfExited } from "../criu/sys";
import { setChildSubreaper } from "../util/libc";
import { forwardSignals } from "./signals";

export const command: Command = {
  flags: {
    bundle: { kind: "string", short: "b", help: "path to the root of the bundle directory (default: the current directory)" },
    "image-path": { kind: "string", help: "path to criu image files for restoring (default: ./checkpoint)" },
    "work-path": { kind: "string", help: "path for saving work files and logs (default: --image-path)" },
    detach: { kind: "bool", short: "d", help: "detach from the container's process" },
    "pid-file": { kind: "string", help: "specify the file to write the process id to" },
    "console-socket": { kind: "string", help: "path to an AF_UNIX socket which will receive the restored pty master" },
    "no-subreaper": { kind: "bool", help: "disable the use of the subreaper used to reap reparented processes" },
    "no-pivot": { kind: "bool", help: "accepted for runc's command line: criu makes the restored root itself" },
    "tcp-established": { kind: "bool", help: "allow open tcp connections" },
    "ext-unix-sk": { kind: "bool", help: "allow external unix sockets" },
    "shell-job": { kind: "bool", help: "allow shell jobs" },
    "file-locks": { kind: "bool", help: "handle file locks, for safety" },
    "manage-cgroups-mode": { kind: "string", help: "cgroups mode: soft (default), full, strict or ignore" },
    "empty-ns": { kind: "list", help: "create a namespace, but don't restore its properties (network)" },
    "auto-dedup": { kind: "bool", help: "enable auto deduplication of memory images" },
    "lazy-pages": { kind: "bool", help: "use userfaultfd to lazily restore memory pages" },
  },
  usage: "[command options] <container-id>",
  async run(p, g) {
    const id = requireId(p, "skiff restore [options] <container-id>");
    const f = p.flags;
    const detach = Boolean(f.detach);
    if (!detach && !f["no-subreaper"]) setChildSubreaper();
    const signals = detach ? undefined : forwardSignals();
    const state = await restoreContainer({
      root: g.root,
      id,
      criu: g.criu,
      bundle: (f.bundle as string | undefined) ?? process.cwd(),
      imagePath: f["image-path"] as string | undefined,
      workPath: f["work-path"] as string | undefined,
      detach,
      pidFile: f["pid-file"] as string | undefined,
      consoleSocket: f["console-socket"] as string | undefined,
      noSubreaper: Boolean(f["no-subreaper"]),
      noPivot: Boolean(f["no-pivot"]),
      tcpEstablished: Boolean(f["tcp-established"]),
      extUnixSk: Boolean(f["ext-unix-sk"]),
      shellJob: Boolean(f["shell-job"]),
      fileLocks: Boolean(f["file-locks"]),
      manageCgroupsMode: f["manage-cgroups-mode"] as string | undefined,
      emptyNs: f["empty-ns"] as string[] | undefined,
      autoDedup: Boolean(f["auto-dedup"]),
      lazyPages: Boolean(f["lazy-pages"]),
    });
    if (detach) return 0;
    // criu made the restored init our child: poll for its end, so that
    // signal handlers keep running meanwhile.
    signals!.start(state.pid, { terminal: false });
    let code: number | undefined;
    while ((code = reapIfExited(state.pid)) === undefined) await Bun.sleep(20);
    deleteContainer(g.root, id, { force: true });
    return code;
  },
};
