import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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

test("loading stays fast (no heavy imports, no schema compile)", () => {
  const b = `${dir}/ok`;
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) loadSpec(b);
  expect((performance.now() - t0) / 200).toBeLessThan(2);
});
