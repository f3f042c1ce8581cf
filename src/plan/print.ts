// Text form of a plan, one op per line, for `skiff plan` and golden tests.
import { OP_BY_NAME, type Op } from "./ops";

export function printPlan(ops: readonly Op[]): string {
  return ops.map((op, i) => `${String(i).padStart(3)} ${formatOp(op)}`).join("\n") + "\n";
}

export function formatOp(op: Op): string {
  const def = OP_BY_NAME.get(op.op)!;
  const fields = op as unknown as Record<string, unknown>;
  const parts: string[] = [op.op];
  for (const k of def.ints) parts.push(`${k}=${formatInt(k, fields[k] as number | bigint)}`);
  for (const k of def.strs) parts.push(`${k}=${JSON.stringify(String(fields[k] ?? "")).replaceAll("\\u0000", " ")}`);
  if (op.origin) parts.push(`(from ${op.origin})`);
  return parts.join(" ");
}

// Flags and capability masks read best in hex, modes in octal.
const HEX = new Set(["flags", "keep", "set", "clear", "effective", "permitted", "inheritable", "ambient", "propagation"]);
const OCTAL = new Set(["mode", "mask"]);

function formatInt(key: string, v: number | bigint): string {
  if (HEX.has(key)) return `0x${BigInt(v).toString(16)}`;
  if (OCTAL.has(key)) return `0${BigInt(v).toString(8)}`;
  return String(v);
}
