// A 5,000-character container id printed a JavaScript stack (ENAMETOOLONG
// from the state directory's name). Every command now refuses an id longer
// than a file name may be (255, where runc fails too: its state directory)
// in one line, before touching anything.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { forceDelete, leftovers, skiff } from "../integration/skiff";
import { RUNC, needRoot, needRunc, skipWhy } from "../skip";
import { expectOneLine } from "./one_line";

afterAll(() => cleanupTempDirs());

const idOf = (n: number) => `${"i".repeat(n - 8)}${Math.random().toString(36).slice(2, 10).padEnd(8, "0")}`;

/** Every command that takes a container id, with what else it needs. */
function commands(id: string, bundle: string): string[][] {
  return [
    ["create", "-b", bundle, id],
    ["run", "-d", "-b", bundle, id],
    ["start", id],
    ["state", id],
    ["kill", id],
    ["delete", id],
    ["delete", "-f", id],
    ["exec", id, "/probe", "true"],
    ["ps", id],
    ["pause", id],
    ["resume", id],
    ["update", "--pids-limit", "5", id],
    ["events", "--stats", id],
    ["plan", "--id", id, bundle],
  ];
}

describe("container ids", () => {
  const root = tempDir("skiff-sec-id-root-");
  const bundle = makeBundle({ args: ["/probe", "sleep", "30"] });

  for (const n of [256, 300, 5000]) {
    test(`a ${n}-character id: one line from every command, nothing made`, () => {
      const id = idOf(n);
      for (const cmd of commands(id, bundle)) {
        const line = expectOneLine(skiff(cmd, { root }));
        expect(`${cmd[0]}: ${line}`).toBe(`${cmd[0]}: skiff: invalid container id: ${n} characters long, the limit is 255`);
      }
      expect(readdirSync(root)).toEqual([]);
    });
  }

  test("characters outside runc's set are refused with the rule", () => {
    for (const id of ["a/b", "..", "a b", "é", "a:b", "a,b"]) {
      const line = expectOneLine(skiff(["state", id], { root }));
      expect(line).toBe(`skiff: invalid container id ${JSON.stringify(id)}: use letters, digits and _ + - . only`);
    }
  });

  // runc's own limit is its state directory's name: 255 works, 256 does not.
  test.skipIf(skipWhy("255-character ids against runc", needRoot(), needRunc()))("255 characters work under skiff and runc; 256 fail under both", () => {
    const runcRoot = tempDir("skiff-sec-id-runc-");
    for (const [n, ok] of [[255, true], [256, false]] as const) {
      const id = idOf(n);
      const errFile = join(runcRoot, "stderr");
      const r = spawnSync([RUNC, "--root", runcRoot, "create", "-b", bundle, id], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(errFile) });
      spawnSync([RUNC, "--root", runcRoot, "delete", "-f", id], { stdout: "ignore", stderr: "ignore" });
      expect({ n, runc: r.exitCode === 0, why: readFileSync(errFile, "utf8").includes("file name too long") || r.exitCode === 0 }).toEqual({ n, runc: ok, why: true });
      const s = skiff(["create", "-b", bundle, id], { root });
      if (ok) {
        expect(s.stderr).toBe("");
        expect(s.code).toBe(0);
        expect(existsSync(join(root, id))).toBe(true);
        expect(skiff(["delete", "-f", id], { root }).code).toBe(0);
      } else {
        expectOneLine(s);
      }
      forceDelete(root, id);
      expect(leftovers(root, id, bundle)).toEqual([]);
    }
  });

  test("a long --root with a short id: one line, not a stack", () => {
    // longer than PATH_MAX (Bun refuses it before any syscall), each name short enough
    const deep = `${root}/${Array(25).fill("d".repeat(200)).join("/")}`;
    const line = expectOneLine(skiff(["state", "short"], { root: deep }));
    expect(line).toContain("does not exist");
    const made = expectOneLine(skiff(["create", "-b", bundle, "short"], { root: deep }));
    expect(made).toContain("file name too long");
  });
});
