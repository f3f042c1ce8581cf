// `skiff restore`: a new container from a checkpoint, as runc's Restore
// makes it: its own cgroups (criu is put in them and restores the tree
// there), the rootfs bind-mounted where criu wants a root (a mount point
// whose parent is not overmounted), the config's mount points made in the
// rootfs, external mounts mapped to this host's sources, new stdio pipes
// handed in for the old ones, and a restored terminal's master sent to
// --console-socket. criu makes the restored init skiff's child (rst_sibling).
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { SkiffError, StateError, UsageError } from "../errors";
import { loadSpec } from "../config/load";
import { SPEC_VERSION } from "../config/types";
import { LOCK_EX, flock } from "../util/libc";
import { logWarning, logDebug, logPhase } from "../util/log";
import { detectLayout, parseProcCgroup } from "../cgroups/layout";
import { createCgroups, joinCgroups, removeCgroups } from "../cgroups/manage";
import { applyResources } from "../cgroups/apply";
import type { LinuxResources } from "../cgroups/resources_types";
import { runHooks } from "../hooks/run_hooks";
import { ReqType, type Message } from "../criu/proto";
import { criuConfigFile, criuRequest, networkLock } from "../criu/swrk";
import { makeMountPoints, restoreExtMounts } from "../criu/ext_mounts";
import { bindMount, closeFd, detachMount, sendFdTo } from "../criu/sys";
import { checkId, containerPaths } from "./paths";
import { processStartTime, writeState, type ContainerState } from "./state";
import { checkSupported } from "./supported";
import { checkTerminal } from "./terminal";
import { resolveRootfs, writePidFile } from "./bundle_files";
import { checkExistingCgroup } from "../cgroups/reuse";
import { gatherHostFacts } from "./host_facts";
import { killAndWait } from "./kill_wait";
import { DESCRIPTORS_FILE, cgroupMode, emptyNsFlags } from "./checkpoint";

export interface RestoreOptions {
  root: string;
  id: string;
  criu: string;
  bundle: string;
  imagePath?: string;
  workPath?: string;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  noSubreaper?: boolean;
  noPivot?: boolean;
  tcpEstablished?: boolean;
  extUnixSk?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  manageCgroupsMode?: string;
  emptyNs?: string[];
  autoDedup?: boolean;
  lazyPages?: boolean;
}

export async function restoreContainer(o: RestoreOptions): Promise<ContainerState> {
  const what = `restore container ${o.id}`;
  const idProblem = checkId(o.id);
  if (idProblem) throw new StateError(idProblem);
  const bundle = resolve(o.bundle);
  const { spec } = loadSpec(bundle);
  checkSupported(spec, { consoleSocket: o.consoleSocket });
  const terminal = Boolean(spec.process?.terminal);
  const consoleSocket = checkTerminal({ terminal, detach: o.detach, consoleSocket: o.consoleSocket });
  if (terminal && !consoleSocket) throw new UsageError(`${what}: a terminal needs --detach and --console-socket (the restored pty master goes there)`);
  const rootfs = resolveRootfs(spec, bundle);
  const imagePath = resolve(o.imagePath || "checkpoint");
  if (!existsSync(join(imagePath, "inventory.img"))) throw new UsageError(`${what}: no checkpoint in ${imagePath} (from --image-path): inventory.img is missing`);
  const mode = cgroupMode(o.manageCgroupsMode);
  const emptyNs = emptyNsFlags(o.emptyNs);

  mkdirSync(o.root, { recursive: true, mode: 0o700 });
  const paths = containerPaths(o.root, o.id);
  try {
    mkdirSync(paths.dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new StateError(`container with id exists: ${o.id}`);
    throw e;
  }
  const undo: (() => void)[] = [() => rmSync(paths.dir, { recursive: true, force: true })];
  const lockFd = openSync(paths.lock, "w", 0o600);
  const criuRoot = join(paths.dir, "criu-root");
  try {
    flock(lockFd, LOCK_EX);
    const layout = detectLayout();
    const linux = spec.linux ?? {};
    const cgroup = createCgroups(layout, { cgroupsPath: linux.cgroupsPath || o.id, file: join(bundle, "config.json") });
    undo.push(() => removeCgroups(cgroup));
    checkExistingCgroup(cgroup, logWarning);
    applyResources(layout, cgroup, linux.resources as LinuxResources | undefined, { warn: logWarning, debug: logDebug });
    const facts = gatherHostFacts(layout, { cgroup, cgroupNs: false });
    logPhase("cgroups ready");

    // As runc: restore.log beside the images, where it outlives a failure.
    const workPath = resolve(o.workPath || imagePath);
    mkdirSync(workPath, { recursive: true, mode: 0o700 });
    makeMountPoints(spec, { rootfs, bundle });
    mkdirSync(criuRoot, { mode: 0o755 });
    bindMount(rootfs, criuRoot);
    undo.push(() => detachMount(criuRoot));
    logPhase("rootfs bound for criu");

    const imagesFd = openSync(imagePath, "r");
    const workFd = openSync(workPath, "r");
    const nsFds: number[] = [];
    let pid = 0;
    undo.push(() => killAndWait(pid));
    try {
      const opts: Message = {
        imagesDirFd: imagesFd,
        workDirFd: workFd,
        evasiveDevices: true,
        logLevel: 4,
        logFile: "restore.log",
        rstSibling: true,
        root: criuRoot,
        manageCgroups: true,
        notifyScripts: true,
        shellJob: !!o.shellJob,
        extUnixSk: !!o.extUnixSk,
        tcpEstablished: !!o.tcpEstablished,
        fileLocks: !!o.fileLocks,
        emptyNs,
        orphanPtsMaster: true,
        autoDedup: !!o.autoDedup,
        lazyPages: !!o.lazyPages,
        extMnt: restoreExtMounts(spec, { bundle, cgroups: facts.cgroup }),
        inheritFd: [...pipeInherits(imagePath), ...joinedNamespaces(spec, nsFds)],
      };
      if (mode !== undefined) opts.manageCgroupsMode = mode;
      const configFile = criuConfigFile(spec.annotations);
      if (configFile) opts.configFile = configFile;
      const lock = networkLock();
      if (lock !== undefined) opts.networkLock = lock;
      const hookState = { ociVersion: spec.ociVersion, id: o.id, status: "creating", bundle, annotations: spec.annotations };
      const resp = await criuRequest({
        criu: o.criu,
        what,
        req: { type: ReqType.RESTORE, opts },
        logPath: join(workPath, "restore.log"),
        extraFds: nsFds,
        stdio: true,
        started(criuPid, req) {
          // criu restores the tree into the cgroups it is in: this container's.
          joinCgroups(cgroup, criuPid);
          (req.opts as Message).cgRoot = cgroupRoots(criuPid, layout.kind === "v2");
        },
        notify(script, notifiedPid, fds) {
          try {
            if (script === "setup-namespaces") {
              const s = { ...hookState, pid: notifiedPid };
              runHooks("prestart", spec.hooks?.prestart, s);
              runHooks("createRuntime", spec.hooks?.createRuntime, s);
            } else if (script === "post-restore") {
              pid = notifiedPid;
            } else if (script === "orphan-pts-master") {
              if (!fds.length) throw new SkiffError(`${what}: criu sent no pty master`);
              sendFdTo(consoleSocket!, fds[0]!, "/dev/ptmx");
            }
          } finally {
            for (const fd of fds) closeFd(fd);
          }
        },
      });
      pid = ((resp.restore ?? {}) as { pid?: number }).pid ?? pid;
    } finally {
      closeSync(imagesFd);
      closeSync(workFd);
      for (const fd of nsFds) closeSync(fd);
    }
    const startTime = processStartTime(pid);
    if (!startTime) throw new SkiffError(`${what}: the restored process ${pid} is gone`);
    const state: ContainerState = {
      ociVersion: SPEC_VERSION,
      id: o.id,
      pid,
      pidStartTime: startTime,
      bundle,
      rootfs,
      created: new Date().toISOString(),
      owner: "",
      annotations: spec.annotations,
      cgroup,
      ownPidNs: (linux.namespaces ?? []).some((n) => n.type === "pid" && !n.path),
      config: spec,
    };
    writeState(paths, state);
    if (o.pidFile) writePidFile(o.pidFile, pid);
    logPhase("state written");
    // The container's mount namespace holds its own copy: the host's is only in the way.
    detachMount(criuRoot);
    rmSync(criuRoot, { recursive: true, force: true });
    return state;
  } catch (e) {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {
        // best effort: the first error is the one to report
      }
    }
    throw e;
  } finally {
    closeSync(lockFd);
  }
}

/** runc's descriptors.json: each stdio that was a pipe is taken from skiff's own fd of that number. */
function pipeInherits(imagePath: string): Message[] {
  let links: unknown;
  try {
    links = JSON.parse(readFileSync(join(imagePath, DESCRIPTORS_FILE), "utf8"));
  } catch {
    return [];
  }
  if (!Array.isArray(links)) return [];
  return links.flatMap((l, fd) => (typeof l === "string" && l.startsWith("pipe:") ? [{ key: l, fd }] : []));
}

/** Namespaces joined by path at create are joined again (the ones dump marked external). */
function joinedNamespaces(spec: ReturnType<typeof loadSpec>["spec"], fds: number[]): Message[] {
  const out: Message[] = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    if (!ns.path || (ns.type !== "network" && ns.type !== "pid")) continue;
    const fd = openSync(ns.path, "r");
    fds.push(fd);
    // criu sees the extra fds from 4 on (3 is its socket)
    out.push({ key: ns.type === "network" ? "extRootNetNS" : "extRootPidNS", fd: 3 + fds.length });
  }
  return out;
}

/** criu's cgroup roots: where it is now (the container's cgroups), per controller. */
function cgroupRoots(criuPid: number, unified: boolean): Message[] {
  const cg = parseProcCgroup(readFileSync(`/proc/${criuPid}/cgroup`, "utf8"));
  if (unified) return [{ path: cg.get("") ?? "/" }];
  const out: Message[] = [];
  for (const [ctrls, path] of cg) {
    if (ctrls === "") continue;
    for (const c of ctrls.split(",")) out.push({ ctrl: c, path });
  }
  return out;
}
