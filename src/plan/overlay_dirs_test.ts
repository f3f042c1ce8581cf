import { expect, test } from "bun:test";
import { absoluteOverlayOptions, splitUnescaped } from "./overlay_dirs";
import { compilePlan, type HostFacts } from "./compile";
import { defaultConfig } from "../config/default_config";
import { SpecError } from "../errors";

const B = { bundle: "/run/b", pointer: "/mounts/7/options" };

test("relative layer directories are the bundle's; absolute ones and other options are untouched", () => {
  expect(absoluteOverlayOptions(["lowerdir=a:/abs/b:c/d", "upperdir=u", "workdir=/w", "ro", "index=off", "userxattr"], B)).toEqual([
    "lowerdir=/run/b/a:/abs/b:/run/b/c/d",
    "upperdir=/run/b/u",
    "workdir=/w",
    "ro",
    "index=off",
    "userxattr",
  ]);
});

test("the procfs names of the reproduction become bundle paths", () => {
  expect(absoluteOverlayOptions(["lowerdir=self/root/etc:1/root/usr"], B)).toEqual(["lowerdir=/run/b/self/root/etc:/run/b/1/root/usr"]);
});

test("items hidden behind a comma in one option are rewritten too, as the kernel splits there", () => {
  expect(absoluteOverlayOptions(["ro,lowerdir=self/root/etc:x,upperdir=u"], B)).toEqual(["ro,lowerdir=/run/b/self/root/etc:/run/b/x,upperdir=/run/b/u"]);
});

test("escaped separators stay in their layer; the data-only '::' stays", () => {
  expect(absoluteOverlayOptions(["lowerdir=a\\:b:c::d"], B)).toEqual(["lowerdir=/run/b/a\\:b:/run/b/c::/run/b/d"]);
  expect(absoluteOverlayOptions(["lowerdir=a\\,b:c"], B)).toEqual(["lowerdir=/run/b/a\\,b:/run/b/c"]);
  expect(splitUnescaped("a\\:b:c::d", ":")).toEqual(["a\\:b", "c", "", "d"]);
});

test("newer kernels' lowerdir+ and datadir+ take one path each", () => {
  expect(absoluteOverlayOptions(["lowerdir+=l1", "lowerdir+=/l2", "datadir+=d"], B)).toEqual(["lowerdir+=/run/b/l1", "lowerdir+=/l2", "datadir+=/run/b/d"]);
});

test("a bundle path that would change the option's meaning is refused, naming the option", () => {
  const bad = { bundle: "/run/a:b", pointer: "/mounts/2/options" };
  expect(absoluteOverlayOptions(["lowerdir=/x:/y"], bad)).toEqual(["lowerdir=/x:/y"]); // nothing to resolve: fine
  let err: unknown;
  try {
    absoluteOverlayOptions(["ro", "upperdir=u"], bad);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SpecError);
  expect(String((err as Error).message)).toContain("/mounts/2/options/1");
  expect(String((err as Error).message)).toContain("resolve overlay upperdir against the bundle");
});

test("compilePlan gives skiff-init absolute overlay layers, and leaves a bind named overlay alone", () => {
  const host: HostFacts = { sourceKind: () => "dir", cgroup: { unified: true, cgroupNs: true, hierarchies: [] } };
  const spec = defaultConfig({ rootless: false });
  spec.mounts!.push({ destination: "/o", type: "overlay", source: "overlay", options: ["lowerdir=l1:l2", "upperdir=u", "workdir=w"] });
  spec.mounts!.push({ destination: "/p", type: "overlay", source: "src", options: ["rbind", "lowerdir=x"] });
  const ops = compilePlan(spec, { id: "c1", rootfs: "/b/rootfs", bundle: "/b", fifo: "/run/skiff/c1/exec.fifo", host });
  const mounts = ops.filter((o) => o.op === "mount") as { target: string; data: string; source: string }[];
  expect(mounts.find((m) => m.target === "/o")!.data).toBe("lowerdir=/b/l1:/b/l2,upperdir=/b/u,workdir=/b/w");
  expect(mounts.find((m) => m.target === "/p")!.source).toBe("/b/src");
});
