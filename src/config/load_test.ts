import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { SpecError } from "../errors";
import { defaultConfig } from "./default_config";
import { loadSpec } from "./load";

const dir = mkdtempSync(`${tmpdir()}/skiff-load-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bundle(name: string, text?: string): string {
  const b = `${dir}/${name}`;
  mkdirSync(b);
  if (text !== undefined) writeFileSync(`${b}/config.json`, text);
  return b;
}

function loadError(bundleDir: string, opts = {}): SpecError {
  try {
    loadSpec(bundleDir, opts);
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error("expected a SpecError");
}

test("loads a valid config and returns the raw text", () => {
  const text = JSON.stringify(defaultConfig({ rootless: false }), null, "\t");
  const b = bundle("ok", text);
  const { spec, raw } = loadSpec(b);
  expect(raw).toBe(text);
  expect(spec.process?.args).toEqual(["sh"]);
  expect(loadSpec(`${b}/`).raw).toBe(text);
});

test("a missing config.json names the path as given", () => {
  const b = bundle("empty");
  const err = loadError(b);
  expect(err.file).toBe(`${b}/config.json`);
  expect(err.issues).toEqual([{ pointer: "", message: `open ${b}/config.json: no such file or directory` }]);
  expect(err.message).toContain(`open ${b}/config.json: no such file or directory`);
});

test("invalid JSON is one issue at the root", () => {
  const err = loadError(bundle("badjson", "{]"));
  expect(err.issues).toHaveLength(1);
  expect(err.issues[0]!.pointer).toBe("");
  expect(err.issues[0]!.message).toStartWith("parse json: ");
});

test("validation issues are all reported", () => {
  const err = loadError(bundle("invalid", JSON.stringify({ ociVersion: 1, root: {}, process: { cwd: "x", user: { uid: 0, gid: 0 }, args: ["sh"] } })));
  expect(err.issues.map((i) => i.pointer)).toEqual(["/ociVersion", "/root/path", "/process/cwd"]);
  expect(err.message).toContain("(and 2 more)");
});

test("a process is required unless the caller says otherwise", () => {
  const b = bundle("noprocess", JSON.stringify({ ociVersion: "1.3.0", root: { path: "rootfs" } }));
  expect(loadError(b).issues).toEqual([{ pointer: "/process", message: "is required" }]);
  expect(loadSpec(b, { requireProcess: false }).spec.root?.path).toBe("rootfs");
});

// What `state`, `start` and `kill` pay at start-up: loading imports no
// package (no ajv, no schema compile) and only these modules. Its speed is
// measured by scripts/bench.ts, not asserted here.
test("loading imports nothing heavy: node builtins and four modules of its own", () => {
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const files = new Set<string>();
  const packages = new Set<string>();
  const walk = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const imp of transpiler.scanImports(readFileSync(file, "utf8"))) {
      if (!imp.path.startsWith(".")) packages.add(imp.path);
      else walk(resolve(dirname(file), imp.path.endsWith(".ts") ? imp.path : `${imp.path}.ts`));
    }
  };
  const src = resolve(import.meta.dir, "..");
  walk(join(src, "config/load.ts"));
  expect([...packages].filter((p) => !p.startsWith("node:"))).toEqual([]);
  expect([...files].map((f) => relative(src, f)).sort()).toEqual(["config/load.ts", "config/mount_options.ts", "config/tables.ts", "config/validate.ts", "errors.ts"]);
});
