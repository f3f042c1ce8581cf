import { expect, test } from "bun:test";
import { parseArgs, type FlagDefs } from "./args";
import { UsageError } from "../errors";

const DEFS: FlagDefs = {
  bundle: { kind: "string", short: "b", help: "" },
  detach: { kind: "bool", short: "d", help: "" },
  "preserve-fds": { kind: "int", help: "" },
};

test("long, short and = forms, booleans and ints", () => {
  const p = parseArgs(["-b", "/x", "--detach", "--preserve-fds=2", "id"], DEFS);
  expect(p.flags).toEqual({ bundle: "/x", detach: true, "preserve-fds": 2 });
  expect(p.args).toEqual(["id"]);
  expect(parseArgs(["--bundle=/y", "-d=false", "id"], DEFS).flags).toEqual({ bundle: "/y", detach: false });
});

test("flags may follow the id, as runc allows", () => {
  expect(parseArgs(["id", "-d"], DEFS)).toEqual({ flags: { detach: true }, args: ["id"] });
});

test("-- ends flags", () => {
  expect(parseArgs(["--", "-d"], DEFS).args).toEqual(["-d"]);
});

test("global flags stop at the command name", () => {
  const p = parseArgs(["--bundle", "/r", "kill", "-d", "x"], DEFS, { stopAtFirstArg: true });
  expect(p.args).toEqual(["kill", "-d", "x"]);
});

test("unknown flags, missing values and bad ints are usage errors", () => {
  expect(() => parseArgs(["--nope"], DEFS)).toThrow(new UsageError("flag provided but not defined: --nope"));
  expect(() => parseArgs(["--bundle"], DEFS)).toThrow(UsageError);
  expect(() => parseArgs(["--preserve-fds", "x"], DEFS)).toThrow(/not a non-negative integer/);
});
