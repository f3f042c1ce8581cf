import { expect, test } from "bun:test";
import { defaultConfig } from "./default_config";
import { LXCFS_FILES, procDestinationProblem } from "./proc_mounts";
import { validateSpec } from "./validate";

const ok = (m: { destination: string; type?: string; options?: string[] }) => procDestinationProblem(m) === undefined;

test("on /proc: a proc mount or a bind (whose source skiff-init checks), nothing else", () => {
  expect(ok({ destination: "/proc", type: "proc" })).toBe(true);
  expect(ok({ destination: "/proc/", type: "proc" })).toBe(true);
  expect(ok({ destination: "/proc", type: "bind" })).toBe(true);
  expect(ok({ destination: "/proc", type: "none", options: ["rbind"] })).toBe(true);
  expect(procDestinationProblem({ destination: "/proc", type: "tmpfs" })).toBe(
    "mount tmpfs on /proc: not of type proc (only a proc mount or a bind of a procfs may go there)",
  );
  for (const type of ["sysfs", "devpts", "overlay", "cgroup2", undefined]) expect(ok({ destination: "/proc", type })).toBe(false);
  // Lexically the same place: cleaned as runc's filepath.Join cleans it.
  expect(ok({ destination: "/dev/../proc", type: "tmpfs" })).toBe(false);
  expect(ok({ destination: "proc", type: "tmpfs" })).toBe(false);
  expect(ok({ destination: "//proc/.", type: "tmpfs" })).toBe(false);
});

test("inside /proc: only the files lxcfs emulates, whatever the type", () => {
  for (const f of LXCFS_FILES) expect(ok({ destination: f, type: "bind" })).toBe(true);
  expect(ok({ destination: "/proc/cpuinfo", type: "fuse.lxcfs" })).toBe(true);
  expect(ok({ destination: "/proc/net/../meminfo", type: "bind" })).toBe(true);
  expect(procDestinationProblem({ destination: "/proc/sys", type: "bind", options: ["rbind"] })).toBe(
    "mount bind on /proc/sys: it is inside /proc (only the files lxcfs emulates, such as /proc/cpuinfo, may be covered)",
  );
  for (const d of ["/proc/sys/kernel", "/proc/self", "/proc/1/root", "/proc/net", "/proc/cpuinfo/x", "/proc/sys/kernel/ns_last_pid/.."]) {
    expect(ok({ destination: d, type: "bind" })).toBe(false);
  }
  expect(ok({ destination: "/proc/sys", type: "proc" })).toBe(false);
  expect(ok({ destination: "/proc/foo", type: "tmpfs" })).toBe(false);
});

test("outside /proc: not this rule's business", () => {
  for (const d of ["/", "/procfs", "/proc2/sys", "/mnt/proc", "/sys", "/proc/../etc"]) expect(ok({ destination: d, type: "tmpfs" })).toBe(true);
  expect(ok({ destination: "/mnt/proc", type: "proc" })).toBe(true);
});

test("validation reports each refused mount at its pointer, and accepts the default config", () => {
  const spec = defaultConfig({ rootless: false });
  expect(validateSpec(spec)).toEqual([]);
  spec.mounts!.push(
    { destination: "/proc", type: "tmpfs", source: "tmpfs" },
    { destination: "/proc/cpuinfo", type: "bind", source: "/srv/cpuinfo", options: ["bind"] },
    { destination: "/proc/sys", type: "bind", source: "/srv", options: ["rbind"] },
  );
  const n = spec.mounts!.length;
  expect(validateSpec(spec).map((i) => `${i.pointer}: ${i.message}`)).toEqual([
    `/mounts/${n - 3}: mount tmpfs on /proc: not of type proc (only a proc mount or a bind of a procfs may go there)`,
    `/mounts/${n - 1}: mount bind on /proc/sys: it is inside /proc (only the files lxcfs emulates, such as /proc/cpuinfo, may be covered)`,
  ]);
});
