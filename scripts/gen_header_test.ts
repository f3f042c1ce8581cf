import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { renderHeader } from "./gen_header";
import { OPS } from "../src/plan/ops";

test("native/plan_ops.h is generated from the current ops table", () => {
  const current = readFileSync(new URL("../native/plan_ops.h", import.meta.url), "utf8");
  expect(current).toBe(renderHeader());
});

test("op codes and names are unique, and every op has a C handler", () => {
  expect(new Set(OPS.map((o) => o.code)).size).toBe(OPS.length);
  expect(new Set(OPS.map((o) => o.name)).size).toBe(OPS.length);
  const dir = new URL("../native/", import.meta.url).pathname;
  const sources = readdirSync(dir)
    .filter((f) => f.startsWith("ops_") && f.endsWith(".c"))
    .map((f) => readFileSync(dir + f, "utf8"))
    .join("\n");
  for (const o of OPS) expect(sources).toContain(`int op_${o.name}(const struct op *o, struct err *e)`);
});
