// Turns the option strings of a config.json mount into mount(2) flags,
// propagation changes, mount_setattr(2) recursive attributes, and the data
// string left for the filesystem. Options are applied in order, so a later
// option wins over an earlier one ("ro,rw" is read-write), as with mount(8).

import { SpecError } from "../errors";

// mount(2) flags, linux/mount.h.
export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_I_VERSION = 0x800000;
export const MS_STRICTATIME = 0x1000000;
export const MS_LAZYTIME = 0x2000000;

// mount_setattr(2) attributes, linux/mount.h.
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
export const MOUNT_ATTR__ATIME = 0x70;
export const MOUNT_ATTR_RELATIME = 0x0;
export const MOUNT_ATTR_NOATIME = 0x10;
export const MOUNT_ATTR_STRICTATIME = 0x20;
export const MOUNT_ATTR_NODIRATIME = 0x80;
export const MOUNT_ATTR_IDMAP = 0x100000;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000;

export interface MountOptions {
  flags: number; // MS_* to pass to mount(2)
  clearFlags: number; // MS_* an option asked to clear (e.g. "rw" after a bind: remount without MS_RDONLY)
  propagation: number[]; // one mount(2) call per entry, in order, e.g. MS_PRIVATE|MS_REC
  recAttrSet: number; // MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE)
  recAttrClr: number;
  data: string[]; // everything else, joined with "," as the filesystem's data
  bind: boolean;
  recursive: boolean; // rbind
  idmap: boolean; // "idmap" or "ridmap": an idmapped bind mount (never passed to mount(2))
  ridmap: boolean; // "ridmap": the mapping applies to every mount of the tree
}

// [set?, MS_ flag]: set=false means the option clears the flag.
const FLAG_OPTIONS: Readonly<Record<string, readonly [boolean, number]>> = {
  async: [false, MS_SYNCHRONOUS],
  atime: [false, MS_NOATIME],
  bind: [true, MS_BIND],
  defaults: [true, 0],
  dev: [false, MS_NODEV],
  diratime: [false, MS_NODIRATIME],
  dirsync: [true, MS_DIRSYNC],
  exec: [false, MS_NOEXEC],
  iversion: [true, MS_I_VERSION],
  lazytime: [true, MS_LAZYTIME],
  loud: [false, MS_SILENT],
  mand: [true, MS_MANDLOCK],
  noatime: [true, MS_NOATIME],
  nodev: [true, MS_NODEV],
  nodiratime: [true, MS_NODIRATIME],
  noexec: [true, MS_NOEXEC],
  noiversion: [false, MS_I_VERSION],
  nolazytime: [false, MS_LAZYTIME],
  nomand: [false, MS_MANDLOCK],
  norelatime: [false, MS_RELATIME],
  nostrictatime: [false, MS_STRICTATIME],
  nosuid: [true, MS_NOSUID],
  nosymfollow: [true, MS_NOSYMFOLLOW],
  rbind: [true, MS_BIND | MS_REC],
  relatime: [true, MS_RELATIME],
  remount: [true, MS_REMOUNT],
  ro: [true, MS_RDONLY],
  rw: [false, MS_RDONLY],
  silent: [true, MS_SILENT],
  strictatime: [true, MS_STRICTATIME],
  suid: [false, MS_NOSUID],
  symfollow: [false, MS_NOSYMFOLLOW],
  sync: [true, MS_SYNCHRONOUS],
};

const PROPAGATION_OPTIONS: Readonly<Record<string, number>> = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
};

// [set?, MOUNT_ATTR_]: recursive variants applied with mount_setattr.
const REC_ATTR_OPTIONS: Readonly<Record<string, readonly [boolean, number]>> = {
  rro: [true, MOUNT_ATTR_RDONLY],
  rrw: [false, MOUNT_ATTR_RDONLY],
  rnosuid: [true, MOUNT_ATTR_NOSUID],
  rsuid: [false, MOUNT_ATTR_NOSUID],
  rnodev: [true, MOUNT_ATTR_NODEV],
  rdev: [false, MOUNT_ATTR_NODEV],
  rnoexec: [true, MOUNT_ATTR_NOEXEC],
  rexec: [false, MOUNT_ATTR_NOEXEC],
  rnodiratime: [true, MOUNT_ATTR_NODIRATIME],
  rdiratime: [false, MOUNT_ATTR_NODIRATIME],
  rnosymfollow: [true, MOUNT_ATTR_NOSYMFOLLOW],
  rsymfollow: [false, MOUNT_ATTR_NOSYMFOLLOW],
};

// The kernel keeps one access-time mode per mount and only accepts a change
// of it as "clear all of MOUNT_ATTR__ATIME, set the new mode", so each
// option names the mode it leaves behind. Without noatime or relatime what
// remains is full atime updates, which is strictatime.
const REC_ATIME_OPTIONS: Readonly<Record<string, number>> = {
  rnoatime: MOUNT_ATTR_NOATIME,
  ratime: MOUNT_ATTR_RELATIME,
  rrelatime: MOUNT_ATTR_RELATIME,
  rnorelatime: MOUNT_ATTR_STRICTATIME,
  rstrictatime: MOUNT_ATTR_STRICTATIME,
  rnostrictatime: MOUNT_ATTR_RELATIME,
};

const UNSUPPORTED_OPTIONS: Readonly<Record<string, string>> = {
  tmpcopyup: "mount option \"tmpcopyup\" is not supported",
};

/** Every option skiff understands (the features document lists these). */
export const MOUNT_OPTIONS: readonly string[] = [
  ...Object.keys(FLAG_OPTIONS),
  ...Object.keys(PROPAGATION_OPTIONS),
  ...Object.keys(REC_ATTR_OPTIONS),
  ...Object.keys(REC_ATIME_OPTIONS),
  "idmap",
  "ridmap",
].sort();

/** Why an option cannot be used, or undefined when it can (unknown ones go to the filesystem). */
export function checkMountOption(option: string): string | undefined {
  return Object.hasOwn(UNSUPPORTED_OPTIONS, option) ? UNSUPPORTED_OPTIONS[option] : undefined;
}

/**
 * Parse a mount's options. `pointer` (e.g. "/mounts/3/options") locates the
 * options in config.json for the error raised on an unsupported option;
 * validateSpec reports those first, so this only throws on unvalidated input.
 */
export function parseMountOptions(options: readonly string[], opts: { pointer?: string } = {}): MountOptions {
  const out: MountOptions = {
    flags: 0,
    clearFlags: 0,
    propagation: [],
    recAttrSet: 0,
    recAttrClr: 0,
    data: [],
    bind: false,
    recursive: false,
    idmap: false,
    ridmap: false,
  };
  options.forEach((option, i) => {
    const unsupported = checkMountOption(option);
    if (unsupported) {
      throw new SpecError("config.json", [{ pointer: `${opts.pointer ?? ""}/${i}`, message: unsupported }]);
    }
    applyOption(out, option);
  });
  return out;
}

function applyOption(out: MountOptions, option: string): void {
  if (option === "idmap" || option === "ridmap") {
    out.idmap = true;
    out.ridmap = option === "ridmap";
    return;
  }
  const flag = lookup(FLAG_OPTIONS, option);
  if (flag) {
    const [set, bits] = flag;
    if (set) {
      out.flags |= bits;
      out.clearFlags &= ~bits;
    } else {
      out.flags &= ~bits;
      out.clearFlags |= bits;
    }
    if (bits & MS_BIND) out.bind = true;
    if (option === "rbind") out.recursive = true;
    return;
  }
  const propagation = lookup(PROPAGATION_OPTIONS, option);
  if (propagation !== undefined) {
    out.propagation.push(propagation);
    return;
  }
  const attr = lookup(REC_ATTR_OPTIONS, option);
  if (attr) {
    const [set, bits] = attr;
    if (set) {
      out.recAttrSet |= bits;
      out.recAttrClr &= ~bits;
    } else {
      out.recAttrSet &= ~bits;
      out.recAttrClr |= bits;
    }
    return;
  }
  const atime = lookup(REC_ATIME_OPTIONS, option);
  if (atime !== undefined) {
    out.recAttrSet = (out.recAttrSet & ~MOUNT_ATTR__ATIME) | atime;
    out.recAttrClr |= MOUNT_ATTR__ATIME;
    return;
  }
  out.data.push(option);
}

// Own keys only: an option named "constructor" is filesystem data, not Object.prototype.
function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A bind mount: type "bind", or a "bind"/"rbind" option (runc's reading). */
export function isBindMount(m: { type?: string; options?: readonly string[] }): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

/** "/dev/../proc/" -> "/proc": lexical, the kernel resolves the rest in the root. */
export function normalizeDestination(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}
