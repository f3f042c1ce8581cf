import { expect, test } from "bun:test";
import { SkiffError } from "../errors";
import { encodePlan } from "./encode";
import { PLAN_MAX_BYTES, PLAN_MAX_OPS, type Op } from "./ops";

const UMASK: Op = { op: "umask", mask: 0o22, origin: "/process/user/umask" };

test("a plan at skiff-init's op limit encodes; one op more is refused in one line", () => {
  expect(encodePlan(Array(PLAN_MAX_OPS).fill(UMASK)).length).toBe(8 + PLAN_MAX_OPS * 16);
  expect(() => encodePlan(Array(PLAN_MAX_OPS + 1).fill(UMASK))).toThrow(
    new SkiffError(`encode plan: ${PLAN_MAX_OPS + 1} operations, more than skiff-init takes (${PLAN_MAX_OPS})`),
  );
});

test("strings past skiff-init's byte limit are refused, naming the op's origin", () => {
  const big = "x".repeat(PLAN_MAX_BYTES / 2);
  const op = (i: number): Op => ({ op: "hostname", name: big, origin: `/hostname/${i}` });
  expect(() => encodePlan([op(0), op(1)])).not.toThrow();
  expect(() => encodePlan([op(0), op(1), { op: "hostname", name: "x", origin: "/hostname" }])).toThrow(
    new SkiffError(`encode plan: strings pass ${PLAN_MAX_BYTES} bytes at /hostname, more than skiff-init takes`),
  );
});
