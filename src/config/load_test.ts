import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { SpecError } from "../errors";
import { defaultConfig } from "./default_config";
import { loadSpec } from "./load";
import type { Spec } from "./types";
import { dropUnknownDeviceAccess } from "./validate";

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
test("loading imports nothing heavy: node builtins and a few light modules of its own", () => {
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
  expect([...files].map((f) => relative(src, f)).sort()).toEqual(["config/load.ts", "config/mount_options.ts", "config/proc_mounts.ts", "config/tables.ts", "config/validate.ts", "errors.ts", "util/log.ts", "util/output.ts", "util/printable.ts"]);
});

test("null for a member is read as absent, in config.json as runc, crun and youki read it", () => {
  const c = defaultConfig({ rootless: false }) as unknown as Record<string, any>;
  c.hooks = null;
  c.annotations = null;
  c.process.rlimits = null;
  c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", flags: null, syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", args: null }] };
  const { spec } = loadSpec(bundle("nulls", JSON.stringify(c)));
  expect("hooks" in spec).toBe(false);
  expect("rlimits" in spec.process!).toBe(false);
  expect(spec.linux!.seccomp).toEqual({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
});

test("a required member that is null is reported missing", () => {
  const c = defaultConfig({ rootless: false }) as unknown as Record<string, any>;
  c.process.cwd = null;
  c.root.path = null;
  expect(loadError(bundle("nullrequired", JSON.stringify(c))).issues).toEqual([
    { pointer: "/root/path", message: "is required" },
    { pointer: "/process/cwd", message: "is required" },
  ]);
});

type Rule = { allow: boolean; type?: string; major?: number; minor?: number; access?: string };

function withDevices(devices: Rule[]): Spec {
  const c = defaultConfig({ rootless: false });
  c.linux!.resources = { devices };
  return c;
}

const accessOf = (c: Spec) => (c.linux!.resources!.devices as Rule[]).map((d) => d.access);

test("device access letters other than r, w, m are dropped from the rule, with a warning at the pointer", () => {
  const devices = [
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 1, minor: 11, access: "rwa" },
    { allow: true, type: "c", major: 1, minor: 12, access: "mxw" },
  ];
  const c = withDevices(structuredClone(devices));
  const warnings = dropUnknownDeviceAccess(c);
  expect(warnings.map((w) => w.pointer)).toEqual(["/linux/resources/devices/1/access", "/linux/resources/devices/2/access"]);
  expect(warnings[0]!.message).toContain('"rwa"');
  expect(accessOf(c)).toEqual(["rwm", "rw", "wm"]);

  const b = bundle("devaccess", JSON.stringify(withDevices(devices)));
  expect(accessOf(loadSpec(b, { warn: false }).spec)).toEqual(["rwm", "rw", "wm"]);
});

test("device access with none of r, w, m stays invalid", () => {
  const c = withDevices([{ allow: true, type: "c", major: 1, minor: 11, access: "a" }]);
  expect(dropUnknownDeviceAccess(c)).toEqual([]);
  expect(loadError(bundle("devaccess-a", JSON.stringify(c))).issues).toEqual([
    { pointer: "/linux/resources/devices/0/access", message: 'invalid device access "a": use the letters r, w and m' },
  ]);
});
