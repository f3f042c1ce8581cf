// The D-Bus client stays off the path of state, start and kill: their
// static import graphs reach nothing in src/systemd/, and the commands that
// do use the driver reach only load.ts, which requires the driver when called.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "..");

/** Files reached through static value imports and re-exports (type-only imports and require() are not loads). */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^"';]*?\s+from\s+)?["'](\.[^"']+)["']/gm)) {
      const base = join(dirname(file), m[1]!);
      const target = [`${base}.ts`, join(base, "index.ts"), base].find((p) => existsSync(p) && p.endsWith(".ts"));
      if (target) walk(target);
    }
  };
  walk(entry);
  return seen;
}

const inSystemd = (files: Set<string>) => [...files].filter((f) => f.startsWith(join(SRC, "systemd") + "/")).map((f) => f.slice(SRC.length + 1));

describe("the systemd driver is loaded only where it is used", () => {
  for (const cmd of ["state", "start", "kill"]) {
    test(`${cmd} reaches nothing in src/systemd`, () => {
      const graph = staticGraph(join(SRC, "cli", `cmd_${cmd}.ts`));
      expect(graph.size).toBeGreaterThan(2);
      expect(inSystemd(graph)).toEqual([]);
    });
  }
  for (const cmd of ["create", "run", "delete", "update"]) {
    test(`${cmd} reaches only the loader`, () => {
      expect(inSystemd(staticGraph(join(SRC, "cli", `cmd_${cmd}.ts`)))).toEqual(["systemd/load.ts"]);
    });
  }
  test("the loader's only value import is the driver, by require at call time", () => {
    const text = readFileSync(join(SRC, "systemd", "load.ts"), "utf8");
    expect(text).not.toMatch(/^import\s+(?!type\s)/m);
    expect(text).toContain('require("./driver")');
  });
});
