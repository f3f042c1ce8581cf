// state.json is input to every command after create. Its directory is
// root's, but a record that names something other than a cgroup must not
// redirect a write, an rmdir or a signal: each command that would act on it
// refuses with one line, and the files it names stay as they were.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { alive, forceDelete, leftovers, skiff, uniqueId } from "../integration/skiff";
import { needRoot, skipWhy } from "../skip";
import { expectOneLine } from "./one_line";

let root = "";
const made: string[] = [];
afterEach(() => {
  for (const id of made.splice(0)) forceDelete(root, id);
});
afterAll(() => cleanupTempDirs());

const FILES = ["freezer.state", "cgroup.freeze", "cgroup.procs", "cgroup.kill", "tasks", "pids.max", "memory.limit_in_bytes", "cpu.shares"];

function hashDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = createHash("sha256").update(readFileSync(join(dir, f))).digest("hex");
  return out;
}

// Every command that reads state.json, with the arguments it needs.
const COMMANDS = (id: string, processFile: string): string[][] => [
  ["state", id],
  ["pause", id],
  ["resume", id],
  ["update", "--pids-limit", "10", id],
  ["kill", id, "KILL"],
  ["kill", "--all", id, "KILL"],
  ["exec", id, "/probe", "true"],
  ["exec", "--process", processFile, id],
  ["ps", id],
  ["events", "--stats", id],
  ["start", id],
  ["delete", id],
  ["delete", "-f", id],
];

describe.skipIf(skipWhy("tampered state.json", needRoot()))("a tampered state.json redirects nothing", () => {
  root = tempDir("skiff-sec-state-root-");
  // A record naming a hierarchy's root is refused too (src/cgroups/record_check_test.ts),
  // but not attacked here: a regression would signal every process of the root cgroup.

  const tampers: [string, (state: any, decoy: string) => void, string][] = [
    ["cgroup paths pointing at a host directory", (s, d) => {
      for (const k of Object.keys(s.cgroup.paths)) s.cgroup.paths[k] = d;
      s.cgroup.freezer = d;
      if (s.cgroup.unified) s.cgroup.unified = d;
      s.cgroup.created = [d];
    }, "is not on a cgroup file system"],
    ["cgroup paths that climb out with '..'", (s, d) => {
      for (const k of Object.keys(s.cgroup.paths)) s.cgroup.paths[k] = `${s.cgroup.paths[k]}/../../../../../..${d}`;
      delete s.cgroup.freezer;
      delete s.cgroup.unified;
      s.cgroup.created = [];
    }, "is not a clean absolute path"],
    ["a pid that is not a number", (s) => (s.pid = "1; rm"), "pid: not a positive integer"],
    ["another container's id", (s) => (s.id = "someone-else"), "id: not"],
    ["not JSON", () => {}, "is not valid JSON"],
  ];

  for (const [name, tamper, cause] of tampers) {
    test(name, () => {
      const id = uniqueId("sec-state");
      const bundle = makeBundle({ args: ["/probe", "sleep", "60"] });
      made.push(id);
      expect(skiff(["create", "-b", bundle, id], { root }).code).toBe(0);
      const statePath = join(root, id, "state.json");
      const original = readFileSync(statePath, "utf8");
      const pid = JSON.parse(original).pid;
      const decoy = tempDir("skiff-sec-state-decoy-");
      mkdirSync(decoy, { recursive: true });
      for (const f of FILES) writeFileSync(join(decoy, f), `decoy ${f}\n`);
      const before = hashDir(decoy);
      const processFile = join(decoy, "..", `${id}-process.json`);
      writeFileSync(processFile, JSON.stringify({ args: ["/probe", "true"], cwd: "/", user: { uid: 0, gid: 0 } }));
      const state = JSON.parse(original);
      tamper(state, decoy);
      writeFileSync(statePath, name === "not JSON" ? original.slice(0, 40) : JSON.stringify(state));

      for (const cmd of COMMANDS(id, processFile)) {
        const line = expectOneLine(skiff(cmd, { root }));
        expect(`${cmd[0]}: ${line}`).toContain(`${cmd[0]}: skiff: read state of container ${id}: ${statePath}`);
        expect(line).toContain(cause);
      }
      expect(hashDir(decoy)).toEqual(before);
      expect(alive(pid)).toBe(true);

      writeFileSync(statePath, original);
      expect(skiff(["delete", "-f", id], { root }).code).toBe(0);
      expect(leftovers(root, id, bundle)).toEqual([]);
    });
  }
});
