import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { needRunc, RUNC, skipWhy } from "../../test/skip";
import { defaultConfig } from "./default_config";
import { SPEC_VERSION } from "./types";


// `runc spec` writes config.json into the current directory.
function runcSpec(args: string[]): Record<string, unknown> {
  const dir = mkdtempSync(`${tmpdir()}/skiff-spec-`);
  try {
    const r = Bun.spawnSync([RUNC, "spec", ...args], { cwd: dir });
    if (r.exitCode !== 0) throw new Error(`runc spec ${args.join(" ")}: ${r.stderr.toString().trim()}`);
    return JSON.parse(readFileSync(`${dir}/config.json`, "utf8"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const rootless of [false, true]) {
  const name = `defaultConfig({rootless: ${rootless}}) matches runc spec${rootless ? " --rootless" : ""}`;
  test.skipIf(skipWhy(name, needRunc()))(name, () => {
    const theirs = runcSpec(rootless ? ["--rootless"] : []);
    const ours = defaultConfig({ rootless }) as unknown as Record<string, unknown>;
    // skiff states the spec version it implements; runc states its own
    expect(ours.ociVersion).toBe(SPEC_VERSION);
    const { ociVersion: _a, ...a } = ours;
    const { ociVersion: _b, ...b } = theirs;
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) expect({ key, v: a[key] }).toEqual({ key, v: b[key] });
  });
}

test("rootless config maps the given ids and drops what needs privilege", () => {
  const spec = defaultConfig({ rootless: true, uid: 1000, gid: 100 });
  expect(spec.linux?.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
  expect(spec.linux?.gidMappings).toEqual([{ containerID: 0, hostID: 100, size: 1 }]);
  expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual(["pid", "ipc", "uts", "mount", "user"]);
  expect(spec.linux?.resources).toBeUndefined();
  expect(spec.mounts?.find((m) => m.destination === "/sys")).toEqual({
    destination: "/sys",
    type: "none",
    source: "/sys",
    options: ["rbind", "nosuid", "noexec", "nodev", "ro"],
  });
  expect(spec.mounts?.find((m) => m.destination === "/dev/pts")?.options).not.toContain("gid=5");
});

test("each call returns a fresh object", () => {
  const a = defaultConfig({ rootless: false });
  a.process?.capabilities?.bounding?.push("CAP_SYS_ADMIN");
  expect(defaultConfig({ rootless: false }).process?.capabilities?.bounding).toEqual(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
});
