import { describe, expect, test } from "bun:test";
import { SpecError } from "../errors";
import { expandSlice, systemdUnitPath } from "./unit_path";

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  throw new Error("not refused");
}

describe("expandSlice (runc's and systemd's nesting by dashes)", () => {
  test("one level", () => expect(expandSlice("system.slice")).toBe("/system.slice"));
  test("nested by dashes", () => expect(expandSlice("a-b-c.slice")).toBe("/a.slice/a-b.slice/a-b-c.slice"));
  test("kubelet's pod slices", () =>
    expect(expandSlice("kubepods-besteffort-pod123.slice")).toBe("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice"));
  test("-.slice is the root", () => expect(expandSlice("-.slice")).toBe("/"));
  for (const bad of ["", ".slice", "system", "a/b.slice", "a--b.slice", "-a.slice", "a-.slice", "a b.slice"]) {
    test(`refuses ${JSON.stringify(bad)}`, () => expect(refusal(() => expandSlice(bad))).toContain("/linux/cgroupsPath"));
  }
});

describe("systemdUnitPath", () => {
  test("empty path: system.slice:skiff:ID", () => {
    const want = { slice: "system.slice", unit: "skiff-abc.scope", cgroup: "/system.slice/skiff-abc.scope" };
    expect(systemdUnitPath(undefined, "abc")).toEqual(want);
    expect(systemdUnitPath("", "abc")).toEqual(want);
  });
  test("docker's form", () =>
    expect(systemdUnitPath("system.slice:docker:1234", "x")).toEqual({ slice: "system.slice", unit: "docker-1234.scope", cgroup: "/system.slice/docker-1234.scope" }));
  test("containerd's CRI form, nested slice", () =>
    expect(systemdUnitPath("kubepods-besteffort-pod123.slice:cri-containerd:ID", "x")).toEqual({
      slice: "kubepods-besteffort-pod123.slice",
      unit: "cri-containerd-ID.scope",
      cgroup: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice/cri-containerd-ID.scope",
    }));
  test("an empty slice is system.slice", () => expect(systemdUnitPath(":p:n", "x").cgroup).toBe("/system.slice/p-n.scope"));
  test("the root slice", () => expect(systemdUnitPath("-.slice:p:n", "x")).toEqual({ slice: "-.slice", unit: "p-n.scope", cgroup: "/p-n.scope" }));
  test("an empty prefix gives runc's -NAME.scope", () => expect(systemdUnitPath("system.slice::n", "x").unit).toBe("-n.scope"));

  const refused: [string, string][] = [
    ["/docker/abc", 'expected "slice:prefix:name"'],
    ["system.slice:docker", 'expected "slice:prefix:name"'],
    ["a:b:c:d", 'expected "slice:prefix:name"'],
    ["system:docker:abc", "invalid slice name"],
    ["system.slice/x.slice:docker:abc", "invalid slice name"],
    ["system.slice:docker:", "name part"],
    ["system.slice:docker:pod.slice", "must be a scope"],
    ["system.slice:docker:a b", "invalid unit name"],
    ["system.slice:docker:" + "x".repeat(250), "longer than 255"],
  ];
  for (const [path, why] of refused) {
    test(`refuses ${JSON.stringify(path.slice(0, 40))} in one line naming /linux/cgroupsPath`, () => {
      const msg = refusal(() => systemdUnitPath(path, "id"));
      expect(msg).toContain("invalid config.json: /linux/cgroupsPath: ");
      expect(msg).toContain(why);
      expect(msg).not.toContain("\n");
    });
  }
});
