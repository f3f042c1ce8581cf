// build/skiff-bpf on this host's cgroup2 hierarchy (the empty one of a hybrid
// layout works too: device programs apply to a task's cgroup2 cgroup). As
// root; the full container-level tests run in the VM (test/vm/).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { detectLayout } from "../../src/cgroups/layout";
import { deviceFilter, programHex } from "../../src/cgroups/devices_bpf";
import { attachDeviceFilter } from "../../src/cgroups/devices_attach";
import { needRoot, skipWhy } from "../skip";

const mount = detectLayout().hierarchies.find((h) => h.fstype === "cgroup2")?.mount;
const dir = mount ? join(mount, `skiff-devfilter-${process.pid}`) : "";

afterAll(() => {
  if (dir && existsSync(dir)) rmdirSync(dir);
});

/** Runs sh in the cgroup: moves itself in, then tries /dev/null and /dev/kmsg (c 1:11). */
function probe(): string {
  const script = `echo $$ > ${dir}/cgroup.procs || exit 9; (echo x > /dev/null && echo null=ok) 2>/dev/null || echo null=denied; (echo skiff-device-filter-test > /dev/kmsg && echo kmsg=ok) 2>/dev/null || echo kmsg=denied`;
  const r = Bun.spawnSync(["sh", "-c", script], { stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode).toBe(0);
  return r.stdout.toString().trim().split("\n").join(" ");
}

describe.skipIf(skipWhy("skiff-bpf attach-device-filter", needRoot(), mount ? null : "no cgroup2 hierarchy mounted"))("skiff-bpf attach-device-filter", () => {
  test("denies, then a new program replaces the old one", () => {
    mkdirSync(dir);
    attachDeviceFilter(dir, programHex(deviceFilter([{ allow: false, access: "rwm" }]).insns));
    expect(probe()).toBe("null=ok kmsg=denied");
    // with BPF_F_ALLOW_MULTI every attached program must allow: kmsg=ok proves the old one is gone
    attachDeviceFilter(dir, programHex(deviceFilter([{ allow: true, access: "rwm" }]).insns));
    expect(probe()).toBe("null=ok kmsg=ok");
    attachDeviceFilter(dir, programHex(deviceFilter([{ allow: false, access: "rwm" }]).insns));
    expect(probe()).toBe("null=ok kmsg=denied");
  });

  test("errors name the cause", () => {
    const missing = join(mount ?? "/", "skiff-no-such-cgroup");
    // not a cgroup2 directory: nothing to attach to (fake trees in unit tests)
    expect(() => attachDeviceFilter("/tmp", "b400000000000000" + "9500000000000000")).not.toThrow();
    expect(() => attachDeviceFilter(missing, "b400000000000000" + "9500000000000000")).toThrow(`/linux/resources/devices: open cgroup ${missing}: No such file or directory`);
    if (!existsSync(dir)) mkdirSync(dir);
    // a program the verifier refuses (no exit): the verifier's reason comes back
    expect(() => attachDeviceFilter(dir, "b400000000000000")).toThrow("/linux/resources/devices: load device filter program: Invalid argument: last insn is not an exit");
  });
});
