import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../config/default_config";
import { SpecError } from "../errors";
import { checkProcBindSources } from "./proc_bind_source";

const dir = mkdtempSync(join(tmpdir(), "skiff-procbind-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(source: string, opts: { bundle?: string } = {}): string | undefined {
  const spec = defaultConfig({ rootless: false });
  spec.mounts!.push({ destination: "/proc", type: "bind", source, options: ["rbind"] });
  try {
    checkProcBindSources(spec, opts.bundle ?? dir);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
}

test("a procfs may be bound onto /proc (its root or a part of it, as runc allows)", () => {
  expect(refusal("/proc")).toBeUndefined();
  expect(refusal("/proc/self")).toBeUndefined();
});

test("anything else bound onto /proc is refused at its pointer, before anything is made", () => {
  const n = defaultConfig({ rootless: false }).mounts!.length;
  expect(refusal(dir)).toBe(
    `invalid ${join(dir, "config.json")}: /mounts/${n}: mount ${dir} on /proc: the source is not procfs (only a procfs may be bound onto /proc)`,
  );
  expect(refusal("/sys")).toContain("the source is not procfs");
  // A relative source is the bundle's, as for every bind.
  expect(refusal(".", { bundle: dir })).toContain(`mount ${join(dir, ".")} on /proc`);
});

test("a missing source is left to the bind itself, which names it", () => {
  expect(refusal(join(dir, "missing"))).toBeUndefined();
});

test("binds elsewhere and proc mounts are not its business", () => {
  const spec = defaultConfig({ rootless: false });
  spec.mounts!.push({ destination: "/data", type: "bind", source: dir, options: ["rbind"] });
  expect(() => checkProcBindSources(spec, dir)).not.toThrow();
});
