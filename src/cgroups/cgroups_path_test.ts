// linux.cgroupsPath is cleaned as runc's CleanPath cleans it and can never
// name a directory outside the cgroup hierarchy it is joined to.
import { describe, expect, test } from "bun:test";
import { SpecError } from "../errors";
import { cgroupDir, checkCgroupsPath, cleanCgroupsPath, isBelow } from "./cgroups_path";
import type { Hierarchy } from "./layout";

const MEMORY: Hierarchy = { name: "memory", mount: "/sys/fs/cgroup/memory", fstype: "cgroup", options: "memory", key: "memory" };
const OWN = new Map([["memory", "/user.slice/session-1.scope"]]);
const dir = (p: string, own = OWN) => cgroupDir(MEMORY, { cgroupsPath: p, own, file: "b/config.json" });

describe("cleanCgroupsPath", () => {
  test("absolute: '..' stops at the root, as Go's filepath.Clean", () => {
    expect(cleanCgroupsPath("/../../../../../../tmp/x")).toBe("/tmp/x");
    expect(cleanCgroupsPath("//a//b/./c/")).toBe("/a/b/c");
    expect(cleanCgroupsPath("/a/../..")).toBe("/");
    expect(cleanCgroupsPath("/")).toBe("/");
  });
  test("relative: cleaned as if absolute, so it cannot climb out of its base", () => {
    expect(cleanCgroupsPath("../../../x")).toBe("x");
    expect(cleanCgroupsPath("a/../../b")).toBe("b");
    expect(cleanCgroupsPath("a/b/")).toBe("a/b");
    expect(cleanCgroupsPath("..")).toBe(".");
    expect(cleanCgroupsPath("a/..")).toBe(".");
  });
});

describe("cgroupDir", () => {
  test("the issue's path lands below the hierarchy, where runc puts it", () => {
    expect(dir("/../../../../../../tmp/x")).toBe("/sys/fs/cgroup/memory/tmp/x");
  });
  test("relative paths stay below this process's own cgroup", () => {
    expect(dir("../../../x")).toBe("/sys/fs/cgroup/memory/user.slice/session-1.scope/x");
    expect(dir("ctr")).toBe("/sys/fs/cgroup/memory/user.slice/session-1.scope/ctr");
  });
  test("an own cgroup that climbs out (as a cgroup namespace can show it) is refused", () => {
    const own = new Map([["memory", "/../../.."]]);
    expect(() => dir("x", own)).toThrow(SpecError);
    expect(() => dir("x", own)).toThrow(/\/linux\/cgroupsPath: "x" leads to \/sys\/x, outside the cgroup hierarchy at \/sys\/fs\/cgroup\/memory/);
  });
  test("isBelow is strict and lexical", () => {
    expect(isBelow("/m/a", "/m")).toBe(true);
    expect(isBelow("/m", "/m")).toBe(false);
    expect(isBelow("/mx/a", "/m")).toBe(false);
    expect(isBelow("/m/a/../../x", "/m")).toBe(false);
  });
});

describe("checkCgroupsPath", () => {
  const msg = (p: string) => {
    try {
      checkCgroupsPath(p, "b/config.json");
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  };
  test("the root of the hierarchy is refused, naming the field", () => {
    for (const p of ["/", "/..", "//", "/a/../..", "/./."]) {
      expect(msg(p)).toBe(`invalid b/config.json: /linux/cgroupsPath: ${JSON.stringify(p)} names the root of the cgroup hierarchy: give the container a cgroup of its own`);
    }
  });
  test("a relative path naming skiff's own cgroup is refused", () => {
    for (const p of ["..", ".", "a/..", "../..", "./"]) expect(msg(p)).toContain("names the cgroup skiff runs in");
  });
  test("ordinary paths pass", () => {
    for (const p of ["/docker/abc", "abc", "/../../tmp/x", "a/b/c"]) expect(msg(p)).toBe("");
  });
});
