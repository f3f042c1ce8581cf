// The process `skiff exec` runs: from the container's config (or a
// --process file, a runtime-spec Process), with the command line's
// overrides, as runc's exec builds it. User names are resolved in the
// container's /etc/passwd and /etc/group, read through the rootfs without
// following a symlink out of it.
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readlinkSync } from "node:fs";
import { SpecError, UsageError } from "../errors";
import type { Process, Spec } from "../config/types";
import { validateSpec } from "../config/validate";
import { readJsonFile } from "../config/load";
import { CAPABILITIES } from "../config/tables";

export interface ExecOverrides {
  /** the command line after the container id */
  args: string[];
  processFile?: string;
  cwd?: string;
  env: string[];
  user?: string;
  additionalGids: string[];
  caps: string[];
  noNewPrivs?: boolean;
  /** --tty (ignored with --process, as by runc) */
  tty?: boolean;
}

/** The container's process as exec runs it, after every override. */
export function execProcess(config: Spec, rootfs: string, o: ExecOverrides & { bundleProcess?: Process }): Process {
  // runc reads the bundle's config.json again for exec; state.json's copy
  // has create's additions (HOME for the init's user) and is the fallback.
  const base = o.bundleProcess ?? config.process;
  let proc: Process;
  if (o.processFile) {
    proc = readProcessFile(o.processFile, config);
    // As runc: what the file leaves out, the container's config gives.
    if (!proc.capabilities) proc.capabilities = structuredClone(base?.capabilities);
    if (!proc.rlimits?.length) proc.rlimits = structuredClone(base?.rlimits);
    if (o.args.length) throw new UsageError("exec: give the command in --process or on the command line, not both");
  } else {
    if (!base) throw new UsageError("exec: the container's config has no process: use --process");
    proc = structuredClone(base);
    proc.args = o.args;
    proc.terminal = Boolean(o.tty);
    // Config's attributes of the first process only.
    delete proc.execCPUAffinity;
    delete proc.oomScoreAdj;
  }
  // As runc (1.1.5): every exec'd process gets the oom_score_adj the
  // container was created with (runc's init data always carries the
  // container's). A --process file that sets its own keeps it: runc ignores
  // that one, skiff applies what the file asks.
  const created = config.process?.oomScoreAdj;
  if (proc.oomScoreAdj === undefined && created !== undefined) proc.oomScoreAdj = created;
  if (!proc.args?.length) throw new UsageError("exec: args must not be empty: give a command after the container id, or --process");

  if (o.cwd !== undefined) {
    if (!o.cwd.startsWith("/")) throw new UsageError(`exec: cwd ${JSON.stringify(o.cwd)} must be an absolute path (from --cwd)`);
    proc.cwd = o.cwd;
  }
  for (const c of o.caps) {
    const name = c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`;
    if (CAPABILITIES[name] === undefined) throw new UsageError(`exec: unknown capability ${JSON.stringify(c)} (from --cap)`);
    const caps = (proc.capabilities ??= {});
    // runc (since 1.1.2) adds --cap to these sets, never to inheritable.
    for (const set of ["bounding", "effective", "permitted", "ambient"] as const) {
      const list = (caps[set] ??= []);
      if (!list.includes(name)) list.push(name);
    }
  }
  if (o.noNewPrivs) proc.noNewPrivileges = true;

  const db = new UserDb(rootfs);
  proc.user = { ...proc.user, additionalGids: [...(proc.user.additionalGids ?? [])] };
  if (o.user !== undefined) {
    const u = resolveUser(o.user, db);
    proc.user.uid = u.uid;
    if (u.gid !== undefined) proc.user.gid = u.gid;
    for (const g of u.groups) if (!proc.user.additionalGids!.includes(g)) proc.user.additionalGids!.push(g);
  }
  for (const g of o.additionalGids) {
    const n = Number(g);
    if (!/^\d+$/.test(g) || n > 0xffffffff) throw new UsageError(`exec: additional gid ${JSON.stringify(g)} must be a non-negative number (from --additional-gids)`);
    if (!proc.user.additionalGids!.includes(n)) proc.user.additionalGids!.push(n);
  }

  for (const e of o.env) checkEnv(e, "--env");
  proc.env = finalEnv([...(proc.env ?? []), ...o.env], () => db.home(proc.user.uid));
  return proc;
}

function readProcessFile(file: string, config: Spec): Process {
  const { value } = readJsonFile(file);
  // runc reads a process without user as uid 0, gid 0 (Go's zero values).
  if (typeof value === "object" && value !== null && !Array.isArray(value) && !("user" in value)) {
    (value as { user: unknown }).user = { uid: 0, gid: 0 };
  }
  // The spec's own validator, on the container's config with this process:
  // the config is valid already, so every issue is the file's.
  const issues = validateSpec({ ...config, process: value }, { requireProcess: true }).map((i) => ({
    pointer: i.pointer.replace(/^\/process/, ""),
    message: i.message,
  }));
  if (issues.length) throw new SpecError(file, issues);
  return value as Process;
}

function checkEnv(e: string, from: string): void {
  const eq = e.indexOf("=");
  if (eq < 0) throw new UsageError(`exec: invalid environment variable ${JSON.stringify(e)}: missing '=' (from ${from})`);
  if (eq === 0) throw new UsageError(`exec: invalid environment variable ${JSON.stringify(e)}: name is empty (from ${from})`);
}

/**
 * As runc's init leaves the environment: one entry per name, at the place
 * of its first occurrence with the value of its last, and HOME from the
 * user's passwd entry ("/" without one) when the list has none.
 */
export function finalEnv(env: readonly string[], home: () => string): string[] {
  const order: string[] = [];
  const value = new Map<string, string>();
  for (const e of env) {
    const eq = e.indexOf("=");
    const name = eq < 0 ? e : e.slice(0, eq);
    if (!value.has(name)) order.push(name);
    value.set(name, e);
  }
  const out = order.map((n) => value.get(n)!);
  if (!value.has("HOME")) out.push(`HOME=${home()}`);
  return out;
}

// ---- users and groups -------------------------------------------------------

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** The container's /etc/passwd and /etc/group, read once when first needed. */
class UserDb {
  private passwd_?: PasswdEntry[];
  private group_?: GroupEntry[];
  constructor(private rootfs: string) {}

  get passwd(): PasswdEntry[] {
    return (this.passwd_ ??= parseColonFile(readInRoot(this.rootfs, "/etc/passwd"), 7).map((f) => ({
      name: f[0]!,
      uid: Number(f[2]),
      gid: Number(f[3]),
      home: f[5]!,
    })));
  }

  get group(): GroupEntry[] {
    return (this.group_ ??= parseColonFile(readInRoot(this.rootfs, "/etc/group"), 4).map((f) => ({
      name: f[0]!,
      gid: Number(f[2]),
      members: f[3] ? f[3].split(",").filter(Boolean) : [],
    })));
  }

  home(uid: number): string {
    return this.passwd.find((p) => p.uid === uid)?.home || "/";
  }
}

function parseColonFile(text: string, fields: number): string[][] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(":"))
    .filter((f) => f.length >= fields - 1 && /^\d+$/.test(f[2] ?? "") && (fields !== 7 || /^\d+$/.test(f[3] ?? "")));
}

const NUMERIC = /^\d+$/;

/**
 * -u uid[:gid] as runc takes it (numbers; with no gid the config's stays),
 * or names: a user name gives its passwd gid and the groups that list it.
 */
export function resolveUser(spec: string, db: Pick<UserDb, "passwd" | "group">): { uid: number; gid?: number; groups: number[] } {
  const colon = spec.indexOf(":");
  const userPart = colon >= 0 ? spec.slice(0, colon) : spec;
  const groupPart = colon >= 0 ? spec.slice(colon + 1) : undefined;
  if (!userPart) throw new UsageError(`exec: invalid user ${JSON.stringify(spec)} (from --user): use uid[:gid] or name[:group]`);
  let uid: number;
  let gid: number | undefined;
  const groups: number[] = [];
  if (NUMERIC.test(userPart)) {
    uid = checkId(Number(userPart), spec);
  } else {
    const entry = db.passwd.find((p) => p.name === userPart);
    if (!entry) throw new UsageError(`exec: unable to find user ${userPart}: no matching entries in passwd file (from --user)`);
    uid = entry.uid;
    if (groupPart === undefined) {
      gid = entry.gid;
      for (const g of db.group) if (g.members.includes(userPart) && g.gid !== gid && !groups.includes(g.gid)) groups.push(g.gid);
    }
  }
  if (groupPart !== undefined) {
    if (!groupPart) throw new UsageError(`exec: invalid user ${JSON.stringify(spec)} (from --user): empty group`);
    if (NUMERIC.test(groupPart)) gid = checkId(Number(groupPart), spec);
    else {
      const g = db.group.find((e) => e.name === groupPart);
      if (!g) throw new UsageError(`exec: unable to find group ${groupPart}: no matching entries in group file (from --user)`);
      gid = g.gid;
    }
  }
  return { uid, gid, groups };
}

function checkId(n: number, spec: string): number {
  if (n > 0xfffffffe) throw new UsageError(`exec: invalid user ${JSON.stringify(spec)} (from --user): id out of range`);
  return n;
}

// ---- reading a file inside the rootfs ----------------------------------------

/**
 * The host path of `path` inside `root`, resolving symlinks component by
 * component as the container would see them: absolute targets and ".."
 * never leave root. Components that do not exist are kept as they are.
 */
export function secureJoin(root: string, path: string): string {
  const rootPath = root.replace(/\/+$/, "") || "/";
  const done: string[] = [];
  let todo = path.split("/").filter((p) => p && p !== ".");
  let links = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const host = joinHost(rootPath, [...done, part]);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      // Missing: the rest is lexical, there is no link to follow.
      done.push(part);
      for (const p of todo) if (p === "..") done.pop(); else done.push(p);
      break;
    }
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > 255) throw new Error(`resolve ${path} in ${root}: too many levels of symbolic links`);
    const target = readlinkSync(host);
    if (target.startsWith("/")) done.length = 0;
    todo = [...target.split("/").filter((p) => p && p !== "."), ...todo];
  }
  return joinHost(rootPath, done);
}

function joinHost(root: string, parts: string[]): string {
  return (root === "/" ? "" : root) + "/" + parts.join("/");
}

/** A regular file's text inside the rootfs; "" when missing (as a missing passwd is). */
export function readInRoot(root: string, path: string): string {
  let fd: number;
  try {
    const host = secureJoin(root, path);
    // O_NOFOLLOW: a symlink swapped in after secureJoin is refused.
    fd = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return "";
  }
  try {
    if (!fstatSync(fd).isFile()) return "";
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}
