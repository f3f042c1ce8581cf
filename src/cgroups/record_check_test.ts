// state.json's cgroup record names only clean paths on cgroup file systems.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cgroupRecordProblem } from "./record_check";
import { detectLayout } from "./layout";

const GONE = "/sys/fs/cgroup/memory/skiff-no-such-cgroup-for-this-test";

describe("cgroupRecordProblem", () => {
  test("a record skiff writes passes (missing directories are fine: nothing is written there)", () => {
    expect(cgroupRecordProblem({ paths: { memory: GONE }, created: [GONE], freezer: undefined })).toBeUndefined();
    expect(cgroupRecordProblem({ paths: {}, created: [] })).toBeUndefined();
  });

  test("a real cgroup directory passes; the root of a hierarchy does not", () => {
    const h = detectLayout().hierarchies.find((x) => readdirSync(x.mount, { withFileTypes: true }).some((e) => e.isDirectory()));
    expect(h).toBeDefined();
    const child = readdirSync(h!.mount, { withFileTypes: true }).find((e) => e.isDirectory())!.name;
    expect(cgroupRecordProblem({ paths: { [h!.name]: join(h!.mount, child) }, created: [] })).toBeUndefined();
    expect(cgroupRecordProblem({ paths: { [h!.name]: h!.mount }, created: [] })).toBe(`cgroup.paths.${h!.name}: ${JSON.stringify(h!.mount)} is the root of a cgroup hierarchy`);
  });

  test("shapes skiff never writes are refused", () => {
    expect(cgroupRecordProblem(null)).toBe("cgroup: not an object");
    expect(cgroupRecordProblem({ paths: [], created: [] })).toBe("cgroup.paths: not an object");
    expect(cgroupRecordProblem({ paths: {} })).toBe("cgroup.created: not an array");
    expect(cgroupRecordProblem({ paths: { memory: 5 }, created: [] })).toBe("cgroup.paths.memory: not a string");
    expect(cgroupRecordProblem({ paths: { memory: GONE }, created: [], freezer: "/sys/fs/cgroup/freezer/x" })).toBe("cgroup.freezer: not one of cgroup.paths");
  });

  test("paths that are not clean and absolute are refused", () => {
    for (const p of ["relative/x", "/sys/fs/cgroup/memory/../../../../tmp/x", "/sys/fs/cgroup//memory/x", "/sys/fs/cgroup/memory/x/", "/", "/a\0b"]) {
      expect(cgroupRecordProblem({ paths: { memory: p }, created: [] })).toBe(`cgroup.paths.memory: ${JSON.stringify(p)} is not a clean absolute path`);
    }
  });

  test("a directory on another file system is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "skiff-record-"));
    try {
      expect(cgroupRecordProblem({ paths: { memory: dir }, created: [] })).toBe(`cgroup.paths.memory: ${JSON.stringify(dir)} is not on a cgroup file system`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('"status" checks on disk only the freezer a status command reads; "none" nothing; both still check the shape', () => {
    const dir = mkdtempSync(join(tmpdir(), "skiff-record-"));
    try {
      const memoryElsewhere = { paths: { memory: dir, freezer: GONE }, created: [dir], freezer: GONE };
      expect(cgroupRecordProblem(memoryElsewhere)).toBe(`cgroup.paths.memory: ${JSON.stringify(dir)} is not on a cgroup file system`);
      expect(cgroupRecordProblem(memoryElsewhere, "status")).toBeUndefined();
      const freezerElsewhere = { paths: { freezer: dir }, created: [], freezer: dir };
      expect(cgroupRecordProblem(freezerElsewhere, "status")).toBe(`cgroup.paths.freezer: ${JSON.stringify(dir)} is not on a cgroup file system`);
      expect(cgroupRecordProblem({ paths: { unified: dir }, created: [], unified: dir }, "status")).toContain("is not on a cgroup file system");
      expect(cgroupRecordProblem(freezerElsewhere, "none")).toBeUndefined();
      for (const mode of ["status", "none"] as const) {
        expect(cgroupRecordProblem({ paths: { memory: `${GONE}/../../x` }, created: [] }, mode)).toContain("is not a clean absolute path");
        expect(cgroupRecordProblem({ paths: { memory: GONE }, created: ["/sys/fs/cgroup/memory/other"] }, mode)).toContain("is no leaf's ancestor");
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("created directories must lie on the way to a recorded cgroup", () => {
    expect(cgroupRecordProblem({ paths: { memory: `${GONE}/a` }, created: [GONE, `${GONE}/a`] })).toBeUndefined();
    expect(cgroupRecordProblem({ paths: { memory: GONE }, created: ["/sys/fs/cgroup/memory/other"] })).toBe(`cgroup.created[0]: "/sys/fs/cgroup/memory/other" is no leaf's ancestor`);
    expect(cgroupRecordProblem({ paths: { memory: `${GONE}x` }, created: [GONE] })).toContain("is no leaf's ancestor");
  });
});
