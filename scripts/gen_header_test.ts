import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { renderHeader } from "./gen_header";
import { OPS } from "../src/plan/ops";

test("native/plan_ops.h is generated from the current ops table", () => {
  const current = readFileSync(new URL("../native/plan_ops.h", import.meta.url), "utf8");
  expect(current).toBe(renderHeader());
});

test("op codes and names are unique, and every op has a C handler", () => {
  expect(new Set(OPS.map((o) => o.code)).size).toBe(OPS.length);
  expect(new Set(OPS.map((o) => o.name)).size).toBe(OPS.length);
  const sources = ["ops_ns.c", "ops_fs.c", "ops_attr.c", "ops_cred.c", "ops_exec.c", "ops_seccomp.c"]
    .map((f) => readFileSync(new URL(`../native/${f}`, import.meta.url), "utf8"))
    .join("\n");
  for (const o of OPS) expect(sources).toContain(`int op_${o.name}(const struct op *o, struct err *e)`);
});
