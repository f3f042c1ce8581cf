// (Spec, options, host facts) -> Plan. Pure: no I/O; what it must know of
// the host comes in HostFacts, so golden tests run without root.
import type { Op } from "./ops";
import { joinList } from "./ops";
import type { Hook, Mount, Spec } from "../config/types";
import { NAMESPACE_FLAGS } from "../config/tables";
import {
  MS_BIND, MS_RDONLY, MS_REC, MS_SLAVE, MS_PRIVATE, MS_SHARED, MS_UNBINDABLE,
  isBindMount, normalizeDestination, parseMountOptions,
} from "../config/mount_options";
import { LXCFS_FILES } from "../config/proc_mounts";
import { devicePlan } from "./devices";
import { absoluteOverlayOptions } from "./overlay_dirs";
import { bindTreePlan, bindTrees } from "./bind_trees";
import { cgroupMountPlan, type CgroupMountFacts } from "./cgroup_mounts";
import { processAttributePlan, processOomPlan } from "./process_attrs";
import { credentialsPlan, execPlan } from "./process_plan";
import { seccompPlan } from "../seccomp/plan";
import type { Seccomp } from "../seccomp/compile";

export interface HostFacts {
  /** What a bind mount's source is, to create a dir or a file as target. */
  sourceKind(path: string): "dir" | "file" | "missing";
  /** Mount point of the host mount that holds path (optional: without it no parent is made private). */
  mountPointOf?(path: string): string | undefined;
  /** How to give the container a /sys/fs/cgroup view. */
  cgroup: CgroupMountFacts;
}

export interface CompileOptions {
  rootfs: string; // absolute host path
  bundle: string; // absolute host path, for relative bind sources
  fifo: string; // absolute host path of exec.fifo
  id: string;
  /** the container's cgroup directories: v1 hierarchies, and the v2 one */
  cgroups?: { v1: string[]; v2?: string };
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** an unprivileged caller's user namespace: setgroups(2) is denied there */
  denySetgroups?: boolean;
  preserveFds?: number;
  /** run in the foreground: the parent stage waits and returns the status */
  foreground?: boolean;
  subreaper?: boolean;
  /** with process.terminal: where the pty master goes (else the foreground parent stage relays it) */
  consoleSocket?: string;
}

const PROPAGATION: Record<string, number> = {
  shared: MS_SHARED, slave: MS_SLAVE, private: MS_PRIVATE, unbindable: MS_UNBINDABLE,
  rshared: MS_SHARED | MS_REC, rslave: MS_SLAVE | MS_REC, rprivate: MS_PRIVATE | MS_REC, runbindable: MS_UNBINDABLE | MS_REC,
};

const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUSER = 0x10000000;

export function compilePlan(spec: Spec, opts: CompileOptions & { host: HostFacts }): Op[] {
  const ops: Op[] = [];
  const linux = spec.linux ?? {};
  const namespaces = linux.namespaces ?? [];
  const proc = spec.process!;
  const has = (t: string) => namespaces.find((n) => n.type === t);
  const index = (t: string) => namespaces.findIndex((n) => n.type === t);

  // oom_score_adj first, before skiff-init holds anything of the container
  // (a rootless caller turns dumpable for the write) and before any
  // namespace is joined or made; the container inherits it across clone, as
  // from runc's stage 0. From inside a new user namespace the write is
  // refused: a non-dumpable process's /proc files belong to the host's root,
  // and lowering the value takes CAP_SYS_RESOURCE in the host's namespace.
  ops.push(...processOomPlan(proc));
  // exec.fifo is opened as the caller, before any namespace is joined or
  // made: the state dir need not be reachable by the container's root
  // (in a new user namespace, host uid 100000 cannot pass a 0700 --root).
  ops.push({ op: "open_fifo", path: opts.fifo, origin: "" });
  if (proc.terminal) ops.push(consoleSocketOp(opts.consoleSocket));
  const self = joinsCgroupsItself(spec) && opts.cgroups !== undefined;
  if (self) ops.push(cgroupOpenOp(opts.cgroups!));
  // Idmapped binds, and every bind of a container with a user namespace,
  // are made while this process is still in the host's user and mount
  // namespaces (src/plan/bind_trees.ts).
  ops.push(...bindTreePlan(spec, { bundle: opts.bundle, privileged: !opts.denySetgroups }));
  // Parent stage: join the user namespace first (it owns the others), then
  // the rest; new namespaces come with clone.
  const joins = namespaces
    .map((n, i) => ({ n, i }))
    .filter(({ n }) => n.path)
    .sort((a, b) => Number(b.n.type === "user") - Number(a.n.type === "user"));
  for (const { n, i } of joins) {
    ops.push({ op: "setns", nstype: NAMESPACE_FLAGS[n.type], path: n.path!, origin: `/linux/namespaces/${i}` });
  }
  const time = has("time");
  if (time && !time.path) {
    const offsets = Object.entries(linux.timeOffsets ?? {})
      .map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`)
      .join("\n");
    ops.push({ op: "unshare_time", offsets, origin: `/linux/namespaces/${index("time")}` });
  }
  let cloneFlags = 0;
  for (const n of namespaces) {
    if (!n.path && n.type !== "time" && n.type !== "cgroup") cloneFlags |= NAMESPACE_FLAGS[n.type];
  }
  ops.push({ op: "clone", flags: cloneFlags, wait: opts.foreground ? 1 : 0, subreaper: opts.subreaper ? 1 : 0, origin: "/linux/namespaces" });
  if (self) ops.push({ op: "join_cgroup", origin: "/linux/cgroupsPath" });

  // Container's first process, once skiff wrote the id maps.
  const newUser = (cloneFlags & CLONE_NEWUSER) !== 0;
  if (newUser && opts.denySetgroups) {
    // Unprivileged, nobody outside may write the maps of a non-dumpable
    // process; the kernel lets it map its own ids itself (one uid, one gid).
    ops.push({ op: "own_id_maps", uid_map: idMapText(linux.uidMappings), gid_map: idMapText(linux.gidMappings), origin: "/linux/uidMappings" });
  }
  if (newUser) ops.push({ op: "become_root", origin: `/linux/namespaces/${index("user")}` });
  const cgroupNs = has("cgroup");
  if (cgroupNs && !cgroupNs.path) {
    // Born in its cgroups, the process makes a cgroup namespace rooted there.
    ops.push({ op: "unshare", flags: CLONE_NEWCGROUP, origin: `/linux/namespaces/${index("cgroup")}` });
  }
  ops.push({ op: "setsid", origin: "" });
  if (!opts.noNewKeyring) ops.push({ op: "session_keyring", name: `_ses.${opts.id}`, origin: "--no-new-keyring" });

  compileRootfs(ops, spec, opts);
  // seccomp: compiled here; loaded before identity (no_new_privs false, needs
  // CAP_SYS_ADMIN) or just before exec (no_new_privs true), as runc does.
  const seccomp = linux.seccomp ? seccompPlan(linux.seccomp as Seccomp) : undefined;
  if (seccomp?.listener) ops.push(seccomp.listener);
  for (const [key, value] of Object.entries(linux.sysctl ?? {})) {
    ops.push({ op: "sysctl", path: `/proc/sys/${key.replaceAll(".", "/")}`, value, origin: `/linux/sysctl/${escapePointer(key)}` });
  }
  // prestart and createRuntime hooks run in skiff (the runtime's
  // namespaces); createContainer hooks here, in the container's namespaces
  // before pivot_root, as the spec says, with the state skiff sends.
  const hooks = spec.hooks ?? {};
  const createHooks = hooks.createContainer ?? [];
  if ((hooks.prestart?.length ?? 0) + (hooks.createRuntime?.length ?? 0) + createHooks.length > 0) {
    ops.push({ op: "wait_go", point: "createRuntime", payload: createHooks.length ? 1 : 0, origin: "/hooks" });
  }
  createHooks.forEach((h, index) => ops.push(hookOp(h, { kind: "createContainer", index })));
  ops.push(opts.noPivot ? { op: "chroot", origin: "/root/path" } : { op: "pivot_root", origin: "/root/path" });
  // As runc: the console after the rootfs is in place, before it is made
  // read-only and paths are masked, and long before the user switch.
  if (proc.terminal) ops.push(terminalOp(proc, { console: true }));
  // A read-only /dev is made read-only only now, once it is populated
  // (nodes, links, mount points, /dev/console), as runc does.
  const devRo = readonlyDev(spec.mounts ?? []);
  if (devRo) ops.push({ op: "remount", target: "/dev", flags: devRo.flags, origin: devRo.origin });
  // Read-only paths before masks, as runc: a mask is a bind, and a bind made
  // later of something under a read-only path is read-only too.
  (linux.readonlyPaths ?? []).forEach((path, i) => ops.push({ op: "readonly", path, origin: `/linux/readonlyPaths/${i}` }));
  (linux.maskedPaths ?? []).forEach((path, i) => ops.push({ op: "mask", path, origin: `/linux/maskedPaths/${i}` }));
  if (spec.root?.readonly) ops.push({ op: "remount", target: "", flags: MS_BIND | MS_REC | MS_RDONLY, origin: "/root/readonly" });
  if (spec.hostname !== undefined && has("uts")) ops.push({ op: "hostname", name: spec.hostname, origin: "/hostname" });
  if (spec.domainname !== undefined && has("uts")) ops.push({ op: "domainname", name: spec.domainname, origin: "/domainname" });

  ops.push(...processAttributePlan(proc, { personality: linux.personality, oom: false }));
  ops.push(...credentialsPlan(proc, { seccomp, setgroups: !(newUser && opts.denySetgroups), preserveFds: opts.preserveFds ?? 0 }));
  // At "ready" skiff knows the pid: it sends the state startContainer hooks get.
  const startHooks = hooks.startContainer ?? [];
  ops.push({ op: "wait_go", point: "ready", payload: startHooks.length ? 1 : 0, origin: "" });
  ops.push({ op: "wait_fifo", origin: "" });
  // startContainer hooks run under the container's filter, as runc's: with
  // no_new_privs its late load comes before them (else it came before identity).
  if (seccomp && proc.noNewPrivileges) ops.push(seccomp.load);
  startHooks.forEach((h, index) => ops.push(hookOp(h, { kind: "startContainer", index })));
  ops.push(...execPlan(proc, { seccomp: undefined }));
  return ops;
}

type RootfsOptions = CompileOptions & { host: HostFacts };

/** A hook run by skiff-init, with the state skiff last sent as its stdin. */
function hookOp(h: Hook, opts: { kind: "createContainer" | "startContainer"; index: number }): Op {
  const origin = `/hooks/${opts.kind}/${opts.index}`;
  return { op: "hook", kind: opts.kind, path: h.path, args: joinList(h.args ?? [h.path]), env: joinList(h.env ?? []), timeout: h.timeout ?? 0, origin };
}

/** Connect to --console-socket while the host is in view, or make the relay's socketpair. */
export function consoleSocketOp(path: string | undefined): Op {
  return path
    ? { op: "console_socket", relay: 0, path, origin: "--console-socket" }
    : { op: "console_socket", relay: 1, path: "", origin: "/process/terminal" };
}

export function terminalOp(proc: NonNullable<Spec["process"]>, opts: { console: boolean }): Op {
  return {
    op: "terminal",
    height: proc.consoleSize?.height ?? 0,
    width: proc.consoleSize?.width ?? 0,
    uid: proc.user.uid,
    console: opts.console ? 1 : 0,
    origin: "/process/terminal",
  };
}

function compileRootfs(ops: Op[], spec: Spec, opts: RootfsOptions): void {
  const linux = spec.linux ?? {};
  const prop = linux.rootfsPropagation ? PROPAGATION[linux.rootfsPropagation]! : MS_SLAVE | MS_REC;
  // Nothing we mount may propagate back to the host.
  ops.push({ op: "propagate", target: "/", flags: prop | MS_REC, origin: linux.rootfsPropagation ? "/linux/rootfsPropagation" : "" });
  if (prop & MS_SHARED) {
    // As runc: a shared parent mount of the rootfs makes pivot_root fail
    // (EINVAL) and would carry the rootfs bind to its peers; make it private.
    const parent = opts.host.mountPointOf?.(opts.rootfs);
    if (parent) ops.push({ op: "propagate", target: parent, flags: MS_PRIVATE, origin: "/linux/rootfsPropagation" });
  }
  ops.push({ op: "open_root", path: opts.rootfs, origin: "/root/path" });
  const mounts = spec.mounts ?? [];
  const trees = bindTrees(spec, { privileged: !opts.denySetgroups });
  mounts.forEach((m, i) => compileMount(ops, m, { ...opts, origin: `/mounts/${i}`, tree: trees.get(i) }));
  const devBound = mounts.some((m) => normalizeDestination(m.destination) === "/dev" && isBindMount(m));
  if (!devBound) ops.push(...devicePlan(linux.devices ?? [], { mountsDevpts: mounts.some((m) => m.type === "devpts") }));
  ops.push({ op: "mkdir", path: spec.process!.cwd, mode: 0o755, origin: "/process/cwd" });
}

function compileMount(ops: Op[], m: Mount, opts: RootfsOptions & { origin: string; tree?: number }): void {
  const origin = opts.origin;
  let options = m.options ?? [];
  // Layer paths relative to the bundle, never to skiff-init's cwd (overlay_dirs.ts).
  if (m.type === "overlay" && !isBindMount(m)) options = absoluteOverlayOptions(options, { bundle: opts.bundle, pointer: `${origin}/options` });
  const o = parseMountOptions(options, { pointer: `${origin}/options` });
  const target = normalizeDestination(m.destination);
  if (m.type === "cgroup" || m.type === "cgroup2") {
    ops.push(...cgroupMountPlan(target, o.flags, { facts: opts.host.cgroup, origin }));
    return;
  }
  const bind = o.bind || m.type === "bind";
  let source = m.source ?? "";
  if (bind && !source.startsWith("/")) source = `${opts.bundle}/${source}`;
  // Where procfs and sysfs go, no symlink may be on the way (runc: "must be
  // mounted on ordinary directory"); elsewhere a dangling link is followed
  // inside the root, as runc's MkdirAll does.
  const plain = target === "/proc" || target === "/sys" || m.type === "proc" || m.type === "sysfs";
  const dir: Op = plain ? { op: "plain_dir", path: target, mode: 0o755, origin } : { op: "mkdir", path: target, mode: 0o755, origin };
  if (opts.tree !== undefined) {
    // The parent stage made the tree, with its flags; move it in.
    ops.push(!plain && opts.host.sourceKind(source) === "file" ? { op: "mkfile", path: target, mode: 0o644, origin } : dir);
    ops.push({ op: "move_tree", tree: opts.tree, target, origin });
    for (const p of o.propagation) ops.push({ op: "propagate", target, flags: p, origin });
    return;
  }
  const procfs = procfsRule(target, { bind, type: m.type });
  if (bind) {
    ops.push(!plain && opts.host.sourceKind(source) === "file" ? { op: "mkfile", path: target, mode: 0o644, origin } : dir);
    ops.push({ op: "mount", source, target, fstype: "", flags: MS_BIND | (o.recursive ? MS_REC : 0), procfs, data: "", origin });
    // A bind ignores every other flag: they take a remount.
    const rest = o.flags & ~(MS_BIND | MS_REC);
    if (rest) ops.push({ op: "remount", target, flags: MS_BIND | rest, origin });
  } else {
    ops.push(dir);
    // /dev is filled after it is mounted: "ro" waits for compilePlan's remount.
    const flags = target === "/dev" ? o.flags & ~MS_RDONLY : o.flags;
    ops.push({ op: "mount", source, target, fstype: m.type ?? "", flags, procfs, data: o.data.join(","), origin });
  }
  for (const p of o.propagation) ops.push({ op: "propagate", target, flags: p, origin });
  if (o.recAttrSet || o.recAttrClr) ops.push({ op: "setattr", target, set: o.recAttrSet, clear: o.recAttrClr, propagation: 0, origin });
}

/** The mount op's procfs field: what skiff-init does when the resolved target is on procfs. */
export const PROCFS_REFUSE = 0;
export const PROCFS_ALLOW = 1;
export const PROCFS_SOURCE = 2;

/**
 * A mount whose target resolves into procfs is refused (a symlink in the
 * image, /data -> /proc/self say, would put a volume over skiff-init's own
 * /proc entries), except where the spec's own mounts go: a fresh proc on
 * /proc, a bind of a procfs onto /proc, and the files lxcfs emulates.
 * Destinations written at or inside /proc are refused before this, by
 * validation (src/config/proc_mounts.ts): this is for what the rootfs's
 * links make of the others, and for the source of a bind onto /proc.
 */
export function procfsRule(target: string, m: { bind: boolean; type?: string }): number {
  if (target === "/proc") return m.bind ? PROCFS_SOURCE : m.type === "proc" ? PROCFS_ALLOW : PROCFS_REFUSE;
  return LXCFS_FILES.has(target) ? PROCFS_ALLOW : PROCFS_REFUSE;
}

/** The last mount on /dev, when it is a new file system asked to be read-only: its flags and origin. */
function readonlyDev(mounts: readonly Mount[]): { flags: number; origin: string } | undefined {
  const i = mounts.findLastIndex((m) => normalizeDestination(m.destination) === "/dev");
  const m = mounts[i];
  if (!m || isBindMount(m) || m.type === "cgroup" || m.type === "cgroup2") return undefined;
  const o = parseMountOptions(m.options ?? [], { pointer: `/mounts/${i}/options` });
  return o.flags & MS_RDONLY ? { flags: o.flags, origin: `/mounts/${i}` } : undefined;
}

/**
 * How a process gets into its cgroups cheaply. Moving one by pid
 * (cgroup.procs) takes the kernel's global cgroup lock, whose first use
 * after a quiet spell waits for an RCU grace period (6-12 ms). A process born
 * in its cgroup v2 directory (clone3 CLONE_INTO_CGROUP), or moving its only
 * thread itself (0 into a v1 tasks file), does not take it. The files are
 * opened before any namespace is joined, while the host's paths are in view.
 */
export function cgroupOpenOp(dirs: { v1: readonly string[]; v2?: string }): Op {
  return { op: "cgroup_open", v2: dirs.v2 ?? "", tasks: joinList(dirs.v1.map((d) => `${d}/tasks`)), origin: "/linux/cgroupsPath" };
}

/** id mappings as /proc/PID/uid_map takes them: "inside outside count" lines. */
export function idMapText(maps: readonly { containerID: number; hostID: number; size: number }[] | undefined): string {
  return (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

/** Inside a new user namespace the process may not write the host's cgroup files: skiff moves it by pid. */
export function joinsCgroupsItself(spec: Spec): boolean {
  return !(spec.linux?.namespaces ?? []).some((n) => n.type === "user" && !n.path);
}



function escapePointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}
