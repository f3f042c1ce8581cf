// Binary form of a plan, read by native/plan.c:
//   "SKP1" u32 nops, then per op: u32 code, u16 nints, u16 nstrs,
//   nints x i64, nstrs x (u32 length, bytes). Little endian throughout.
import { SkiffError } from "../errors";
import { OP_BY_NAME, PLAN_MAX_BYTES, PLAN_MAX_OPS, type Op, type OpDef } from "./ops";

const MAGIC = 0x31504b53; // "SKP1"

// Two passes into one buffer: this runs once per create, cold (interpreted),
// so fewer allocations are most of its cost.
export function encodePlan(ops: readonly Op[]): Uint8Array {
  // skiff-init refuses a plan beyond its limits: say so here, in one line.
  if (ops.length > PLAN_MAX_OPS) throw new SkiffError(`encode plan: ${ops.length} operations, more than skiff-init takes (${PLAN_MAX_OPS})`);
  const defs: OpDef[] = [];
  const strs: Buffer[][] = [];
  let strBytes = 0;
  let size = 8;
  for (const op of ops) {
    const def = OP_BY_NAME.get(op.op);
    if (!def) throw new Error(`encode plan: unknown op ${op.op}`);
    const fields = op as unknown as Record<string, number | bigint | string>;
    const bytes = def.strs.map((k) => Buffer.from(String(fields[k] ?? "")));
    let len = 8 + 8 * def.ints.length;
    for (const b of bytes) len += 4 + b.length;
    strBytes += len - 8 - 8 * def.ints.length - 4 * bytes.length;
    if (strBytes > PLAN_MAX_BYTES) throw new SkiffError(`encode plan: strings pass ${PLAN_MAX_BYTES} bytes at ${op.origin || op.op}, more than skiff-init takes`);
    defs.push(def);
    strs.push(bytes);
    size += len;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, ops.length, true);
  let at = 8;
  for (let i = 0; i < ops.length; i++) {
    const def = defs[i]!;
    const fields = ops[i] as unknown as Record<string, number | bigint | string>;
    view.setUint32(at, def.code, true);
    view.setUint16(at + 4, def.ints.length, true);
    view.setUint16(at + 6, def.strs.length, true);
    at += 8;
    for (const k of def.ints) {
      view.setBigInt64(at, BigInt(fields[k] ?? 0), true);
      at += 8;
    }
    for (const b of strs[i]!) {
      view.setUint32(at, b.length, true);
      out.set(b, at + 4);
      at += 4 + b.length;
    }
  }
  return out;
}
