// `skiff checkpoint`: criu dumps the container's process tree into an image
// directory, as runc's Checkpoint does. Without --leave-running (or with
// --pre-dump) criu ends the processes and the container is deleted, so
// that `skiff restore` may take its id.
import { closeSync, existsSync, mkdirSync, openSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { SkiffError, StateError, UsageError, describeErrno } from "../errors";
import { LOCK_EX, flock } from "../util/libc";
import { logPhase } from "../util/log";
import { detectLayout } from "../cgroups/layout";
import { CG_MODES, ReqType, type Message } from "../criu/proto";
import { criuConfigFile, criuRequest, networkLock } from "../criu/swrk";
import { dumpExtMounts } from "../criu/ext_mounts";
import { gatherHostFacts } from "./host_facts";
import { deriveStatus, readState, type ContainerState } from "./state";
import { deleteContainer } from "./delete";

/** The stdio links of the init process, so that restore can hand new pipes in their place. */
export const DESCRIPTORS_FILE = "descriptors.json";

export interface CheckpointOptions {
  root: string;
  id: string;
  criu: string;
  imagePath?: string;
  workPath?: string;
  parentPath?: string;
  leaveRunning?: boolean;
  tcpEstablished?: boolean;
  extUnixSk?: boolean;
  shellJob?: boolean;
  lazyPages?: boolean;
  statusFd?: number;
  pageServer?: string;
  fileLocks?: boolean;
  preDump?: boolean;
  manageCgroupsMode?: string;
  emptyNs?: string[];
  autoDedup?: boolean;
}

export async function checkpointContainer(o: CheckpointOptions): Promise<void> {
  const what = `checkpoint container ${o.id}`;
  const { state, paths } = readState(o.root, o.id);
  const imagePath = resolve(o.imagePath || "checkpoint");
  const parent = checkParent(imagePath, o.parentPath);
  const mode = cgroupMode(o.manageCgroupsMode);
  const emptyNs = emptyNsFlags(o.emptyNs);
  const ps = pageServer(o.pageServer);
  if (o.statusFd !== undefined && !o.lazyPages) throw new UsageError("--status-fd only makes sense with --lazy-pages");

  const lockFd = openSync(paths.lock, "r+");
  // A failed dump leaves no image directory behind that it made itself.
  const madeImageDir = !existsSync(imagePath);
  try {
    flock(lockFd, LOCK_EX);
    const status = deriveStatus(state, paths);
    if (status !== "running" && status !== "paused") throw new StateError(`${what}: container is not running: ${status}`);
    mkdirSync(imagePath, { recursive: true, mode: 0o700 });
    const workPath = resolve(o.workPath || join(paths.dir, "criu.work"));
    mkdirSync(workPath, { recursive: true, mode: 0o700 });
    const imagesFd = openSync(imagePath, "r");
    const workFd = openSync(workPath, "r");
    try {
      const opts: Message = {
        imagesDirFd: imagesFd,
        workDirFd: workFd,
        logLevel: 4,
        logFile: o.preDump ? "pre-dump.log" : "dump.log",
        root: state.rootfs,
        manageCgroups: true,
        notifyScripts: true,
        pid: state.pid,
        shellJob: !!o.shellJob,
        leaveRunning: !!o.leaveRunning,
        tcpEstablished: !!o.tcpEstablished,
        extUnixSk: !!o.extUnixSk,
        fileLocks: !!o.fileLocks,
        emptyNs,
        orphanPtsMaster: true,
        autoDedup: !!o.autoDedup,
        lazyPages: !!o.lazyPages,
        external: externalNamespaces(state),
      };
      // criu freezes the tree with the cgroup freezer (v1, or v2's cgroup.freeze) instead of ptrace.
      const freezer = state.cgroup.freezer ?? state.cgroup.unified;
      if (freezer) opts.freezeCgroup = freezer;
      if (ps) opts.ps = ps;
      if (parent) {
        opts.parentImg = parent;
        opts.trackMem = true;
      }
      if (mode !== undefined) opts.manageCgroupsMode = mode;
      const configFile = criuConfigFile(state.config.annotations);
      if (configFile) opts.configFile = configFile;
      const lock = networkLock();
      if (lock !== undefined) opts.networkLock = lock;
      if (o.lazyPages && o.statusFd !== undefined) opts.statusFd = o.statusFd;
      if (o.preDump) await needFeature(o, "memTrack", what);
      if (o.lazyPages) await needFeature(o, "lazyPages", what);
      if (!o.preDump) {
        const layout = detectLayout();
        const facts = gatherHostFacts(layout, { cgroup: state.cgroup, cgroupNs: false });
        opts.extMnt = dumpExtMounts(state.config, {
          cgroups: facts.cgroup,
          isFileInside: (p) => isFileInside(state.pid, p),
        });
        writeFileSync(join(imagePath, DESCRIPTORS_FILE), JSON.stringify(stdioLinks(state.pid)), { mode: 0o600 });
      }
      let statusFd = o.lazyPages ? o.statusFd : undefined;
      logPhase("dump request ready");
      await criuRequest({
        criu: o.criu,
        what,
        req: { type: o.preDump ? ReqType.PRE_DUMP : ReqType.DUMP, opts },
        logPath: join(workPath, opts.logFile as string),
        notify(script) {
          // Lazy pages: the page server is up; whoever waits on --status-fd may start the restore.
          if (script === "status-ready" && statusFd !== undefined) {
            writeFileSync(statusFd, "\0");
            closeSync(statusFd);
            statusFd = undefined;
          }
        },
      });
    } finally {
      closeSync(imagesFd);
      closeSync(workFd);
    }
  } catch (e) {
    if (madeImageDir) rmSync(imagePath, { recursive: true, force: true });
    throw e;
  } finally {
    closeSync(lockFd);
  }
  // criu ended the processes: the container is gone, as after runc checkpoint.
  if (!o.leaveRunning && !o.preDump) deleteContainer(o.root, o.id, { force: true });
  logPhase("checkpoint done");
}

/** --parent-path is relative to the image directory and must be one (runc's rule). */
function checkParent(imagePath: string, parent: string | undefined): string | undefined {
  if (!parent) return undefined;
  if (isAbsolute(parent)) throw new UsageError(`invalid --parent-path ${JSON.stringify(parent)}: must be relative to --image-path`);
  const real = join(imagePath, parent);
  let isDir = false;
  try {
    isDir = statSync(real).isDirectory();
  } catch (e) {
    throw new UsageError(`invalid --parent-path: stat ${real}: ${describeErrno(e)}`);
  }
  if (!isDir) throw new UsageError(`invalid --parent-path: ${real} is not a directory`);
  return parent;
}

export function cgroupMode(mode: string | undefined): number | undefined {
  if (mode === undefined || mode === "") return undefined;
  const n = CG_MODES[mode];
  if (n === undefined) throw new UsageError(`invalid --manage-cgroups-mode ${JSON.stringify(mode)}: use soft, full, strict or ignore`);
  return n;
}

const CLONE_NEWNET = 0x40000000;

/** --empty-ns: only "network" (criu makes the namespace, someone else fills it), as runc. */
export function emptyNsFlags(list: string[] | undefined): number {
  let flags = 0;
  for (const ns of list ?? []) {
    if (ns !== "network") throw new UsageError(`invalid --empty-ns ${JSON.stringify(ns)}: only network is supported`);
    flags |= CLONE_NEWNET;
  }
  return flags;
}

function pageServer(v: string | undefined): Message | undefined {
  if (!v) return undefined;
  const at = v.lastIndexOf(":");
  const port = Number(v.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError(`invalid --page-server ${JSON.stringify(v)}: want IP:PORT`);
  return { address: v.slice(0, at), port };
}

/** Namespaces the container joined by path are not its own: criu marks them external, as runc does. */
function externalNamespaces(state: ContainerState): string[] {
  const out: string[] = [];
  for (const ns of state.config.linux?.namespaces ?? []) {
    if (!ns.path || (ns.type !== "network" && ns.type !== "pid")) continue;
    const ino = statSync(`/proc/${state.pid}/ns/${ns.type === "network" ? "net" : "pid"}`).ino;
    out.push(ns.type === "network" ? `net[${ino}]:extRootNetNS` : `pid[${ino}]:extRootPidNS`);
  }
  return out;
}

function isFileInside(pid: number, path: string): boolean {
  try {
    return !statSync(`/proc/${pid}/root${path}`).isDirectory();
  } catch {
    return false;
  }
}

function stdioLinks(pid: number): string[] {
  return [0, 1, 2].map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return "/dev/null";
    }
  });
}

/** criu's FEATURE_CHECK, as runc asks before a pre-dump or a lazy dump. */
async function needFeature(o: CheckpointOptions, feature: "memTrack" | "lazyPages", what: string): Promise<void> {
  const resp = await criuRequest({ criu: o.criu, what, req: { type: ReqType.FEATURE_CHECK, features: { [feature]: true } } });
  const got = (resp.features ?? {}) as Record<string, boolean>;
  if (got[feature] === false) throw new SkiffError(`${what}: criu or this kernel lacks ${feature === "memTrack" ? "memory tracking (needed by --pre-dump)" : "lazy pages (userfaultfd)"}`);
}
