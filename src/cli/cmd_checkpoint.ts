// `skiff checkpoint`: runc's flags, translated for src/container/checkpoint.ts.
import type { Command } from "./command";
import { requireId } from "./command";
import { checkpointContainer } from "../container/checkpoint";

export const command: Command = {
  flags: {
    "image-path": { kind: "string", help: "path for saving criu image files (default: ./checkpoint)" },
    "work-path": { kind: "string", help: "path for saving work files and logs (default: the container's state directory)" },
    "parent-path": { kind: "string", help: "path for previous criu image files in pre-dump, relative to --image-path" },
    "leave-running": { kind: "bool", help: "leave the process running after checkpointing" },
    "tcp-established": { kind: "bool", help: "allow open tcp connections" },
    "ext-unix-sk": { kind: "bool", help: "allow external unix sockets" },
    "shell-job": { kind: "bool", help: "allow shell jobs" },
    "lazy-pages": { kind: "bool", help: "use userfaultfd to lazily restore memory pages" },
    "status-fd": { kind: "int", help: "criu writes \\0 to this FD once lazy-pages is ready" },
    "page-server": { kind: "string", help: "ADDRESS:PORT of the page server" },
    "file-locks": { kind: "bool", help: "handle file locks, for safety" },
    "pre-dump": { kind: "bool", help: "dump container's memory information only, leave the container running after this" },
    "manage-cgroups-mode": { kind: "string", help: "cgroups mode: soft (default), full, strict or ignore" },
    "empty-ns": { kind: "list", help: "create a namespace, but don't restore its properties (network)" },
    "auto-dedup": { kind: "bool", help: "enable auto deduplication of memory images" },
  },
  usage: "[command options] <container-id>",
  async run(p, g) {
    const id = requireId(p, "skiff checkpoint [options] <container-id>");
    const f = p.flags;
    await checkpointContainer({
      root: g.root,
      id,
      criu: g.criu,
      imagePath: f["image-path"] as string | undefined,
      workPath: f["work-path"] as string | undefined,
      parentPath: f["parent-path"] as string | undefined,
      leaveRunning: Boolean(f["leave-running"]),
      tcpEstablished: Boolean(f["tcp-established"]),
      extUnixSk: Boolean(f["ext-unix-sk"]),
      shellJob: Boolean(f["shell-job"]),
      lazyPages: Boolean(f["lazy-pages"]),
      statusFd: f["status-fd"] as number | undefined,
      pageServer: f["page-server"] as string | undefined,
      fileLocks: Boolean(f["file-locks"]),
      preDump: Boolean(f["pre-dump"]),
      manageCgroupsMode: f["manage-cgroups-mode"] as string | undefined,
      emptyNs: f["empty-ns"] as string[] | undefined,
      autoDedup: Boolean(f["auto-dedup"]),
    });
    return 0;
  },
};
