// The cgroup v2 device filter, run on a small eBPF interpreter of our own
// (the kernel's semantics for the instructions a device program may use).
import { describe, expect, test } from "bun:test";
import {
  BPF_DEVCG_ACC_MKNOD,
  BPF_DEVCG_ACC_READ,
  BPF_DEVCG_ACC_WRITE,
  BPF_DEVCG_DEV_BLOCK,
  BPF_DEVCG_DEV_CHAR,
  deviceFilter,
  emulateDeviceRules,
  deviceRuleList,
  encodeProgram,
  programHex,
  type BpfInsn,
} from "./devices_bpf";
import type { DeviceRule } from "./resources_types";

const MASK64 = (1n << 64n) - 1n;
const MASK32 = (1n << 32n) - 1n;
const sext32 = (v: number) => BigInt.asUintN(64, BigInt(v | 0));

/** Decode bytes back into instructions (checks the encoding too). */
function decode(bytes: Uint8Array): BpfInsn[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BpfInsn[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    const regs = v.getUint8(i + 1);
    out.push({ code: v.getUint8(i), dst: regs & 0xf, src: regs >> 4, off: v.getInt16(i + 2, true), imm: v.getInt32(i + 4, true) });
  }
  return out;
}

/** Runs a BPF_PROG_TYPE_CGROUP_DEVICE program on ctx {access_type, major, minor}; returns r0. */
function run(insns: BpfInsn[], ctx: { type: number; access: number; major: number; minor: number }): number {
  const mem = new DataView(new ArrayBuffer(12));
  mem.setUint32(0, ((ctx.access << 16) | ctx.type) >>> 0, true);
  mem.setUint32(4, ctx.major >>> 0, true);
  mem.setUint32(8, ctx.minor >>> 0, true);
  const r = new Array<bigint>(11).fill(0n);
  const CTX = 0x1000n; // r1 holds a pointer to ctx
  r[1] = CTX;
  for (let pc = 0, steps = 0; ; pc++, steps++) {
    if (pc < 0 || pc >= insns.length) throw new Error(`pc ${pc} out of the program`);
    if (steps > 10000) throw new Error("too many steps");
    const x = insns[pc]!;
    const cls = x.code & 0x07;
    const src = x.code & 0x08 ? r[x.src]! : sext32(x.imm);
    const op = x.code & 0xf0;
    if (cls === 0x01) {
      // LDX
      if ((x.code & 0xe0) !== 0x60) throw new Error(`ldx mode ${x.code.toString(16)}`);
      const size = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 }[x.code & 0x18]!;
      const off = Number(r[x.src]! - CTX) + x.off;
      if (r[x.src] !== CTX && x.src !== 1) throw new Error("load from a non-ctx pointer");
      if (off < 0 || off + size > 12 || off % size) throw new Error(`bad ctx access at ${off}`);
      r[x.dst] = size === 4 ? BigInt(mem.getUint32(off, true)) : size === 2 ? BigInt(mem.getUint16(off, true)) : size === 1 ? BigInt(mem.getUint8(off)) : mem.getBigUint64(off, true);
    } else if (cls === 0x04 || cls === 0x07) {
      // ALU32 / ALU64
      const w = cls === 0x04 ? MASK32 : MASK64;
      const a = r[x.dst]! & w;
      const b = src & w;
      let v: bigint;
      switch (op) {
        case 0x00: v = a + b; break;
        case 0x10: v = a - b; break;
        case 0x40: v = a | b; break;
        case 0x50: v = a & b; break;
        case 0x60: v = a << (b & (cls === 0x04 ? 31n : 63n)); break;
        case 0x70: v = a >> (b & (cls === 0x04 ? 31n : 63n)); break;
        case 0xa0: v = a ^ b; break;
        case 0xb0: v = b; break;
        default: throw new Error(`alu op ${x.code.toString(16)}`);
      }
      r[x.dst] = v & w; // ALU32 zero-extends into the 64-bit register
    } else if (cls === 0x05) {
      if (op === 0x90) return Number(r[0]! & MASK32);
      const a = r[x.dst]!;
      let jump: boolean;
      switch (op) {
        case 0x00: jump = true; break;
        case 0x10: jump = a === src; break;
        case 0x50: jump = a !== src; break;
        case 0x20: jump = a > src; break;
        case 0x40: jump = (a & src) !== 0n; break;
        default: throw new Error(`jmp op ${x.code.toString(16)}`);
      }
      if (jump) pc += x.off;
    } else {
      throw new Error(`instruction class ${cls}`);
    }
  }
}

const ACC: Record<string, number> = { r: BPF_DEVCG_ACC_READ, w: BPF_DEVCG_ACC_WRITE, m: BPF_DEVCG_ACC_MKNOD };

/** Allowed? for "c 1:3 rw" style queries, through encode -> decode -> interpreter. */
function checker(rules: DeviceRule[]) {
  const f = deviceFilter(rules);
  const prog = decode(encodeProgram(f.insns));
  return (q: string): boolean => {
    const m = /^([bc]) (\d+):(\d+) ([rwm]+)$/.exec(q)!;
    const access = [...m[4]!].reduce((a, c) => a | ACC[c]!, 0);
    const type = m[1] === "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
    const out = run(prog, { type, access, major: Number(m[2]), minor: Number(m[3]) });
    expect(out === 0 || out === 1).toBe(true);
    return out === 1;
  };
}

const DENY_ALL: DeviceRule = { allow: false, access: "rwm" };

describe("device filter program", () => {
  test("default deny with runc's default allowed devices", () => {
    const ok = checker([DENY_ALL]);
    for (const d of ["c 1:3", "c 1:5", "c 1:7", "c 1:8", "c 1:9", "c 5:0", "c 5:2", "c 10:200", "c 136:0", "c 136:77"]) {
      expect(ok(`${d} rwm`)).toBe(true);
      expect(ok(`${d} r`)).toBe(true);
      expect(ok(`${d} rw`)).toBe(true);
    }
    // mknod of anything, but no read or write of what is not listed
    expect(ok("c 1:11 m")).toBe(true);
    expect(ok("b 8:0 m")).toBe(true);
    expect(ok("c 1:11 r")).toBe(false);
    expect(ok("c 1:11 w")).toBe(false);
    expect(ok("c 1:11 rm")).toBe(false);
    expect(ok("b 8:0 rw")).toBe(false);
    expect(ok("c 4:1 w")).toBe(false);
    // the type matters: b 1:3 is not /dev/null
    expect(ok("b 1:3 r")).toBe(false);
  });

  test("no rules at all: still default deny (runc starts from deny all)", () => {
    const ok = checker([]);
    expect(ok("c 1:3 rw")).toBe(true);
    expect(ok("c 1:11 r")).toBe(false);
  });

  test("access r/w/m is checked: the request must lie within the rule", () => {
    const ok = checker([DENY_ALL, { allow: true, type: "c", major: 4, minor: 64, access: "r" }, { allow: true, type: "b", major: 8, minor: 1, access: "rw" }]);
    expect(ok("c 4:64 r")).toBe(true);
    expect(ok("c 4:64 w")).toBe(false);
    expect(ok("c 4:64 rw")).toBe(false);
    expect(ok("b 8:1 rw")).toBe(true);
    expect(ok("b 8:1 w")).toBe(true);
    expect(ok("b 8:1 m")).toBe(true); // b *:* m default
    expect(ok("b 8:2 r")).toBe(false);
  });

  test("wildcards: major or minor -1, type a", () => {
    const ok = checker([DENY_ALL, { allow: true, type: "c", major: 4, access: "rw" }, { allow: true, type: "b", minor: 7, access: "r" }]);
    expect(ok("c 4:0 rw")).toBe(true);
    expect(ok("c 4:99 w")).toBe(true);
    expect(ok("c 5:99 w")).toBe(false);
    expect(ok("b 3:7 r")).toBe(true);
    expect(ok("b 9:7 r")).toBe(true);
    expect(ok("b 9:8 r")).toBe(false);
    // allow all, then deny one: a deny list (defaultAllow)
    const open = checker([{ allow: true, access: "rwm" }, { allow: false, type: "b", major: 8, minor: 0, access: "rw" }]);
    expect(open("c 1:11 rw")).toBe(true);
    expect(open("b 8:1 rw")).toBe(true);
    expect(open("b 8:0 r")).toBe(false);
    expect(open("b 8:0 m")).toBe(true);
  });

  test("later rules win: a later deny takes back access, a later 'a' resets", () => {
    const ok = checker([DENY_ALL, { allow: true, type: "c", major: 4, minor: 64, access: "rw" }, { allow: false, type: "c", major: 4, minor: 64, access: "w" }]);
    expect(ok("c 4:64 r")).toBe(true);
    expect(ok("c 4:64 w")).toBe(false);
    // a deny of a default device
    const noNull = checker([DENY_ALL, { allow: false, type: "c", major: 1, minor: 3, access: "rwm" }]);
    // runc's defaults come after the config's rules: /dev/null is allowed again
    expect(noNull("c 1:3 rw")).toBe(true);
    // allow everything, then "deny all" again
    const reset = checker([{ allow: true, access: "rwm" }, DENY_ALL]);
    expect(reset("c 1:11 r")).toBe(false);
    expect(reset("c 1:3 r")).toBe(true);
    // allow all as the last config rule: defaults are then no-ops
    const all = checker([DENY_ALL, { allow: true, type: "a" }]);
    expect(all("b 8:0 rw")).toBe(true);
  });

  test("deny-all holds for devices outside runc's defaults (linux.devices grant nothing)", () => {
    const ok = checker([DENY_ALL]);
    expect(ok("c 1:11 rw")).toBe(false);
    expect(ok("b 7:0 rw")).toBe(false);
    expect(ok("c 1:3 rw")).toBe(true);
  });

  test("allow-all program is one move and an exit", () => {
    const f = deviceFilter([{ allow: true, access: "rwm" }]);
    expect(f.defaultAllow).toBe(true);
    expect(f.exceptions).toEqual([]);
    expect(f.insns.slice(-2).map((i) => [i.code, i.imm])).toEqual([[0xb4, 1], [0x95, 0]]);
    expect(programHex(f.insns).length).toBe(f.insns.length * 16);
  });

  test("errors: holes in wildcards, bad access, bad type, bad numbers", () => {
    expect(() => deviceFilter([DENY_ALL, { allow: true, type: "c", major: 4, access: "rw" }, { allow: false, type: "c", major: 4, minor: 1, access: "r" }])).toThrow(
      "/linux/resources/devices/2: the rule c 4:1 r cannot punch a hole in the wildcard rule c 4:* rw",
    );
    // the default c *:* m cannot have a hole punched either
    expect(() => emulateDeviceRules(deviceRuleList([]).concat([{ rule: { allow: false, type: "c", major: 1, minor: 11, access: "m" }, pointer: "/x" }]))).toThrow("cannot punch a hole");
    expect(() => deviceFilter([{ allow: true, type: "c", major: 1, minor: 1, access: "rx" }])).toThrow("/linux/resources/devices/0: unknown device access");
    expect(() => deviceFilter([{ allow: true, type: "p", access: "r" }])).toThrow("invalid device type");
    expect(() => deviceFilter([{ allow: true, type: "c", major: 2 ** 32, minor: 1 }])).toThrow("invalid device major");
  });

  test("exceptions merge access and come out sorted", () => {
    const { exceptions } = emulateDeviceRules([
      { rule: DENY_ALL, pointer: "/0" },
      { rule: { allow: true, type: "c", major: 9, minor: 1, access: "r" }, pointer: "/1" },
      { rule: { allow: true, type: "c", major: 9, minor: 1, access: "m" }, pointer: "/2" },
      { rule: { allow: true, type: "b", major: 2, minor: 0, access: "w" }, pointer: "/3" },
    ]);
    expect(exceptions).toEqual([
      { type: "b", major: 2, minor: 0, access: "w" },
      { type: "c", major: 9, minor: 1, access: "rm" },
    ]);
  });
});
