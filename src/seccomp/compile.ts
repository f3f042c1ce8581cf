// linux.seccomp (runtime-spec) -> a classic BPF program for
// seccomp(SECCOMP_SET_MODE_FILTER). Pure: no I/O, no libseccomp.
//
// Layout of the program:
//   ld arch; jeq AUDIT_ARCH_A -> section A; jeq ... ; ret KILL (foreign arch)
//   section: ld nr; [x86_64: jge X32_SYSCALL_BIT -> x32 section or KILL]
//            a binary search over intervals of syscall numbers that share one
//            outcome (adjacent syscalls with the same action merge), each leaf
//            a `ret` or, for syscalls with argument rules, the rule checks
//            (rules ORed in order, the comparisons of one rule ANDed unless
//            two test the same argument: then ORed, as runc) and then the
//            syscall's fallback (its unconditional action, or the default).
// Conditional jumps have 8-bit offsets: a far target gets a BPF_JA trampoline.
import { SpecError, type SpecIssue } from "../errors";
import { ARCHES, X32_SYSCALL_BIT, nativeArch, type ArchDef } from "./arch";
import {
  BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_K, BPF_LD, BPF_MAXINSNS, BPF_RET, BPF_W,
  SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, SECCOMP_RET_ALLOW, SECCOMP_RET_DATA, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD, SECCOMP_RET_LOG, SECCOMP_RET_TRACE, SECCOMP_RET_TRAP, SECCOMP_RET_USER_NOTIF, argHi, argLo,
  type Insn,
} from "./bpf";

export interface SeccompArg {
  index: number;
  value: number | bigint;
  valueTwo?: number | bigint;
  op: string;
}
export interface SeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}
export interface Seccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompSyscall[];
}

export const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
] as const;
export const SECCOMP_OPERATORS = [
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
] as const;

export const SECCOMP_FILTER_FLAG_TSYNC = 1;
export const SECCOMP_FILTER_FLAG_LOG = 2;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 32;
export const SECCOMP_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

const EPERM = 1;
/** What a syscall of an architecture not in the filter gets (libseccomp's default bad-arch action). */
export const BAD_ARCH_RET = SECCOMP_RET_KILL_THREAD;

export interface CompiledSeccomp {
  program: Insn[];
  /** flags for seccomp(2), SECCOMP_FILTER_FLAG_NEW_LISTENER included when notify */
  flags: number;
  notify: boolean;
  /** names that no listed architecture knows (skipped, as libseccomp does) */
  unknown: string[];
}

/** The seccomp return value for an action; errno is the data for ERRNO and TRACE. */
export function actionValue(action: string, errno: number | undefined): number {
  switch (action) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return SECCOMP_RET_KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return SECCOMP_RET_KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return SECCOMP_RET_TRAP;
    case "SCMP_ACT_ERRNO":
      return (SECCOMP_RET_ERRNO | ((errno ?? EPERM) & SECCOMP_RET_DATA)) >>> 0;
    case "SCMP_ACT_TRACE":
      return (SECCOMP_RET_TRACE | ((errno ?? EPERM) & SECCOMP_RET_DATA)) >>> 0;
    case "SCMP_ACT_ALLOW":
      return SECCOMP_RET_ALLOW;
    case "SCMP_ACT_LOG":
      return SECCOMP_RET_LOG;
    case "SCMP_ACT_NOTIFY":
      return SECCOMP_RET_USER_NOTIF;
  }
  throw new Error(`unknown seccomp action ${action}`);
}

interface Rule {
  args: SeccompArg[];
  ret: number;
}
interface SyscallRules {
  conds: Rule[];
  /** the action of a rule without args, if any */
  uncond?: number;
}

// ---- program assembly with labels and long-jump fixup ----

interface Label {
  at?: Item;
}
type Target = Label | "next";
interface Item {
  code: number;
  k: number;
  jt?: Target | Item;
  jf?: Target | Item;
}

class Assembler {
  items: Item[] = [];
  private pending: Label[] = [];

  label(): Label {
    return {};
  }
  place(l: Label): void {
    this.pending.push(l);
  }
  private push(it: Item): void {
    for (const l of this.pending) l.at = it;
    this.pending = [];
    this.items.push(it);
  }
  ld(off: number): void {
    this.push({ code: BPF_LD | BPF_W | BPF_ABS, k: off });
  }
  and(k: number): void {
    this.push({ code: BPF_ALU | BPF_AND | BPF_K, k: k >>> 0 });
  }
  ret(k: number): void {
    this.push({ code: BPF_RET | BPF_K, k: k >>> 0 });
  }
  jmp(op: number, k: number, jt: Target, jf: Target): void {
    this.push({ code: BPF_JMP | op | BPF_K, k: k >>> 0, jt, jf });
  }
  ja(t: Label): void {
    this.push({ code: BPF_JMP | BPF_JA, k: 0, jt: t });
  }

  /** Resolve labels, add trampolines for far conditional jumps, and emit. */
  finish(): Insn[] {
    if (this.pending.length) throw new Error("seccomp: label placed at the end of the program");
    const items = this.items;
    // Labels and "next" become item references first: inserting must not move them.
    const resolve = (t: Target | Item | undefined, i: number): Item | undefined => {
      if (t === undefined) return undefined;
      if (t === "next") return items[i + 1];
      if ("code" in t) return t;
      if (!t.at) throw new Error("seccomp: unplaced label");
      return t.at;
    };
    items.forEach((it, i) => {
      it.jt = resolve(it.jt, i);
      it.jf = resolve(it.jf, i);
    });
    for (;;) {
      const index = new Map(items.map((it, i) => [it, i]));
      let changed = false;
      for (let i = 0; i < items.length && !changed; i++) {
        const it = items[i]!;
        if ((it.code & 0x07) !== BPF_JMP || (it.code & 0xf0) === BPF_JA) continue;
        for (const side of ["jt", "jf"] as const) {
          const target = it[side] as Item;
          const off = index.get(target)! - i - 1;
          if (off < 0) throw new Error("seccomp: backward jump");
          if (off > 255) {
            // A trampoline right after the jump: `ja target` (32-bit offset).
            const tramp: Item = { code: BPF_JMP | BPF_JA, k: 0, jt: target };
            items.splice(i + 1, 0, tramp);
            it[side] = tramp;
            changed = true;
            break;
          }
        }
      }
      if (!changed) break;
    }
    const index = new Map(items.map((it, i) => [it, i]));
    return items.map((it, i) => {
      if ((it.code & 0x07) !== BPF_JMP) return { code: it.code, jt: 0, jf: 0, k: it.k };
      if ((it.code & 0xf0) === BPF_JA) return { code: it.code, jt: 0, jf: 0, k: index.get(it.jt as Item)! - i - 1 };
      return { code: it.code, jt: index.get(it.jt as Item)! - i - 1, jf: index.get(it.jf as Item)! - i - 1, k: it.k };
    });
  }
}

// ---- the compiler ----

const U32 = 0xffffffffn;

function toBig(v: number | bigint | undefined): bigint {
  if (v === undefined) return 0n;
  return BigInt.asUintN(64, typeof v === "bigint" ? v : BigInt(Math.trunc(v)));
}

/** Emit the checks of one comparison; falls through when it holds, jumps to fail when not. */
function emitCompare(asm: Assembler, arg: SeccompArg, bits: 32 | 64, fail: Label): void {
  let value = toBig(arg.value);
  let datum = toBig(arg.valueTwo);
  if (bits === 32) {
    value &= U32;
    datum &= U32;
  }
  const hi = Number(value >> 32n), lo = Number(value & U32);
  const lo32 = () => asm.ld(argLo(arg.index));
  const hi32 = () => asm.ld(argHi(arg.index));
  const pass = asm.label();
  const wide = bits === 64;
  switch (arg.op) {
    case "SCMP_CMP_EQ":
      if (wide) { hi32(); asm.jmp(BPF_JEQ, hi, "next", fail); }
      lo32(); asm.jmp(BPF_JEQ, lo, "next", fail);
      break;
    case "SCMP_CMP_NE":
      if (wide) { hi32(); asm.jmp(BPF_JEQ, hi, "next", pass); }
      lo32(); asm.jmp(BPF_JEQ, lo, fail, "next");
      break;
    case "SCMP_CMP_GT":
    case "SCMP_CMP_GE":
      if (wide) { hi32(); asm.jmp(BPF_JGT, hi, pass, "next"); asm.jmp(BPF_JEQ, hi, "next", fail); }
      lo32(); asm.jmp(arg.op === "SCMP_CMP_GT" ? BPF_JGT : BPF_JGE, lo, "next", fail);
      break;
    case "SCMP_CMP_LT":
    case "SCMP_CMP_LE":
      if (wide) { hi32(); asm.jmp(BPF_JGT, hi, fail, "next"); asm.jmp(BPF_JEQ, hi, "next", pass); }
      lo32(); asm.jmp(arg.op === "SCMP_CMP_LT" ? BPF_JGE : BPF_JGT, lo, fail, "next");
      break;
    case "SCMP_CMP_MASKED_EQ": {
      // (arg & value) == valueTwo
      const dhi = Number(datum >> 32n), dlo = Number(datum & U32);
      if (wide) {
        hi32();
        if (hi !== 0xffffffff) asm.and(hi);
        asm.jmp(BPF_JEQ, dhi, "next", fail);
      }
      lo32();
      if (lo !== 0xffffffff) asm.and(lo);
      asm.jmp(BPF_JEQ, dlo, "next", fail);
      break;
    }
    default:
      throw new Error(`unknown seccomp operator ${arg.op}`);
  }
  asm.place(pass);
}

interface Interval {
  start: number;
  /** a return value, or the rules of one syscall */
  outcome: number | SyscallRules;
}

/**
 * Syscalls newer than every one the profile names get ENOSYS rather than the
 * default action, as runc does: a program then falls back from a syscall its
 * kernel might lack (clone3, say) instead of failing with EPERM. Not when the
 * default already lets calls through (allow, log, trace).
 */
const ENOSYS = 38;
const ALLOWING_DEFAULTS = new Set(["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"]);

function newestNamed(profile: Seccomp, arch: ArchDef): number | undefined {
  let max: number | undefined;
  for (const sc of profile.syscalls ?? []) {
    for (const name of sc.names ?? []) {
      const n = arch.table![name];
      if (n !== undefined) max = Math.max(max ?? 0, n + (arch.bias ?? 0));
    }
  }
  return max;
}

function intervals(rules: Map<number, SyscallRules>, def: number, lo: number, enosysAbove?: number): Interval[] {
  const out: Interval[] = [{ start: lo, outcome: def }];
  const add = (start: number, outcome: number | SyscallRules) => {
    const last = out[out.length - 1]!;
    if (last.outcome === outcome) return;
    if (last.start === start) out.pop();
    const prev = out[out.length - 1];
    if (prev && prev.outcome === outcome) return;
    out.push({ start, outcome });
  };
  for (const nr of [...rules.keys()].sort((a, b) => a - b)) {
    const r = rules.get(nr)!;
    const outcome = r.conds.length ? r : r.uncond!;
    add(nr, outcome);
    if (nr + 1 <= 0xffffffff) add(nr + 1, def);
  }
  if (enosysAbove !== undefined && enosysAbove + 1 <= 0xffffffff) add(enosysAbove + 1, (SECCOMP_RET_ERRNO | ENOSYS) >>> 0);
  return out;
}

function emitOutcome(asm: Assembler, outcome: number | SyscallRules, def: number, bits: 32 | 64): void {
  if (typeof outcome === "number") {
    asm.ret(outcome);
    return;
  }
  for (const rule of outcome.conds) {
    const fail = asm.label();
    for (const arg of rule.args) emitCompare(asm, arg, bits, fail);
    asm.ret(rule.ret);
    asm.place(fail);
  }
  asm.ret(outcome.uncond ?? def);
}

function emitTree(asm: Assembler, ivs: Interval[], def: number, bits: 32 | 64): void {
  const gen = (lo: number, hi: number): void => {
    if (hi - lo === 1) {
      emitOutcome(asm, ivs[lo]!.outcome, def, bits);
      return;
    }
    const mid = (lo + hi) >> 1;
    const right = asm.label();
    asm.jmp(BPF_JGE, ivs[mid]!.start, right, "next");
    gen(lo, mid);
    asm.place(right);
    gen(mid, hi);
  };
  gen(0, ivs.length);
}

/**
 * The conditions of one rule as alternatives, each list ANDed. Conditions on
 * different arguments are ANDed; but when two of them test the same
 * argument, runc (libcontainer/seccomp) adds every condition of the rule as
 * a rule of its own, so the rule matches when any one of them holds, those
 * on other arguments included. Profiles rely on it ("pid 100 or pid 9001").
 */
export function ruleConditions(args: readonly SeccompArg[]): SeccompArg[][] {
  const indexes = new Set(args.map((a) => a.index));
  return indexes.size === args.length ? [[...args]] : args.map((a) => [a]);
}

/** The rules that apply to one architecture, keyed by syscall number (bias included). */
function rulesFor(profile: Seccomp, arch: ArchDef, known: Set<string>): Map<number, SyscallRules> {
  const def = actionValue(profile.defaultAction, profile.defaultErrnoRet);
  const out = new Map<number, SyscallRules>();
  for (const sc of profile.syscalls ?? []) {
    const ret = actionValue(sc.action, sc.errnoRet);
    // As runc: a rule with the default's action changes nothing and is
    // skipped, so it cannot shadow a later rule for the same syscall.
    if (ret === def) {
      for (const name of sc.names) if (arch.table![name] !== undefined) known.add(name);
      continue;
    }
    for (const name of sc.names) {
      const n = arch.table![name];
      if (n === undefined) continue;
      known.add(name);
      const nr = n + (arch.bias ?? 0);
      let r = out.get(nr);
      if (!r) out.set(nr, (r = { conds: [] }));
      if (sc.args?.length) r.conds.push(...ruleConditions(sc.args).map((args) => ({ args, ret })));
      else if (r.uncond === undefined) r.uncond = ret;
    }
  }
  // Drop what changes nothing: rules whose every outcome is the default.
  for (const [nr, r] of out) {
    const fallback = r.uncond ?? def;
    if (r.conds.every((c) => c.ret === fallback)) {
      if (fallback === def) out.delete(nr);
      else out.set(nr, { conds: [], uncond: fallback });
    }
  }
  return out;
}

export interface CompileSeccompOptions {
  /** the SCMP_ARCH_* of the host, used when architectures is empty */
  native?: string;
  /** JSON pointer of the seccomp object, for errors */
  pointer?: string;
}

/** Compile the profile; throws SpecError naming each problem's JSON pointer. */
export function compileSeccomp(profile: Seccomp, opts: CompileSeccompOptions = {}): CompiledSeccomp {
  const at = opts.pointer ?? "/linux/seccomp";
  const issues: SpecIssue[] = [];
  const actions = new Set<string>(SECCOMP_ACTIONS);
  const operators = new Set<string>(SECCOMP_OPERATORS);
  if (!actions.has(profile.defaultAction)) {
    issues.push({ pointer: `${at}/defaultAction`, message: `unknown seccomp action ${JSON.stringify(profile.defaultAction)}` });
  } else if (profile.defaultAction === "SCMP_ACT_NOTIFY") {
    issues.push({ pointer: `${at}/defaultAction`, message: "SCMP_ACT_NOTIFY cannot be the default action" });
  }
  // As runc (libseccomp): the filter always holds the host's architecture,
  // and the listed ones are added to it. Without it, skiff-init itself would
  // be killed by the filter it loads ("architectures": ["SCMP_ARCH_X86"]).
  const listed = profile.architectures ?? [];
  const native = opts.native ?? nativeArch();
  const archNames = [...new Set([native, ...listed])];
  const checkArch = (name: string, pointer: string, whose: string) => {
    const def = ARCHES[name];
    if (!def) issues.push({ pointer, message: `unknown seccomp architecture ${JSON.stringify(name)}${whose}` });
    else if (!def.table) issues.push({ pointer, message: `seccomp architecture ${name}${whose} is not supported by skiff (no syscall table)` });
  };
  if (!listed.includes(native)) checkArch(native, `${at}/architectures`, " (this host's)");
  listed.forEach((name, i) => checkArch(name, `${at}/architectures/${i}`, ""));
  let flags = 0;
  (profile.flags ?? []).forEach((f, i) => {
    const v = SECCOMP_FLAGS[f];
    if (v === undefined) issues.push({ pointer: `${at}/flags/${i}`, message: `unknown seccomp flag ${JSON.stringify(f)}` });
    else flags |= v;
  });
  // skiff-init is single-threaded: TSYNC is moot, and it may not be combined with NEW_LISTENER.
  flags &= ~SECCOMP_FILTER_FLAG_TSYNC;
  let notify = false;
  (profile.syscalls ?? []).forEach((sc, i) => {
    if (!actions.has(sc.action)) issues.push({ pointer: `${at}/syscalls/${i}/action`, message: `unknown seccomp action ${JSON.stringify(sc.action)}` });
    if (sc.action === "SCMP_ACT_NOTIFY") {
      notify = true;
      // skiff-init writes to skiff after the filter is loaded (the ready
      // point): a write waiting on the agent would never get there. runc
      // refuses it for the same reason.
      (sc.names ?? []).forEach((name, j) => {
        if (name === "write") issues.push({ pointer: `${at}/syscalls/${i}/names/${j}`, message: "SCMP_ACT_NOTIFY cannot be used for the write syscall" });
      });
    }
    if (!sc.names?.length) issues.push({ pointer: `${at}/syscalls/${i}/names`, message: "at least one name is required" });
    (sc.args ?? []).forEach((a, j) => {
      if (!operators.has(a.op)) issues.push({ pointer: `${at}/syscalls/${i}/args/${j}/op`, message: `unknown seccomp operator ${JSON.stringify(a.op)}` });
      if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) {
        issues.push({ pointer: `${at}/syscalls/${i}/args/${j}/index`, message: "must be an argument index from 0 to 5" });
      }
    });
  });
  if (notify) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (!profile.listenerPath) issues.push({ pointer: `${at}/listenerPath`, message: "is required when an action is SCMP_ACT_NOTIFY" });
  } else if (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
    issues.push({ pointer: `${at}/flags`, message: "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY action" });
  }
  if (issues.length) throw new SpecError("config.json", issues);

  const def = actionValue(profile.defaultAction, profile.defaultErrnoRet);
  const known = new Set<string>();
  const asm = new Assembler();
  // Group by the audit value: x86_64 and x32 share one and split on the x32 bit.
  const groups = new Map<number, string[]>();
  for (const name of archNames) {
    const g = groups.get(ARCHES[name]!.audit) ?? [];
    if (!g.includes(name)) g.push(name);
    groups.set(ARCHES[name]!.audit, g);
  }
  asm.ld(SECCOMP_DATA_ARCH);
  const sections = [...groups.keys()].map((audit) => ({ audit, label: asm.label() }));
  for (const s of sections) asm.jmp(BPF_JEQ, s.audit, s.label, "next");
  asm.ret(BAD_ARCH_RET);
  for (const s of sections) {
    asm.place(s.label);
    asm.ld(SECCOMP_DATA_NR);
    const names = groups.get(s.audit)!;
    const tree = (name: string, lo: number) => {
      const arch = ARCHES[name]!;
      // runc's stub covers the listed architectures only: the implicit
      // native one (and every one, when none is listed) gets the default.
      const stub = listed.includes(name) && !ALLOWING_DEFAULTS.has(profile.defaultAction);
      const enosysAbove = stub ? newestNamed(profile, arch) : undefined;
      emitTree(asm, intervals(rulesFor(profile, arch, known), def, lo, enosysAbove), def, arch.bits);
    };
    const has64 = names.includes("SCMP_ARCH_X86_64"), has32 = names.includes("SCMP_ARCH_X32");
    if (has64 || has32) {
      const x32 = asm.label();
      asm.jmp(BPF_JGE, X32_SYSCALL_BIT, x32, "next");
      if (has64) tree("SCMP_ARCH_X86_64", 0);
      else asm.ret(BAD_ARCH_RET);
      asm.place(x32);
      if (has32) tree("SCMP_ARCH_X32", X32_SYSCALL_BIT);
      else asm.ret(BAD_ARCH_RET);
    } else {
      tree(names[0]!, 0);
    }
  }
  const program = asm.finish();
  if (program.length > BPF_MAXINSNS) {
    throw new SpecError("config.json", [{ pointer: at, message: `seccomp filter has ${program.length} instructions, more than the kernel's ${BPF_MAXINSNS}` }]);
  }
  const unknown = [...new Set((profile.syscalls ?? []).flatMap((s) => s.names ?? []))].filter((n) => !known.has(n));
  return { program, flags, notify, unknown };
}
