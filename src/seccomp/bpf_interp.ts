// A classic-BPF interpreter for seccomp filters, for tests and the benchmark:
// runs a program on a synthetic seccomp_data and counts what it executed.
import {
  BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_LD, BPF_RET, BPF_W,
  argHi, argLo, type Insn,
} from "./bpf";

export interface SeccompData {
  nr: number;
  arch: number;
  ip?: bigint;
  /** up to 6 arguments, as the kernel sees the registers (u64) */
  args?: readonly bigint[];
}

export interface RunResult {
  /** the filter's return value (action | data) */
  ret: number;
  /** instructions executed, the ret included */
  steps: number;
}

function packData(d: SeccompData): DataView {
  const view = new DataView(new ArrayBuffer(64));
  view.setUint32(0, d.nr >>> 0, true);
  view.setUint32(4, d.arch >>> 0, true);
  view.setBigUint64(8, d.ip ?? 0n, true);
  for (let i = 0; i < 6; i++) {
    const v = BigInt.asUintN(64, d.args?.[i] ?? 0n);
    view.setUint32(argLo(i), Number(v & 0xffffffffn), true);
    view.setUint32(argHi(i), Number(v >> 32n), true);
  }
  return view;
}

/** Run prog on data, as the kernel would; throws on what the kernel's checker refuses. */
export function runFilter(prog: readonly Insn[], data: SeccompData): RunResult {
  const mem = packData(data);
  let a = 0;
  let pc = 0;
  let steps = 0;
  for (;;) {
    const ins = prog[pc];
    if (!ins) throw new Error(`bpf: fell off the end at ${pc}`);
    steps++;
    const cls = ins.code & 0x07;
    if (cls === BPF_LD) {
      if (ins.code !== (BPF_LD | BPF_W | BPF_ABS)) throw new Error(`bpf: unsupported load 0x${ins.code.toString(16)} at ${pc}`);
      if (ins.k % 4 !== 0 || ins.k >= 64) throw new Error(`bpf: bad offset ${ins.k} at ${pc}`);
      a = mem.getUint32(ins.k, true);
      pc++;
    } else if (cls === BPF_ALU) {
      if (ins.code !== (BPF_ALU | BPF_AND)) throw new Error(`bpf: unsupported alu 0x${ins.code.toString(16)} at ${pc}`);
      a = (a & ins.k) >>> 0;
      pc++;
    } else if (cls === BPF_JMP) {
      const op = ins.code & 0xf0;
      const k = ins.k >>> 0;
      if (op === BPF_JA) {
        pc += 1 + k;
        continue;
      }
      let cond: boolean;
      if (op === BPF_JEQ) cond = a === k;
      else if (op === BPF_JGT) cond = a > k;
      else if (op === BPF_JGE) cond = a >= k;
      else if (op === BPF_JSET) cond = (a & k) !== 0;
      else throw new Error(`bpf: unsupported jump 0x${ins.code.toString(16)} at ${pc}`);
      pc += 1 + (cond ? ins.jt : ins.jf);
    } else if (cls === BPF_RET) {
      return { ret: ins.k >>> 0, steps };
    } else {
      throw new Error(`bpf: unsupported class 0x${ins.code.toString(16)} at ${pc}`);
    }
  }
}
