// `skiff exec`: run a new process in a running container. The same
// skiff-init as create, with a join plan (src/plan/compile_exec.ts): setns
// into each namespace the container does not share with us, clone, and
// skiff puts the new pid into the container's cgroup before it goes on.
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HelperError, SkiffError, StateError, UsageError, describeErrno } from "../errors";
import { compileExecPlan, EXEC_NAMESPACES, type ExecNamespace } from "../plan/compile_exec";
import { encodePlan } from "../plan/encode";
import type { CgroupRecord } from "../cgroups/cgroup_types";
import { loadSpec } from "../config/load";
import type { Process } from "../config/types";
import { InitChannel, initError } from "../helper/init_channel";
import { killAndWait } from "./kill_wait";
import { execProcess, type ExecOverrides } from "./process_json";
import { deriveStatus, processStartTime, readState } from "./state";
import { checkTerminal } from "./terminal";
import { SECCOMP_LISTENER_POINT, execListenerState, seccompPlan, type SeccompPlan } from "../seccomp/plan";
import { SPEC_VERSION } from "../config/types";
import type { Seccomp } from "../seccomp/compile";

export interface ExecOptions extends ExecOverrides {
  root: string;
  id: string;
  detach: boolean;
  pidFile?: string;
  preserveFds: number;
  /** --cgroup values: "path" (every controller) or "ctrl[,ctrl]:path" */
  cgroups: string[];
  ignorePaused: boolean;
  apparmor?: string;
  processLabel?: string;
  consoleSocket?: string;
}

export interface Execed {
  pid: number;
  /** skiff-init's parent stage: in the foreground it exits with the process's status */
  init: InitChannel;
  /** the process has a pty (relayed by skiff-init's parent stage when attached) */
  terminal: boolean;
}

export function execContainer(opts: ExecOptions): Execed {
  // skiff-init starts first and waits for its plan: its exec and start-up
  // overlap reading the state and compiling the plan.
  const init = InitChannel.spawn({ preserveFds: opts.preserveFds });
  try {
    return execWith(init, opts);
  } catch (e) {
    init.abandon();
    throw e;
  }
}

function execWith(init: InitChannel, opts: ExecOptions): Execed {
  const { state, paths } = readState(opts.root, opts.id);
  const status = deriveStatus(state, paths);
  // A created container may be exec'd into, as runc allows: its init waits
  // on exec.fifo with every namespace and mount in place.
  if (status === "stopped") throw new StateError("cannot exec in a stopped container");
  if (status === "paused" && !opts.ignorePaused) {
    throw new StateError("cannot exec in a paused container (use --ignore-paused to override)");
  }
  checkSecurityModules(opts.apparmor, opts.processLabel, "--apparmor", "--process-label");

  const proc = execProcess(state.config, state.rootfs, { ...opts, bundleProcess: bundleProcess(state.bundle) });
  if (opts.processFile) {
    const from = (field: string) => `--process ${opts.processFile}: /${field}`;
    checkSecurityModules(proc.apparmorProfile, proc.selinuxLabel, from("apparmorProfile"), from("selinuxLabel"));
  }
  const consoleSocket = checkTerminal({ terminal: Boolean(proc.terminal), detach: opts.detach, consoleSocket: opts.consoleSocket });
  const cgroupDirs = execCgroups(state.cgroup, opts.cgroups);
  const joined = namespacesToJoin(state.pid);
  // Cheaply, by the process itself, unless it lands in the container's own
  // user namespace (then it may not write the host's cgroup files).
  const selfJoin = joined.user === undefined;
  const v2 = cgroupDirs.get("unified");
  const ops = compileExecPlan(proc, {
    seccomp: containerSeccomp(state.config.linux?.seccomp),
    id: state.id,
    join: joined,
    foreground: !opts.detach,
    userFirst: process.geteuid?.() !== 0,
    preserveFds: opts.preserveFds,
    denySetgroups: joined.user !== undefined && setgroupsDenied(state.pid),
    consoleSocket,
    cgroups: selfJoin ? { v1: [...cgroupDirs].filter(([k]) => k !== "unified").map(([, d]) => d), v2 } : undefined,
  });

  init.send(encodePlan(ops));
  let pid = 0;
  let pidFileWritten = false;
  try {
    for (;;) {
      const msg = init.next();
      if (msg.kind === "error") throw initError(msg, ops, { prefix: "exec failed: " });
      if (msg.kind === "eof") {
        // The socket closes at execve: the process runs.
        if (!pid) throw new HelperError(`exec: skiff-init ${init.describeEnd()} before it started the process`);
        break;
      }
      if (msg.kind === "pid") {
        pid = msg.pid;
        // The namespaces were opened by pid: make sure it was still our init.
        if (processStartTime(state.pid) !== state.pidStartTime) throw new StateError("cannot exec in a stopped container");
        if (!selfJoin) joinCgroupDirs([...cgroupDirs.values()], pid);
        // Before the process runs: an unwritable --pid-file fails exec with
        // nothing run (runc's process does not get to run either).
        if (opts.pidFile) pidFileWritten = writePidFile(opts.pidFile, pid);
        init.go();
        continue;
      }
      if (msg.name === SECCOMP_LISTENER_POINT) {
        // seccomp notify: the process's state goes to the agent with its listener fd.
        const metadata = (state.config.linux?.seccomp as Seccomp | undefined)?.listenerMetadata;
        const container = { ociVersion: state.config.ociVersion, id: state.id, pid: state.pid, bundle: state.bundle, annotations: state.annotations };
        init.goWith(execListenerState({ ociVersion: SPEC_VERSION, pid, metadata, container }));
        continue;
      }
      throw new HelperError(`exec: unexpected point ${msg.name} from skiff-init`);
    }
  } catch (e) {
    killAndWait(pid);
    if (pidFileWritten) rmSync(opts.pidFile!, { force: true });
    throw e;
  }
  init.close();
  return { pid, init, terminal: Boolean(proc.terminal) };
}

/** process from the bundle's config.json as it is now, if it is readable and valid. */
function bundleProcess(bundle: string): Process | undefined {
  try {
    return loadSpec(bundle, { warn: false }).spec.process;
  } catch {
    return undefined;
  }
}

/** Each namespace of the container's init that is not ours, by /proc path. */
function namespacesToJoin(initPid: number): Partial<Record<ExecNamespace, string>> {
  const out: Partial<Record<ExecNamespace, string>> = {};
  for (const name of EXEC_NAMESPACES) {
    const ours = inode(`/proc/self/ns/${name}`);
    if (ours === undefined) continue; // this kernel has no such namespace
    const path = `/proc/${initPid}/ns/${name}`;
    const theirs = inode(path);
    if (theirs === undefined) throw new StateError(`exec: read namespace ${path}: the container's init is gone`);
    if (theirs !== ours) out[name] = path;
  }
  return out;
}

function inode(path: string): bigint | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return (st.dev << 64n) | st.ino;
  } catch {
    return undefined;
  }
}

function setgroupsDenied(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, "utf8").trim() === "deny";
  } catch {
    return false;
  }
}

/**
 * The directories the process joins: the container's, or sub-cgroups of
 * them that already exist (--cgroup, as runc's exec takes it).
 */
export function execCgroups(rec: CgroupRecord, specs: readonly string[]): Map<string, string> {
  const dirs = new Map(Object.entries(rec.paths));
  for (const s of specs) {
    const colon = s.indexOf(":");
    const ctrls = colon >= 0 ? s.slice(0, colon).split(",").filter(Boolean) : [];
    const sub = colon >= 0 ? s.slice(colon + 1) : s;
    if (!sub || sub.split("/").includes("..")) {
      throw new UsageError(`exec: invalid cgroup path ${JSON.stringify(sub)} (from --cgroup): use a path below the container's cgroup`);
    }
    const keys = ctrls.length ? ctrls.map((c) => hierarchyOf(rec, c, s)) : Object.keys(rec.paths);
    for (const key of keys) {
      const dir = join(rec.paths[key]!, sub);
      let isDir = false;
      try {
        isDir = statSync(dir).isDirectory();
      } catch {
        // reported below
      }
      if (!isDir) throw new UsageError(`exec: cgroup ${dir} does not exist (from --cgroup ${s})`);
      dirs.set(key, dir);
    }
  }
  return dirs;
}

/** The container's filter applies to exec'd processes as well. */
function containerSeccomp(profile: unknown): SeccompPlan | undefined {
  if (!profile) return undefined;
  return seccompPlan(profile as Seccomp);
}

function hierarchyOf(rec: CgroupRecord, controller: string, spec: string): string {
  const v1 = Object.keys(rec.paths).find((k) => k !== "unified" && k.split(",").includes(controller));
  if (v1) return v1;
  if (rec.paths.unified) return "unified";
  throw new UsageError(`exec: no cgroup hierarchy for controller ${JSON.stringify(controller)} (from --cgroup ${spec})`);
}

function joinCgroupDirs(dirs: readonly string[], pid: number): void {
  for (const dir of dirs) {
    try {
      writeFileSync(join(dir, "cgroup.procs"), String(pid));
    } catch (e) {
      throw new SkiffError(`exec: join cgroup ${dir}: ${describeErrno(e)}`);
    }
  }
}

function checkSecurityModules(apparmor: string | undefined, label: string | undefined, aFrom: string, lFrom: string): void {
  if (apparmor) {
    if (!existsSync("/sys/kernel/security/apparmor")) throw new UsageError(`exec: apparmor is not enabled on this host (from ${aFrom})`);
    throw new UsageError(`exec: apparmor profiles are not supported yet (from ${aFrom})`);
  }
  if (label) {
    if (!existsSync("/sys/fs/selinux/enforce")) throw new UsageError(`exec: selinux is not enabled on this host (from ${lFrom})`);
    throw new UsageError(`exec: selinux labels are not supported yet (from ${lFrom})`);
  }
}

function writePidFile(path: string, pid: number): true {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, String(pid));
    renameSync(tmp, path);
    return true;
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new SkiffError(`write pid file ${path} (from --pid-file): ${describeErrno(e)}`);
  }
}
