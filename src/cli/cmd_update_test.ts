import { expect, test } from "bun:test";
import { resourcesFromFlags } from "./cmd_update";

test("update -r: null for a member is read as absent, as in config.json", () => {
  const json = JSON.stringify({ memory: { limit: 1048576, swap: null }, cpu: null, devices: null, pids: { limit: 10 } });
  const r = resourcesFromFlags({ flags: { resources: "-" }, args: ["id"] }, () => json);
  expect(r).toEqual({ memory: { limit: 1048576 }, pids: { limit: 10 } });
});
