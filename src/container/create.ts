// `skiff create`: from a bundle to a process waiting on exec.fifo.
// Every failure removes all it made: the process, cgroups, state directory.
import { chmodSync, closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { HelperError, SkiffError, StateError, SpecError, describeErrno } from "../errors";
import { loadSpec } from "../config/load";
import type { Spec } from "../config/types";
import { SPEC_VERSION } from "../config/types";
import { compilePlan, idMapText, joinsCgroupsItself } from "../plan/compile";
import { encodePlan } from "../plan/encode";
import { detectLayout } from "../cgroups/layout";
import { cgroupDirs, createCgroups, joinCgroups, removeCgroups } from "../cgroups/manage";
import { applyResources } from "../cgroups/apply";
import type { LinuxResources } from "../cgroups/resources_types";
import { logDebug, logPhase, logWarning } from "../util/log";
import { checkExistingCgroup } from "../cgroups/reuse";
import type { CgroupRecord } from "../cgroups/cgroup_types";
import { InitChannel, initError } from "../helper/init_channel";
import { runHooks, type HookState } from "../hooks/run_hooks";
import { LOCK_EX, flock, mkfifo } from "../util/libc";
import { checkId, containerPaths, type ContainerPaths } from "./paths";
import { gatherHostFacts } from "./host_facts";
import { processStartTime, writeState, type ContainerState } from "./state";
import { checkProcBindSources } from "./proc_bind_source";
import { checkSupported } from "./supported";
import { killAndWait } from "./kill_wait";
import { checkTerminal } from "./terminal";
import { SECCOMP_LISTENER_POINT, listenerState } from "../seccomp/plan";
import { withHome } from "./home_env";
import { loadSystemdDriver } from "../systemd/load";
import { resolveRootfs, writePidFile } from "./bundle_files";

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** env entries added to the process (socket activation's LISTEN_FDS) */
  extraEnv?: string[];
  /** `run` in the foreground: skiff-init stays as parent and reports the exit status */
  foreground?: boolean;
  subreaper?: boolean;
  /** --systemd-cgroup: the cgroup is a scope unit that systemd makes */
  systemdCgroup?: boolean;
}

export interface Created {
  state: ContainerState;
  paths: ContainerPaths;
  init: InitChannel;
}

export function createContainer(opts: CreateOptions): Created {
  const idProblem = checkId(opts.id);
  if (idProblem) throw new StateError(idProblem);
  // skiff-init starts first and waits for its plan: its exec and start-up
  // overlap the work below.
  const init = InitChannel.spawn({ preserveFds: opts.preserveFds ?? 0 });
  try {
    return createWith(init, opts);
  } catch (e) {
    init.abandon();
    throw e;
  }
}

function createWith(init: InitChannel, opts: CreateOptions): Created {
  const bundle = resolve(opts.bundle);
  const { spec } = loadSpec(bundle);
  logPhase("config read and validated");
  checkSupported(spec, { consoleSocket: opts.consoleSocket });
  checkProcBindSources(spec, bundle);
  const consoleSocket = checkTerminal({ terminal: Boolean(spec.process?.terminal), detach: !opts.foreground, consoleSocket: opts.consoleSocket });
  const rootfs = resolveRootfs(spec, bundle);
  const proc = spec.process!;
  proc.env = withHome([...(proc.env ?? []), ...(opts.extraEnv ?? [])], { rootfs, uid: proc.user.uid });

  mkdirSync(opts.root, { recursive: true, mode: 0o700 });
  const paths = containerPaths(opts.root, opts.id);
  try {
    mkdirSync(paths.dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new StateError(`container with id exists: ${opts.id}`);
    throw e;
  }
  const undo = new Undo();
  undo.push(() => rmSync(paths.dir, { recursive: true, force: true }));
  try {
    // Held until create returns: a start or delete meanwhile waits for it.
    const lockFd = openSync(paths.lock, "w", 0o600);
    try {
      flock(lockFd, LOCK_EX);
      mkfifo(paths.fifo, 0o622);
      // mkfifo applies the umask (0o022 leaves 0o600): a container user other
      // than root must be able to open the fifo for writing, as under runc.
      chmodSync(paths.fifo, 0o622);
      return createLocked({ init, spec, bundle, rootfs, paths, opts: { ...opts, consoleSocket }, undo });
    } finally {
      closeSync(lockFd);
    }
  } catch (e) {
    undo.run();
    throw e;
  }
}

function createLocked(c: {
  init: InitChannel;
  spec: Spec;
  bundle: string;
  rootfs: string;
  paths: ContainerPaths;
  opts: CreateOptions;
  undo: Undo;
}): Created {
  const { init, spec, opts, undo } = c;
  const linux = spec.linux ?? {};
  const namespaces = linux.namespaces ?? [];
  logPhase("config loaded");
  const layout = detectLayout();
  // Without privilege, hierarchies the caller may not write are left out, as
  // runc's rootless mode does; limits asked for there then fail clearly.
  const rootless = process.getuid?.() !== 0;
  const resources = linux.resources as LinuxResources | undefined;
  // Unprivileged, the default device rules are not ours to set (runc skips them too).
  const skipDevices = rootless && !resources?.devices?.length;
  // --systemd-cgroup: systemd makes the scope once the process exists (it
  // takes the pid in StartTransientUnit's PIDs, as under runc); the record
  // names the directory it will have, which the plan needs now.
  const systemd = opts.systemdCgroup ? loadSystemdDriver() : undefined;
  let cgroup: CgroupRecord;
  let bus: ReturnType<NonNullable<typeof systemd>["connectSystemd"]> | undefined;
  if (systemd) {
    if (rootless) throw new SkiffError("--systemd-cgroup: only root may use systemd's system instance: use the cgroupfs driver");
    // The config first, then the bus, then the host: each fails before anything is made.
    const unitPath = systemd.systemdUnitPath(linux.cgroupsPath, opts.id);
    const conn = systemd.connectSystemd();
    bus = conn;
    undo.push(() => conn.close());
    cgroup = systemd.plannedRecord(layout, unitPath);
  } else {
    cgroup = createCgroups(layout, { cgroupsPath: linux.cgroupsPath || opts.id, file: join(c.bundle, "config.json"), rootless });
    undo.push(() => removeCgroups(cgroup));
    checkExistingCgroup(cgroup, logWarning);
    // Limits are in place before the container's process joins the cgroup.
    applyResources(layout, cgroup, resources, { skipDevices, warn: logWarning, debug: logDebug });
  }

  logPhase("cgroups ready");
  const host = gatherHostFacts(layout, { cgroup, cgroupNs: namespaces.some((n) => n.type === "cgroup" && !n.path) });
  const hookState: HookState = { ociVersion: spec.ociVersion, id: opts.id, status: "created", bundle: c.bundle, annotations: spec.annotations };
  const ops = compilePlan(spec, {
    rootfs: c.rootfs,
    bundle: c.bundle,
    fifo: c.paths.fifo,
    id: opts.id,
    // under systemd the process is born in skiff's cgroup and systemd moves it
    cgroups: systemd ? undefined : cgroupDirs(cgroup),
    noPivot: opts.noPivot,
    noNewKeyring: opts.noNewKeyring,
    denySetgroups: process.getuid?.() !== 0,
    preserveFds: opts.preserveFds,
    foreground: opts.foreground,
    subreaper: opts.subreaper,
    consoleSocket: opts.consoleSocket,
    host,
  });
  logPhase("plan compiled");
  init.send(encodePlan(ops));
  logPhase("plan sent");
  undo.push(() => init.abandon());
  let pid = 0;
  undo.push(() => killAndWait(pid));

  for (;;) {
    const msg = init.next();
    if (msg.kind === "eof") throw new HelperError(`create container: skiff-init ${init.describeEnd()} before the container was ready`);
    if (msg.kind === "error") throw initError(msg, ops);
    if (msg.kind === "pid") {
      logPhase(`container process ${msg.pid} cloned`);
      pid = msg.pid;
      hookState.pid = pid;
      writeIdMaps(pid, spec);
      if (systemd && bus) {
        // The process waits for our answer: it is in the scope, limited,
        // before it makes its cgroup namespace or runs anything.
        const conn = bus;
        systemd.startScope(conn, { record: cgroup, id: opts.id, pid, resources, warn: logWarning });
        logPhase(`systemd scope ${cgroup.systemd!.unit} started`);
        // Processes first: stopping a scope only sends SIGTERM and waits.
        undo.push(() => {
          killAndWait(pid);
          systemd.stopScope(conn, cgroup);
        });
        applyResources(layout, cgroup, resources, { skipDevices, warn: logWarning, debug: logDebug });
      } else if (!joinsCgroupsItself(spec)) {
        // In a new user namespace the process cannot join by itself.
        joinCgroups(cgroup, pid);
      }
      init.go();
      continue;
    }
    if (msg.name === "createRuntime") {
      const creating = { ...hookState, status: "creating" };
      runHooks("prestart", spec.hooks?.prestart, creating);
      runHooks("createRuntime", spec.hooks?.createRuntime, creating);
      // createContainer hooks run in the container (skiff-init), given this state.
      if (spec.hooks?.createContainer?.length) init.goWith(JSON.stringify(creating));
      else init.go();
      continue;
    }
    if (msg.name === SECCOMP_LISTENER_POINT) {
      // seccomp notify: the container process state goes with the listener fd.
      const seccomp = (linux.seccomp ?? {}) as { listenerMetadata?: string };
      init.goWith(listenerState({ ociVersion: SPEC_VERSION, pid, metadata: seccomp.listenerMetadata, state: { ...hookState, status: "creating" } }));
      continue;
    }
    if (msg.name === "ready") break;
  }
  logPhase("container ready");

  const startTime = processStartTime(pid);
  if (!startTime) throw new HelperError("create container: the container process exited before it was ready");
  const state: ContainerState = {
    ociVersion: SPEC_VERSION,
    id: opts.id,
    pid,
    pidStartTime: startTime,
    bundle: c.bundle,
    rootfs: c.rootfs,
    created: new Date().toISOString(),
    owner: "",
    annotations: spec.annotations,
    cgroup,
    ownPidNs: namespaces.some((n) => n.type === "pid" && !n.path),
    config: spec,
  };
  writeState(c.paths, state);
  bus?.close();
  if (opts.pidFile) writePidFile(opts.pidFile, pid);
  if (spec.hooks?.startContainer?.length) init.goWith(JSON.stringify(hookState));
  else init.go();
  init.close();
  // The parent stage leaves once the process is at exec.fifo (native/watch.c);
  // wait for it, so that the process is our caller's by the time we return.
  if (!opts.foreground && init.waitEnd() === false) logWarning("create container: skiff-init did not exit after the container was ready");
  return { state, paths: c.paths, init };
}

function writeIdMaps(pid: number, spec: Spec): void {
  const linux = spec.linux ?? {};
  const user = linux.namespaces?.find((n) => n.type === "user");
  // Unprivileged, the process maps itself (own_id_maps in the plan).
  if (!user || user.path || process.getuid?.() !== 0) return;
  for (const [file, maps, pointer] of [
    ["uid_map", linux.uidMappings, "/linux/uidMappings"],
    ["gid_map", linux.gidMappings, "/linux/gidMappings"],
  ] as const) {
    const text = idMapText(maps);
    if (!text) continue;
    try {
      writeFileSync(`/proc/${pid}/${file}`, text);
    } catch (e) {
      throw new SkiffError(`write ${file} (from ${pointer}): ${describeErrno(e)}`);
    }
  }
}

/** Clean-up steps, run last-in first-out; each runs even if one fails. */
class Undo {
  private steps: (() => void)[] = [];
  push(step: () => void): void {
    this.steps.push(step);
  }
  run(): void {
    for (const step of this.steps.reverse()) {
      try {
        step();
      } catch {
        // best effort: the error that made us undo is the one to report
      }
    }
    this.steps = [];
  }
}

