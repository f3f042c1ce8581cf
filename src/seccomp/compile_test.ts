import { describe, expect, test } from "bun:test";
import { ARCHES, X32_SYSCALL_BIT } from "./arch";
import { BPF_JA, BPF_JMP, decodeProgram, encodeProgram, fromHex, toHex, type Insn } from "./bpf";
import { runFilter } from "./bpf_interp";
import { actionValue, compileSeccomp, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, type Seccomp, type SeccompArg } from "./compile";
import { SpecError } from "../errors";
import { defaultProfile } from "../../test/seccomp/profile";
import { compilePlan, type HostFacts } from "../plan/compile";
import { compileExecPlan } from "../plan/compile_exec";
import type { Op } from "../plan/ops";
import { seccompPlan } from "./plan";
import { defaultConfig } from "../config/default_config";

const AUDIT_X86_64 = ARCHES.SCMP_ARCH_X86_64!.audit;
const AUDIT_I386 = ARCHES.SCMP_ARCH_X86!.audit;
const AUDIT_AARCH64 = ARCHES.SCMP_ARCH_AARCH64!.audit;
const AUDIT_ARM = ARCHES.SCMP_ARCH_ARM!.audit;
const ALLOW = 0x7fff0000, KILL_THREAD = 0, EPERM_RET = 0x00050001;

const nr = (arch: string, name: string) => ARCHES[arch]!.table![name]! + (ARCHES[arch]!.bias ?? 0);

// ---- a reference model of the semantics the compiler implements ----

function argHolds(a: SeccompArg, v: bigint, bits: 32 | 64): boolean {
  const m = bits === 32 ? 0xffffffffn : (1n << 64n) - 1n;
  const x = v & m, value = BigInt(a.value) & m, two = BigInt(a.valueTwo ?? 0) & m;
  switch (a.op) {
    case "SCMP_CMP_EQ": return x === value;
    case "SCMP_CMP_NE": return x !== value;
    case "SCMP_CMP_LT": return x < value;
    case "SCMP_CMP_LE": return x <= value;
    case "SCMP_CMP_GT": return x > value;
    case "SCMP_CMP_GE": return x >= value;
    case "SCMP_CMP_MASKED_EQ": return (x & value) === two;
  }
  throw new Error(a.op);
}

/**
 * Rules with the default's action are skipped; then the first matching rule
 * with args (its args ANDed, or ORed when two test the same argument), else
 * the first rule without, else the default.
 */
function expected(p: Seccomp, arch: string, name: string, args: bigint[]): number {
  const bits = ARCHES[arch]!.bits;
  const def = actionValue(p.defaultAction, p.defaultErrnoRet);
  let uncond: number | undefined;
  for (const sc of p.syscalls ?? []) {
    if (!sc.names.includes(name)) continue;
    const ret = actionValue(sc.action, sc.errnoRet);
    if (ret === def) continue;
    if (!sc.args?.length) {
      uncond ??= ret;
      continue;
    }
    const holds = (a: SeccompArg) => argHolds(a, args[a.index] ?? 0n, bits);
    const repeated = new Set(sc.args.map((a) => a.index)).size < sc.args.length;
    if (repeated ? sc.args.some(holds) : sc.args.every(holds)) return ret;
  }
  return uncond ?? def;
}

function run(prog: Insn[], arch: string, n: number, args: bigint[] = []) {
  return runFilter(prog, { nr: n, arch: ARCHES[arch]!.audit, args });
}

// ---- tests ----

test("encoding: 8 bytes per instruction, hex round trip", () => {
  const { program } = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"] });
  const bytes = encodeProgram(program);
  expect(bytes.length).toBe(program.length * 8);
  expect(decodeProgram(fromHex(toHex(bytes)))).toEqual(program);
  // ld [4] first: the arch check
  expect(program[0]).toEqual({ code: 0x20, jt: 0, jf: 0, k: 4 });
});

describe("actions", () => {
  const cases: [string, number | undefined, number][] = [
    ["SCMP_ACT_KILL", undefined, 0x00000000],
    ["SCMP_ACT_KILL_THREAD", undefined, 0x00000000],
    ["SCMP_ACT_KILL_PROCESS", undefined, 0x80000000],
    ["SCMP_ACT_TRAP", undefined, 0x00030000],
    ["SCMP_ACT_ERRNO", undefined, 0x00050001],
    ["SCMP_ACT_ERRNO", 13, 0x0005000d],
    ["SCMP_ACT_TRACE", undefined, 0x7ff00001],
    ["SCMP_ACT_TRACE", 42, 0x7ff0002a],
    ["SCMP_ACT_ALLOW", undefined, 0x7fff0000],
    ["SCMP_ACT_LOG", undefined, 0x7ffc0000],
    ["SCMP_ACT_NOTIFY", undefined, 0x7fc00000],
  ];
  for (const [action, errnoRet, want] of cases) {
    test(`${action}${errnoRet !== undefined ? ` errnoRet ${errnoRet}` : ""} as a rule and as the default`, () => {
      const p: Seccomp = {
        defaultAction: action === "SCMP_ACT_NOTIFY" ? "SCMP_ACT_ALLOW" : action,
        defaultErrnoRet: errnoRet,
        architectures: ["SCMP_ARCH_X86_64"],
        listenerPath: "/x",
        syscalls: [{ names: ["getpid"], action, errnoRet }, { names: ["getppid"], action: action === "SCMP_ACT_ALLOW" ? "SCMP_ACT_LOG" : "SCMP_ACT_ALLOW" }],
      };
      const c = compileSeccomp(p);
      expect(run(c.program, "SCMP_ARCH_X86_64", nr("SCMP_ARCH_X86_64", "getpid")).ret).toBe(want >>> 0);
      if (action !== "SCMP_ACT_NOTIFY") expect(run(c.program, "SCMP_ARCH_X86_64", nr("SCMP_ARCH_X86_64", "write")).ret).toBe(want >>> 0);
      expect(c.notify).toBe(action === "SCMP_ACT_NOTIFY");
      expect((c.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) !== 0).toBe(action === "SCMP_ACT_NOTIFY");
    });
  }
});

describe("operators", () => {
  const interesting = [0n, 1n, 2n, 7n, 8n, 9n, 0xffffffffn, 0x100000000n, 0x100000001n, 0x1234567800000009n, 0xffffffff00000000n, (1n << 64n) - 1n, 0x8000000000000000n];
  const ops = ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];
  for (const arch of ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]) {
    for (const op of ops) {
      test(`${op} on ${arch}, 64-bit values split into hi/lo words`, () => {
        for (const value of [8n, 0x100000001n, 0xffffffff00000000n, 0x1234567800000009n]) {
          const valueTwo = op === "SCMP_CMP_MASKED_EQ" ? value & 0x0000ffff0000000fn : 0n;
          const p: Seccomp = {
            defaultAction: "SCMP_ACT_ERRNO",
            architectures: [arch],
            syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 2, value, valueTwo, op }] }],
          };
          const { program } = compileSeccomp(p);
          for (const x of interesting) {
            for (const y of [x, value, value + 1n, value - 1n, value ^ 0x100000000n, valueTwo]) {
              const v = BigInt.asUintN(64, y);
              const args = [0n, 0n, v];
              expect({ v, ret: run(program, arch, nr(arch, "read"), args).ret }).toEqual({ v, ret: expected(p, arch, "read", args) });
            }
          }
        }
      });
    }
  }

  test("several args are ANDed, several rules ORed, first match wins", () => {
    const p: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [
        { names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, value: 16, op: "SCMP_CMP_EQ" }, { index: 2, value: 9, op: "SCMP_CMP_EQ" }] },
        { names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 97, args: [{ index: 0, value: 40, op: "SCMP_CMP_EQ" }] },
        { names: ["socket"], action: "SCMP_ACT_KILL", args: [{ index: 5, value: 0xf0, valueTwo: 0x10, op: "SCMP_CMP_MASKED_EQ" }] },
      ],
    };
    const { program } = compileSeccomp(p);
    const s = nr("SCMP_ARCH_X86_64", "socket");
    expect(run(program, "SCMP_ARCH_X86_64", s, [16n, 0n, 9n]).ret).toBe(0x00050016);
    expect(run(program, "SCMP_ARCH_X86_64", s, [16n, 0n, 8n]).ret).toBe(ALLOW);
    expect(run(program, "SCMP_ARCH_X86_64", s, [40n, 0n, 9n]).ret).toBe(0x00050061);
    expect(run(program, "SCMP_ARCH_X86_64", s, [1n, 0n, 0n, 0n, 0n, 0x1fn]).ret).toBe(KILL_THREAD);
    expect(run(program, "SCMP_ARCH_X86_64", s, [1n, 0n, 0n, 0n, 0n, 0x2fn]).ret).toBe(ALLOW);
  });
});

describe("architectures", () => {
  const p: Seccomp = {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }],
  };
  test("x86_64 with its X86 and X32 companions: each uses its own numbers", () => {
    const { program } = compileSeccomp(p);
    for (const arch of ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]) {
      expect(run(program, arch, nr(arch, "mkdir")).ret).toBe(EPERM_RET);
      expect(run(program, arch, nr(arch, "mkdirat")).ret).toBe(EPERM_RET);
      expect(run(program, arch, nr(arch, "getpid")).ret).toBe(ALLOW);
    }
    // x32's mkdir is 0x40000053; 83 (x86_64's mkdir) on i386 is something else
    expect(nr("SCMP_ARCH_X32", "mkdir")).toBe(X32_SYSCALL_BIT + 83);
    expect(runFilter(program, { nr: 83, arch: AUDIT_I386 }).ret).toBe(ALLOW);
  });
  test("a foreign architecture is killed; x32 syscalls without X32 listed too", () => {
    const { program } = compileSeccomp({ ...p, architectures: ["SCMP_ARCH_X86_64"] });
    expect(runFilter(program, { nr: 83, arch: AUDIT_AARCH64 }).ret).toBe(KILL_THREAD);
    expect(runFilter(program, { nr: 39, arch: AUDIT_I386 }).ret).toBe(KILL_THREAD);
    expect(runFilter(program, { nr: X32_SYSCALL_BIT + 39, arch: AUDIT_X86_64 }).ret).toBe(KILL_THREAD);
    expect(runFilter(program, { nr: 83, arch: AUDIT_X86_64 }).ret).toBe(EPERM_RET);
    // On an aarch64 host: x32 and aarch64 only.
    const x32only = compileSeccomp({ ...p, architectures: ["SCMP_ARCH_X32"] }, { native: "SCMP_ARCH_AARCH64" }).program;
    expect(runFilter(x32only, { nr: 83, arch: AUDIT_X86_64 }).ret).toBe(KILL_THREAD);
    expect(runFilter(x32only, { nr: X32_SYSCALL_BIT + 83, arch: AUDIT_X86_64 }).ret).toBe(EPERM_RET);
  });
  test("aarch64 with arm", () => {
    const { program } = compileSeccomp({ ...p, architectures: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"] }, { native: "SCMP_ARCH_AARCH64" });
    // aarch64 has no mkdir (asm-generic): skipped there, mkdirat is 34
    expect(ARCHES.SCMP_ARCH_AARCH64!.table!.mkdir).toBeUndefined();
    expect(runFilter(program, { nr: 34, arch: AUDIT_AARCH64 }).ret).toBe(EPERM_RET);
    expect(runFilter(program, { nr: 39, arch: AUDIT_ARM }).ret).toBe(EPERM_RET);
    expect(runFilter(program, { nr: 323, arch: AUDIT_ARM }).ret).toBe(EPERM_RET);
    expect(runFilter(program, { nr: 39, arch: AUDIT_AARCH64 }).ret).toBe(ALLOW);
    expect(runFilter(program, { nr: 34, arch: AUDIT_X86_64 }).ret).toBe(KILL_THREAD);
  });
  test("no architectures: the native one only", () => {
    const { program } = compileSeccomp({ ...p, architectures: [] }, { native: "SCMP_ARCH_AARCH64" });
    expect(runFilter(program, { nr: 34, arch: AUDIT_AARCH64 }).ret).toBe(EPERM_RET);
    expect(runFilter(program, { nr: 34, arch: AUDIT_X86_64 }).ret).toBe(KILL_THREAD);
  });
  test("the native architecture is always in the filter, with the rules, as runc's (libseccomp's) is", () => {
    // runc's own test profile lists x86 and x32 but not x86_64: on an
    // x86_64 host the process must still run, and the rules apply to it.
    const { program } = compileSeccomp({ ...p, architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }, { native: "SCMP_ARCH_X86_64" });
    for (const arch of ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]) {
      expect(run(program, arch, nr(arch, "mkdir")).ret).toBe(EPERM_RET);
      expect(run(program, arch, nr(arch, "getpid")).ret).toBe(ALLOW);
    }
    expect(runFilter(program, { nr: 34, arch: AUDIT_AARCH64 }).ret).toBe(KILL_THREAD);
    // listed twice (native and in the list) is one section
    const once = compileSeccomp({ ...p, architectures: ["SCMP_ARCH_X86_64"] }, { native: "SCMP_ARCH_X86_64" }).program;
    expect(compileSeccomp({ ...p, architectures: [] }, { native: "SCMP_ARCH_X86_64" }).program).toEqual(once);
  });
  test("a host architecture skiff has no table for is an error naming it", () => {
    expect(() => compileSeccomp({ ...p, architectures: ["SCMP_ARCH_X86_64"] }, { native: "SCMP_ARCH_RISCV64" })).toThrow(/SCMP_ARCH_RISCV64 \(this host's\) is not supported/);
  });
  test("an unknown architecture is an error naming its pointer", () => {
    let err: unknown;
    try {
      compileSeccomp({ ...p, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80", "SCMP_ARCH_MIPS"] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    const issues = (err as SpecError).issues;
    expect(issues[0]!.pointer).toBe("/linux/seccomp/architectures/1");
    expect(issues[0]!.message).toContain("SCMP_ARCH_Z80");
    expect(issues[1]!.pointer).toBe("/linux/seccomp/architectures/2");
    expect((err as Error).message).toContain("/linux/seccomp/architectures/1");
  });
});

describe("conditions on the same argument are alternatives (runc splits the rule)", () => {
  const X = "SCMP_ARCH_X86_64";
  const readv = nr(X, "process_vm_readv"), kcmp = nr(X, "kcmp");
  const p: Seccomp = {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: [X],
    syscalls: [
      // runc's seccomp_syscall_test1: "pid 100 or pid 9001"
      { names: ["process_vm_readv"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, value: 100, op: "SCMP_CMP_EQ" }, { index: 0, value: 9001, op: "SCMP_CMP_EQ" }] },
      // a repeated index makes every condition its own rule, arg 1's too
      { names: ["kcmp"], action: "SCMP_ACT_ERRNO", errnoRet: 55, args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 0, value: 2, op: "SCMP_CMP_EQ" }, { index: 1, value: 7, op: "SCMP_CMP_EQ" }] },
      // different arguments only: ANDed
      { names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 97, args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 1, value: 2, op: "SCMP_CMP_EQ" }] },
    ],
  };
  const { program } = compileSeccomp(p);
  const ret = (n: number, args: bigint[]) => run(program, X, n, args).ret;
  test("either value matches", () => {
    expect(ret(readv, [100n])).toBe(0x00050016);
    expect(ret(readv, [9001n])).toBe(0x00050016);
    expect(ret(readv, [5n])).toBe(ALLOW);
  });
  test("with a repeated index, a condition on another argument alone is enough", () => {
    expect(ret(kcmp, [1n, 0n])).toBe(0x00050037);
    expect(ret(kcmp, [2n, 0n])).toBe(0x00050037);
    expect(ret(kcmp, [3n, 7n])).toBe(0x00050037);
    expect(ret(kcmp, [3n, 8n])).toBe(ALLOW);
  });
  test("without one, conditions stay ANDed", () => {
    const s = nr(X, "socket");
    expect(ret(s, [1n, 2n])).toBe(0x00050061);
    expect(ret(s, [1n, 3n])).toBe(ALLOW);
    expect(ret(s, [0n, 2n])).toBe(ALLOW);
  });
  test("the reference model agrees on many values", () => {
    for (const name of ["process_vm_readv", "kcmp", "socket"]) {
      for (const a0 of [0n, 1n, 2n, 3n, 100n, 9001n]) {
        for (const a1 of [0n, 2n, 7n]) {
          expect(ret(nr(X, name), [a0, a1])).toBe(expected(p, X, name, [a0, a1]));
        }
      }
    }
  });
  test("a rule with the default's action is skipped: it does not shadow a later rule", () => {
    const q: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: [X],
      syscalls: [
        { names: ["mkdir"], action: "SCMP_ACT_ALLOW" },
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO" },
        { names: ["kcmp"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
        { names: ["kcmp"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
      ],
    };
    const c = compileSeccomp(q);
    expect(c.unknown).toEqual([]);
    expect(run(c.program, X, nr(X, "mkdir")).ret).toBe(EPERM_RET);
    expect(run(c.program, X, kcmp, [1n]).ret).toBe(EPERM_RET);
  });
});

describe("flags and checks", () => {
  test("flags", () => {
    const c = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"] });
    expect(c.flags).toBe(SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    const n = compileSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      listenerPath: "/l",
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
    });
    expect(n.flags).toBe(32 | 8);
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] })).toThrow(/WAIT_KILLABLE_RECV/);
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_BOGUS"] })).toThrow(/\/linux\/seccomp\/flags\/0/);
  });
  test("notify needs a listener; notify is not a default action", () => {
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] })).toThrow(/listenerPath/);
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_NOTIFY", listenerPath: "/l" })).toThrow(/default action/);
    // skiff-init writes to skiff after the load; runc refuses it too
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/l", syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_NOTIFY" }] })).toThrow(
      "/linux/seccomp/syscalls/0/names/1: SCMP_ACT_NOTIFY cannot be used for the write syscall",
    );
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_FOO" })).toThrow(/defaultAction/);
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }] }] })).toThrow(/args\/0\/index/);
  });
  test("a name no architecture knows is skipped, not a crash", () => {
    const c = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names: ["no_such_call", "mkdir"], action: "SCMP_ACT_ERRNO" }] });
    expect(c.unknown).toEqual(["no_such_call"]);
    expect(run(c.program, "SCMP_ARCH_X86_64", 83).ret).toBe(EPERM_RET);
  });
});

describe("the containers-common default profile (hundreds of syscalls)", () => {
  const p = defaultProfile({ arch: "SCMP_ARCH_X86_64", caps: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"] });
  const c = compileSeccomp(p);
  test("size and long jumps", () => {
    expect(p.syscalls!.flatMap((s) => s.names).length).toBeGreaterThan(300);
    expect(c.program.length).toBeLessThan(4096);
    expect(c.program.some((i) => i.code === (BPF_JMP | BPF_JA))).toBe(true);
  });
  for (const arch of ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]) {
    test(`every ${arch} syscall gets what the profile says, in O(log n) steps`, () => {
      let max = 0, total = 0, count = 0;
      const samples: bigint[][] = [[], [16n, 0n, 9n], [16n, 0n, 5n], [0x7e020000n], [8n], [0xffffffffn], [0n, 0n, 0n, 0n, 0n, 0n]];
      for (const [name] of Object.entries(ARCHES[arch]!.table!)) {
        for (const args of samples) {
          const r = run(c.program, arch, nr(arch, name), args);
          expect({ name, args, ret: r.ret }).toEqual({ name, args, ret: expected(p, arch, name, args) });
          if (args.length === 0) {
            max = Math.max(max, r.steps);
            total += r.steps;
            count++;
          }
        }
      }
      // arch check + split + a tree of a few hundred intervals + ret; arg rules add a few
      expect(total / count).toBeLessThan(16);
      expect(max).toBeLessThan(40);
    });
  }
  test("numbers no table knows (above the last syscall, -1) get the default", () => {
    const def = actionValue(p.defaultAction, p.defaultErrnoRet);
    expect(runFilter(c.program, { nr: 1000, arch: AUDIT_X86_64 }).ret).toBe(def);
    expect(runFilter(c.program, { nr: 0x3fffffff, arch: AUDIT_X86_64 }).ret).toBe(def);
    expect(runFilter(c.program, { nr: 0xffffffff, arch: AUDIT_X86_64 }).ret).toBe(def);
  });
});

test("a generated profile of 360 syscalls with alternating actions and arg rules forces long jumps", () => {
  const names = Object.keys(ARCHES.SCMP_ARCH_X86_64!.table!).slice(0, 360);
  const actions = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_LOG", "SCMP_ACT_TRAP", "SCMP_ACT_KILL_PROCESS"];
  const ops = ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];
  const p: Seccomp = {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 38,
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    syscalls: names.map((name, i) => ({
      names: [name],
      action: actions[i % actions.length]!,
      errnoRet: i % 7,
      args: i % 3 === 0 ? [{ index: i % 6, value: BigInt(i) << BigInt(i % 40), valueTwo: BigInt(i % 5), op: ops[i % ops.length]! }] : undefined,
    })),
  };
  const c = compileSeccomp(p);
  expect(c.program.some((i) => i.code === (BPF_JMP | BPF_JA))).toBe(true);
  for (const arch of ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]) {
    for (const [name] of Object.entries(ARCHES[arch]!.table!)) {
      for (let s = 0; s < 4; s++) {
        const i = names.indexOf(name);
        const v = i < 0 ? BigInt(s) : [0n, BigInt(i) << BigInt(i % 40), (BigInt(i) << BigInt(i % 40)) + 1n, BigInt(i % 5)][s]!;
        const args = [v, v, v, v, v, v];
        expect({ name, ret: run(c.program, arch, nr(arch, name), args).ret }).toEqual({ name, ret: expected(p, arch, name, args) });
      }
    }
  }
});

describe("plan", () => {
  const HOST: HostFacts = { sourceKind: () => "dir", cgroup: { unified: true, cgroupNs: false, hierarchies: [] } };
  const OPTS = { id: "c1", rootfs: "/b/rootfs", bundle: "/b", fifo: "/run/skiff/c1/exec.fifo", host: HOST };
  const order = (nnp: boolean, notify: boolean, hooks = false) => {
    const spec = defaultConfig({ rootless: false });
    spec.process!.noNewPrivileges = nnp;
    if (hooks) spec.hooks = { startContainer: [{ path: "/bin/true" }] };
    spec.linux!.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/run/agent.sock",
      syscalls: [{ names: ["mkdir"], action: notify ? "SCMP_ACT_NOTIFY" : "SCMP_ACT_ERRNO" }],
    };
    return compilePlan(spec, OPTS).map((o) => o.op);
  };
  test("without no_new_privs: before identity and capset", () => {
    const ops = order(false, false);
    expect(ops.indexOf("seccomp")).toBeLessThan(ops.indexOf("identity"));
    expect(ops.indexOf("seccomp")).toBeGreaterThan(ops.indexOf("bounding"));
    expect(ops).not.toContain("seccomp_listener");
  });
  test("with no_new_privs: after wait_fifo, just before exec", () => {
    const ops = order(true, false);
    expect(ops.indexOf("seccomp")).toBe(ops.indexOf("exec") - 1);
    expect(ops.indexOf("seccomp")).toBeGreaterThan(ops.indexOf("wait_fifo"));
    expect(ops.filter((o) => o === "seccomp").length).toBe(1);
  });
  test("startContainer hooks run under the filter, with and without no_new_privs (runc loads it before them)", () => {
    for (const nnp of [true, false]) {
      const ops = order(nnp, false, true);
      expect(ops.filter((o) => o === "seccomp").length).toBe(1);
      expect(ops.indexOf("seccomp")).toBeLessThan(ops.indexOf("hook"));
      expect(ops.indexOf("hook")).toBeLessThan(ops.indexOf("exec"));
    }
  });
  test("exec with notify: connect before any namespace is joined, take the state in the child, before the load", () => {
    for (const nnp of [true, false]) {
      const proc = { ...defaultConfig({ rootless: false }).process!, noNewPrivileges: nnp };
      const seccomp = seccompPlan({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/agent.sock", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] });
      const ops = compileExecPlan(proc, { id: "c1", join: { mnt: "/proc/9/ns/mnt", user: "/proc/9/ns/user" }, foreground: true, seccomp });
      const at = (pred: (o: Op) => boolean) => ops.findIndex(pred);
      const connect = at((o) => o.op === "seccomp_listener" && o.path === "/run/agent.sock" && o.point === "");
      const state = at((o) => o.op === "seccomp_listener" && o.path === "" && o.point === "seccompListener");
      expect(connect).toBeGreaterThanOrEqual(0);
      expect(connect).toBeLessThan(at((o) => o.op === "setns"));
      expect(state).toBeGreaterThan(at((o) => o.op === "clone"));
      expect(state).toBeLessThan(at((o) => o.op === "seccomp"));
    }
  });
  test("notify: the listener is connected before pivot_root", () => {
    const ops = order(true, true);
    expect(ops.indexOf("seccomp_listener")).toBeLessThan(ops.indexOf("pivot_root"));
    expect(ops.indexOf("seccomp_listener")).toBeGreaterThan(ops.indexOf("clone"));
  });
});

describe("syscalls newer than the profile get ENOSYS, as in runc", () => {
  const ENOSYS_RET = (0x00050000 | 38) >>> 0;
  const table = ARCHES.SCMP_ARCH_X86_64!.table!;
  const profile = (defaultAction: string): Seccomp => ({
    defaultAction,
    architectures: ["SCMP_ARCH_X86_64"],
    syscalls: [{ names: ["read", "write", "openat"], action: "SCMP_ACT_ALLOW" }],
  });
  test("with a denying default: above the newest named syscall, ENOSYS; below it, the default", () => {
    const c = compileSeccomp(profile("SCMP_ACT_ERRNO"));
    const newest = Math.max(table.read!, table.write!, table.openat!);
    expect(runFilter(c.program, { nr: newest + 1, arch: AUDIT_X86_64 }).ret).toBe(ENOSYS_RET);
    expect(runFilter(c.program, { nr: 1000, arch: AUDIT_X86_64 }).ret).toBe(ENOSYS_RET);
    expect(runFilter(c.program, { nr: table.mkdir!, arch: AUDIT_X86_64 }).ret).toBe(EPERM_RET);
    expect(runFilter(c.program, { nr: table.openat!, arch: AUDIT_X86_64 }).ret).toBe(ALLOW);
  });
  test("only for listed architectures: the implicit native one, or all when none is listed, get the default (runc's stub)", () => {
    const none = compileSeccomp({ ...profile("SCMP_ACT_ERRNO"), architectures: [] }, { native: "SCMP_ARCH_X86_64" });
    expect(runFilter(none.program, { nr: 1000, arch: AUDIT_X86_64 }).ret).toBe(EPERM_RET);
    const x86 = compileSeccomp({ ...profile("SCMP_ACT_ERRNO"), architectures: ["SCMP_ARCH_X86"] }, { native: "SCMP_ARCH_X86_64" });
    expect(runFilter(x86.program, { nr: 1000, arch: AUDIT_X86_64 }).ret).toBe(EPERM_RET);
    expect(runFilter(x86.program, { nr: 1000, arch: AUDIT_I386 }).ret).toBe(ENOSYS_RET);
  });
  test("with an allowing default they get the default", () => {
    const c = compileSeccomp(profile("SCMP_ACT_LOG"));
    expect(runFilter(c.program, { nr: 1000, arch: AUDIT_X86_64 }).ret).toBe(0x7ffc0000);
  });
});
