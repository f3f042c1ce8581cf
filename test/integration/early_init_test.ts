// create and exec spawn skiff-init before they have a plan for it
// (src/helper/init_channel.ts: its exec overlaps reading the config). A
// command that fails first must still leave no process behind, and print
// its one line only: skiff-init, given no plan, leaves without a word and
// is gone before skiff exits.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Spec } from "../../src/config/types";
import { join } from "node:path";
import { REPO_ROOT, cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, skipWhy } from "../skip";
import { SKIFF, SKIFF_INIT_EXE, forceDelete, leftovers, skiff, uniqueId } from "./skiff";

const BUN = process.execPath;

interface Probe {
  code: number;
  stderr: string;
  /** children of the probe (a child subreaper) right after skiff exited, zombies included */
  children: { pid: number; exe: string; state: string }[];
}

/**
 * Runs skiff under a child subreaper and lists, at once, what it adopted:
 * a skiff-init that outlived skiff would be among them, still running.
 */
function probe(args: string[]): Probe {
  const script = join(tempDir("skiff-early-init-"), "probe.ts");
  writeFileSync(
    script,
    `import { setChildSubreaper } from ${JSON.stringify(join(REPO_ROOT, "src/util/libc.ts"))};
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
setChildSubreaper();
const r = Bun.spawnSync(process.argv.slice(2), { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
const children = [];
for (const n of readdirSync("/proc")) {
  if (!/^\\d+$/.test(n)) continue;
  try {
    const st = readFileSync("/proc/" + n + "/status", "utf8");
    if (Number(/\\nPPid:\\s*(\\d+)/.exec(st)?.[1]) !== process.pid) continue;
    let exe = "";
    try { exe = readlinkSync("/proc/" + n + "/exe"); } catch {}
    children.push({ pid: Number(n), exe, state: /\\nState:\\s*(\\S)/.exec(st)?.[1] });
  } catch {}
}
console.log(JSON.stringify({ code: r.exitCode, stderr: r.stderr.toString(), children }));
`,
  );
  const p = Bun.spawnSync([BUN, script, SKIFF, ...args], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  expect(p.stderr.toString()).toBe("");
  return JSON.parse(p.stdout.toString().trim()) as Probe;
}

describe.skipIf(skipWhy("test/integration/early_init_test.ts", needRoot()))("a command that fails before skiff-init has its plan", () => {
  afterAll(() => cleanupTempDirs());
  const root = tempDir("skiff-early-init-root-");

  const cases: [string, (bundle: string, id: string) => string[], string][] = [
    ["create of a config.json that is not JSON", (b, id) => (writeFileSync(join(b, "config.json"), "{"), ["--root", root, "create", "-b", b, id]), "parse json"],
    ["create of a bundle without config.json", (b, id) => (rmSync(join(b, "config.json")), ["--root", root, "create", "-b", b, id]), "no such file or directory"],
    // fails after the cgroups are made: the undo path, with skiff-init waiting
    ["create whose cpu shares the kernel refuses", (b, id) => {
      const config = JSON.parse(readFileSync(join(b, "config.json"), "utf8")) as Spec;
      config.linux!.resources = { ...config.linux!.resources, cpu: { shares: 1 } };
      writeFileSync(join(b, "config.json"), JSON.stringify(config));
      return ["--root", root, "create", "-b", b, id];
    }, "/linux/resources/cpu/shares"],
    ["exec into a container that does not exist", (_b, id) => ["--root", root, "exec", id, "/probe", "exit", "0"], "does not exist"],
  ];
  // runc's exit status for a missing container is 255, as skiff's
  const EXIT: Record<string, number> = { "exec into a container that does not exist": 255 };

  test.each(cases)("%s: one line, and no skiff-init left running", (name, setup, cause) => {
    const bundle = makeBundle({ args: ["/probe", "exit", "0"] });
    const id = uniqueId("early-init");
    try {
      const r = probe(setup(bundle, id));
      expect(r.code).toBe(EXIT[name] ?? 1);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining(cause)]);
      const running = r.children.filter((c) => c.exe.startsWith(SKIFF_INIT_EXE) || c.exe === SKIFF).filter((c) => c.state !== "Z");
      expect(running).toEqual([]);
      expect(leftovers(root, id, bundle)).toEqual([]);
    } finally {
      forceDelete(root, id);
    }
  });

  test("control: a create that succeeds still runs the container", () => {
    const bundle = makeBundle({ args: ["/probe", "exit", "0"] });
    const id = uniqueId("early-init-ok");
    try {
      expect(skiff(["run", "-b", bundle, id], { root }).code).toBe(0);
      expect(leftovers(root, id, bundle)).toEqual([]);
    } finally {
      forceDelete(root, id);
    }
  });
});

