// Binary form of a plan, read by native/plan.c:
//   "SKP1" u32 nops, then per op: u32 code, u16 nints, u16 nstrs,
//   nints x i64, nstrs x (u32 length, bytes). Little endian throughout.
import { SkiffError } from "../errors";
import { OP_BY_NAME, PLAN_MAX_BYTES, PLAN_MAX_OPS, type Op } from "./ops";

const MAGIC = 0x31504b53; // "SKP1"

export function encodePlan(ops: readonly Op[]): Uint8Array {
  // skiff-init refuses a plan beyond its limits: say so here, in one line.
  if (ops.length > PLAN_MAX_OPS) throw new SkiffError(`encode plan: ${ops.length} operations, more than skiff-init takes (${PLAN_MAX_OPS})`);
  const enc = new TextEncoder();
  let strBytes = 0;
  const parts: Uint8Array[] = [];
  let size = 8;
  const head = new DataView(new ArrayBuffer(8));
  head.setUint32(0, MAGIC, true);
  head.setUint32(4, ops.length, true);
  parts.push(new Uint8Array(head.buffer));
  for (const op of ops) {
    const def = OP_BY_NAME.get(op.op);
    if (!def) throw new Error(`encode plan: unknown op ${op.op}`);
    const fields = op as unknown as Record<string, number | bigint | string>;
    const strs = def.strs.map((k) => enc.encode(String(fields[k] ?? "")));
    strBytes += strs.reduce((n, s) => n + s.length, 0);
    if (strBytes > PLAN_MAX_BYTES) throw new SkiffError(`encode plan: strings pass ${PLAN_MAX_BYTES} bytes at ${op.origin || op.op}, more than skiff-init takes`);
    const len = 8 + 8 * def.ints.length + strs.reduce((n, s) => n + 4 + s.length, 0);
    const view = new DataView(new ArrayBuffer(len));
    view.setUint32(0, def.code, true);
    view.setUint16(4, def.ints.length, true);
    view.setUint16(6, def.strs.length, true);
    let at = 8;
    for (const k of def.ints) {
      view.setBigInt64(at, BigInt(fields[k] ?? 0), true);
      at += 8;
    }
    const bytes = new Uint8Array(view.buffer);
    for (const s of strs) {
      view.setUint32(at, s.length, true);
      bytes.set(s, at + 4);
      at += 4 + s.length;
    }
    parts.push(bytes);
    size += len;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
