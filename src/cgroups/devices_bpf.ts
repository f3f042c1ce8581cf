// cgroup v2 device control: linux.resources.devices (plus runc's default
// allowed devices) -> a BPF_PROG_TYPE_CGROUP_DEVICE
// program. Pure; build/skiff-bpf loads and attaches the result.
//
// Semantics are runc's: the rules are replayed, in order, on an emulation of
// the cgroup v1 device controller (a rule of type "a" resets the list and
// sets the default; a rule with the default's action removes access from an
// exception, one with the other action adds it). What is left is a default
// and a set of exceptions, all with the opposite action; the program checks
// the exceptions one by one and falls through to the default.
import { ResourceError, DEFAULT_DEVICE_RULES } from "./translate";
import type { DeviceRule } from "./resources_types";

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
// access_type = (access << 16) | type
export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;
export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;

/** One eBPF instruction (struct bpf_insn). */
export interface BpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

/** A rule after emulation: an exception to the default, never of type "a". */
export interface DeviceException {
  type: "b" | "c";
  major: number; // -1: any
  minor: number; // -1: any
  access: string; // subset of "rwm", in that order
}

export interface DeviceFilter {
  defaultAllow: boolean;
  exceptions: DeviceException[];
  insns: BpfInsn[];
}

type Input = { rule: DeviceRule; pointer: string };

const P = "/linux/resources/devices";

/**
 * The rules runc puts in the device cgroup: the config's, then its defaults.
 * linux.devices only makes nodes: access to them is the business of
 * linux.resources.devices alone, so a deny-all there holds for them too.
 */
export function deviceRuleList(rules: DeviceRule[]): Input[] {
  return [...rules.map((rule, i) => ({ rule, pointer: `${P}/${i}` })), ...DEFAULT_DEVICE_RULES.map((rule) => ({ rule, pointer: P }))];
}

const ACCESS_ORDER = "rwm";
const accessOf = (set: Set<string>) => [...ACCESS_ORDER].filter((c) => set.has(c)).join("");

function parseAccess(access: string | undefined, pointer: string): Set<string> {
  const a = access || "rwm";
  for (const c of a) if (!ACCESS_ORDER.includes(c)) throw new ResourceError(pointer, `unknown device access ${JSON.stringify(c)} in ${JSON.stringify(a)}`);
  return new Set(a);
}

function checkNumber(n: number | undefined, what: string, pointer: string): number {
  const v = n ?? -1;
  if (!Number.isInteger(v) || v < -1 || v > 0x7fffffff) throw new ResourceError(pointer, `invalid device ${what} ${v}`);
  return v;
}

/** Replay the rules on an emulated v1 device controller (starting at "deny all"). */
export function emulateDeviceRules(inputs: Input[]): { defaultAllow: boolean; exceptions: DeviceException[] } {
  let defaultAllow = false;
  let table = new Map<string, { type: "b" | "c"; major: number; minor: number; access: Set<string> }>();
  const key = (t: string, maj: number, min: number) => `${t} ${maj}:${min}`;
  for (const { rule, pointer } of inputs) {
    const type = rule.type ?? "a";
    const access = parseAccess(rule.access, pointer);
    if (type === "a") {
      defaultAllow = rule.allow;
      table = new Map();
      continue;
    }
    if (type !== "b" && type !== "c") throw new ResourceError(pointer, `invalid device type ${JSON.stringify(type)}`);
    const major = checkNumber(rule.major, "major", pointer);
    const minor = checkNumber(rule.minor, "minor", pointer);
    const k = key(type, major, minor);
    if (rule.allow !== defaultAllow) {
      // an exception: add its access to any existing one for the same device
      const cur = table.get(k) ?? { type, major, minor, access: new Set<string>() };
      for (const c of access) cur.access.add(c);
      table.set(k, cur);
      continue;
    }
    // Same action as the default: take access away from the exact exception.
    // A wildcard exception that covers this device cannot have a hole punched
    // in it (v1 would silently ignore it): refuse, as runc does.
    for (const [wmaj, wmin] of [[-1, minor], [major, -1], [-1, -1]] as const) {
      if (wmaj === major && wmin === minor) continue;
      const w = table.get(key(type, wmaj, wmin));
      if (w && [...access].some((c) => w.access.has(c))) {
        throw new ResourceError(pointer, `the rule ${ruleText(type, major, minor, accessOf(access))} cannot punch a hole in the wildcard rule ${ruleText(type, wmaj, wmin, accessOf(w.access))}`);
      }
    }
    const cur = table.get(k);
    if (!cur) continue;
    for (const c of access) cur.access.delete(c);
    if (cur.access.size === 0) table.delete(k);
  }
  const exceptions = [...table.values()]
    .map((e) => ({ type: e.type, major: e.major, minor: e.minor, access: accessOf(e.access) }))
    .sort((a, b) => a.major - b.major || a.minor - b.minor || a.type.localeCompare(b.type));
  return { defaultAllow, exceptions };
}

function ruleText(type: string, major: number, minor: number, access: string): string {
  const n = (x: number) => (x < 0 ? "*" : String(x));
  return `${type} ${n(major)}:${n(minor)} ${access}`;
}

// ---------------------------------------------------------------- codegen

// opcode parts (linux/bpf_common.h, linux/bpf.h)
const BPF_LDX = 0x01, BPF_ALU = 0x04, BPF_JMP = 0x05;
const BPF_W = 0x00, BPF_MEM = 0x60;
const BPF_K = 0x00, BPF_X = 0x08;
const BPF_AND = 0x50, BPF_RSH = 0x70, BPF_MOV = 0xb0;
const BPF_JNE = 0x50, BPF_EXIT = 0x90;

export const OP = {
  LDXW: BPF_LDX | BPF_MEM | BPF_W,
  AND32_K: BPF_ALU | BPF_AND | BPF_K,
  RSH32_K: BPF_ALU | BPF_RSH | BPF_K,
  MOV32_K: BPF_ALU | BPF_MOV | BPF_K,
  MOV32_X: BPF_ALU | BPF_MOV | BPF_X,
  JNE_K: BPF_JMP | BPF_JNE | BPF_K,
  JNE_X: BPF_JMP | BPF_JNE | BPF_X,
  EXIT: BPF_JMP | BPF_EXIT,
} as const;

const ins = (code: number, dst: number, src: number, off: number, imm: number): BpfInsn => ({ code, dst, src, off, imm });

/** The program for a default and its exceptions; returns 1 to allow, 0 to deny. */
export function compileDeviceProgram(defaultAllow: boolean, exceptions: DeviceException[]): BpfInsn[] {
  // r2 = type, r3 = access, r4 = major, r5 = minor (r1 = ctx)
  const out: BpfInsn[] = [
    ins(OP.LDXW, 2, 1, 0, 0),
    ins(OP.AND32_K, 2, 0, 0, 0xffff),
    ins(OP.LDXW, 3, 1, 0, 0),
    ins(OP.RSH32_K, 3, 0, 0, 16),
    ins(OP.LDXW, 4, 1, 4, 0),
    ins(OP.LDXW, 5, 1, 8, 0),
  ];
  for (const e of exceptions) {
    const block: BpfInsn[] = [];
    const jumps: number[] = []; // indexes in block of the jumps to the next block
    const jne = (reg: number, imm: number) => {
      jumps.push(block.length);
      block.push(ins(OP.JNE_K, reg, 0, 0, imm));
    };
    jne(2, e.type === "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
    let mask = 0;
    for (const c of e.access) mask |= c === "r" ? BPF_DEVCG_ACC_READ : c === "w" ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
    if (mask !== 7) {
      // the access asked for must lie within the rule's: (r3 & mask) == r3
      block.push(ins(OP.MOV32_X, 1, 3, 0, 0));
      block.push(ins(OP.AND32_K, 1, 0, 0, mask));
      jumps.push(block.length);
      block.push(ins(OP.JNE_X, 1, 3, 0, 0));
    }
    if (e.major >= 0) jne(4, e.major);
    if (e.minor >= 0) jne(5, e.minor);
    block.push(ins(OP.MOV32_K, 0, 0, 0, defaultAllow ? 0 : 1));
    block.push(ins(OP.EXIT, 0, 0, 0, 0));
    for (const j of jumps) block[j]!.off = block.length - (j + 1);
    out.push(...block);
  }
  out.push(ins(OP.MOV32_K, 0, 0, 0, defaultAllow ? 1 : 0));
  out.push(ins(OP.EXIT, 0, 0, 0, 0));
  return out;
}

/** The device filter of a container: emulated rules and the program. */
export function deviceFilter(rules: DeviceRule[]): DeviceFilter {
  const { defaultAllow, exceptions } = emulateDeviceRules(deviceRuleList(rules));
  return { defaultAllow, exceptions, insns: compileDeviceProgram(defaultAllow, exceptions) };
}

/** struct bpf_insn[] as bytes: code u8, dst:4 | src:4 << 4, off s16, imm s32 (little-endian). */
export function encodeProgram(insns: BpfInsn[]): Uint8Array {
  const buf = new Uint8Array(insns.length * 8);
  const view = new DataView(buf.buffer);
  insns.forEach((x, i) => {
    view.setUint8(i * 8, x.code);
    view.setUint8(i * 8 + 1, (x.dst & 0xf) | ((x.src & 0xf) << 4));
    view.setInt16(i * 8 + 2, x.off, true);
    view.setInt32(i * 8 + 4, x.imm | 0, true);
  });
  return buf;
}

export function programHex(insns: BpfInsn[]): string {
  return Buffer.from(encodeProgram(insns)).toString("hex");
}
