import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { PROCFS_ALLOW, PROCFS_REFUSE, PROCFS_SOURCE, compilePlan, procfsRule, type HostFacts } from "./compile";
import { normalizeDestination as normalize } from "../config/mount_options";
import { printPlan } from "./print";
import { encodePlan } from "./encode";
import { defaultConfig } from "../config/default_config";
import type { Spec } from "../config/types";

// A hybrid host like this one, without touching it.
const HOST: HostFacts = {
  sourceKind: (p) => (p.endsWith(".conf") ? "file" : p.includes("missing") ? "missing" : "dir"),
  cgroup: {
    unified: false,
    cgroupNs: true,
    hierarchies: [
      { dir: "cpu", fstype: "cgroup", options: "cpu", hostPath: "/sys/fs/cgroup/cpu/c1" },
      { dir: "systemd", fstype: "cgroup", options: "name=systemd", hostPath: "/sys/fs/cgroup/systemd/c1" },
      { dir: "unified", fstype: "cgroup2", options: "", hostPath: "/sys/fs/cgroup/unified/c1" },
    ],
  },
};
const OPTS = { id: "c1", cgroups: { v1: ["/sys/fs/cgroup/cpu/c1", "/sys/fs/cgroup/systemd/c1"], v2: "/sys/fs/cgroup/unified/c1" }, rootfs: "/b/rootfs", bundle: "/b", fifo: "/run/skiff/c1/exec.fifo", host: HOST };

// UPDATE_GOLDEN=1 rewrites a golden file instead of comparing with it. That
// run compares nothing, so it never passes: each golden test fails after
// writing ("rerun without UPDATE_GOLDEN"), and under CI it refuses to write.
function golden(name: string, text: string): void {
  const file = new URL(`./testdata/${name}.plan`, import.meta.url).pathname;
  if (process.env.UPDATE_GOLDEN) {
    if (process.env.CI) throw new Error(`golden ${name}: UPDATE_GOLDEN is set under CI; a golden file would be compared with itself`);
    writeFileSync(file, text);
    throw new Error(`golden ${name}: rewrote ${file}; nothing was compared: review the diff and rerun without UPDATE_GOLDEN`);
  }
  expect(text).toBe(readFileSync(file, "utf8"));
}

// runc's default config mounts cgroup at /sys/fs/cgroup; add a cgroup namespace.
function withCgroupNs(spec: Spec): Spec {
  spec.linux!.namespaces!.push({ type: "cgroup" });
  return spec;
}

test("runc's default config compiles to the golden plan", () => {
  golden("default", printPlan(compilePlan(withCgroupNs(defaultConfig({ rootless: false })), OPTS)));
});

test("a rootless config with joined namespaces, hooks and process attributes", () => {
  const spec = defaultConfig({ rootless: true, uid: 1000, gid: 1000 });
  spec.linux!.namespaces!.push({ type: "network", path: "/proc/1/ns/net" }, { type: "time" });
  spec.linux!.timeOffsets = { monotonic: { secs: 10 }, boottime: { secs: 5, nanosecs: 3 } };
  spec.hooks = { createRuntime: [{ path: "/bin/true" }], startContainer: [{ path: "/bin/hook", args: ["hook", "a"], timeout: 3 }] };
  spec.process!.oomScoreAdj = 100;
  spec.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 18446744073709551615 }];
  spec.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
  spec.mounts!.push({ destination: "/etc/app.conf", source: "app.conf", options: ["bind", "ro", "rprivate"] });
  golden("rootless", printPlan(compilePlan(spec, { ...OPTS, denySetgroups: true, noPivot: true, noNewKeyring: true, preserveFds: 2, foreground: true, subreaper: true })));
});

test("idmapped mounts: made in the parent stage, moved in after open_root", () => {
  const spec = defaultConfig({ rootless: false });
  spec.linux!.namespaces!.push({ type: "user" });
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const own = [{ containerID: 1000, hostID: 0, size: 1 }, { containerID: 0, hostID: 1000, size: 1 }];
  spec.mounts!.push(
    { destination: "/data", source: "/srv/data", options: ["rbind", "ridmap", "ro", "nosuid", "rnodev", "rprivate"], uidMappings: own, gidMappings: own },
    { destination: "/home", source: "home", options: ["bind", "idmap", "noatime"] },
    { destination: "/etc/app.conf", source: "/srv/app.conf", type: "bind", uidMappings: spec.linux!.uidMappings, gidMappings: spec.linux!.gidMappings },
  );
  const ops = compilePlan(spec, OPTS);
  golden("idmap", printPlan(ops));
  const at = (name: string) => ops.findIndex((o) => o.op === name);
  expect(at("close_userns")).toBeLessThan(at("clone"));
  expect(at("move_tree")).toBeGreaterThan(at("open_root"));
  // the same mapping (the container's, implied or spelt out) makes one user namespace
  expect(ops.filter((o) => o.op === "idmap_userns")).toHaveLength(2);
  expect(compilePlan(defaultConfig({ rootless: false }), OPTS).some((o) => o.op === "close_userns")).toBe(false);
});

test("idmap without mappings in a joined user namespace opens that namespace", () => {
  const spec = defaultConfig({ rootless: false });
  spec.linux!.namespaces!.push({ type: "user", path: "/proc/7/ns/user" });
  spec.mounts!.push({ destination: "/data", source: "/srv", options: ["bind", "idmap"] });
  const ops = compilePlan(spec, OPTS);
  expect(ops.find((o) => o.op === "open_userns")).toMatchObject({ slot: 0, path: "/proc/7/ns/user", origin: `/mounts/${spec.mounts!.length - 1}` });
  expect(ops.findIndex((o) => o.op === "open_userns")).toBeLessThan(ops.findIndex((o) => o.op === "setns"));
});

test("the user namespace is joined before the others", () => {
  const spec = defaultConfig({ rootless: false });
  spec.linux!.namespaces = [
    { type: "network", path: "/proc/5/ns/net" },
    { type: "user", path: "/proc/5/ns/user" },
    { type: "mount" },
  ];
  const ops = compilePlan(spec, OPTS).filter((o) => o.op === "setns");
  expect(ops.map((o) => o.origin)).toEqual(["/linux/namespaces/1", "/linux/namespaces/0"]);
});

test("ambient capabilities are limited to permitted and inheritable ones", () => {
  const spec = defaultConfig({ rootless: false });
  spec.process!.capabilities = { permitted: ["CAP_KILL", "CAP_CHOWN"], inheritable: ["CAP_KILL"], ambient: ["CAP_KILL", "CAP_CHOWN"] };
  const capset = compilePlan(spec, OPTS).find((o) => o.op === "capset")!;
  expect(capset.op === "capset" && capset.ambient).toBe(1n << 5n);
});

test("a target on procfs is refused except where the spec's own /proc mounts go (runc's checkProcMount)", () => {
  expect(procfsRule("/proc", { bind: false, type: "proc" })).toBe(PROCFS_ALLOW);
  expect(procfsRule("/proc", { bind: true })).toBe(PROCFS_SOURCE); // only a procfs may be bound there
  expect(procfsRule("/proc", { bind: false, type: "tmpfs" })).toBe(PROCFS_REFUSE);
  expect(procfsRule("/proc/cpuinfo", { bind: true })).toBe(PROCFS_ALLOW); // lxcfs
  expect(procfsRule("/proc/sys/kernel/ns_last_pid", { bind: true })).toBe(PROCFS_ALLOW);
  expect(procfsRule("/proc/sys/kernel", { bind: true })).toBe(PROCFS_REFUSE);
  expect(procfsRule("/data", { bind: true })).toBe(PROCFS_REFUSE); // data -> /proc/self in the image
  const spec = defaultConfig({ rootless: false });
  spec.mounts!.push(
    { destination: "/proc/", type: "proc", source: "proc" },
    { destination: "/srv/sys", type: "sysfs", source: "sysfs" },
    { destination: "/sys", type: "bind", source: "/sys", options: ["rbind"] },
    { destination: "/data", type: "bind", source: "/srv/data", options: ["rbind"] },
  );
  const ops = compilePlan(spec, OPTS);
  // proc and sysfs, and whatever goes at /proc or /sys: no symlink on the way.
  const plain = ops.filter((o) => o.op === "plain_dir").map((o) => o.op === "plain_dir" && o.path);
  expect(plain).toEqual(["/proc", "/sys", "/proc", "/srv/sys", "/sys"]);
  const mounts = ops.filter((o) => o.op === "mount" && (o.target === "/data" || o.target === "/proc"));
  expect(mounts.map((o) => o.op === "mount" && o.procfs)).toEqual([PROCFS_ALLOW, PROCFS_ALLOW, PROCFS_REFUSE]);
});

test("destinations are normalised lexically", () => {
  expect(normalize("/dev/../proc/")).toBe("/proc");
  expect(normalize("a//b/./c")).toBe("/a/b/c");
  expect(normalize("/../../etc")).toBe("/etc");
});

test("the binary encoding starts with the magic and op count", () => {
  const bytes = encodePlan(compilePlan(defaultConfig({ rootless: false }), OPTS));
  const view = new DataView(bytes.buffer);
  expect(view.getUint32(0, true)).toBe(0x31504b53);
  expect(view.getUint32(4, true)).toBeGreaterThan(20);
});
