// Differential: a container given a cgroup that already exists (an engine's
// pod cgroup, a leftover) is treated by skiff as by Debian's runc:
//   - frozen: refused with one line, never a hang;
//   - holding processes: used, with runc's warning in the log;
//   - a v1 cpuset parent without cpus/mems: filled from above, not ENOSPC;
//   - linux.devices do not open the device cgroup that resources.devices closed.
import { afterAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "bun";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/config/types";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { SKIFF, uniqueId, waitFor } from "../integration/skiff";
import { RUNC, needRoot, needRunc, skipWhy, needFile } from "../skip";
import { hostCgroupDir } from "./helpers";

afterAll(() => cleanupTempDirs());

type Runtime = "runc" | "skiff";
const RUNTIMES: Runtime[] = ["runc", "skiff"];
const HIERARCHIES = ["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd", "unified"];

interface Outcome {
  code: number;
  /** stderr and the --log file together: runc warns in one, skiff in both */
  said: string;
}

/** `RUNTIME --root R --log L ARGS`, killed after 20 s: a hang shows as code 137. */
function call(rt: Runtime, root: string, args: string[]): Outcome {
  const log = join(root, "log");
  const err = join(root, "stderr");
  const r = spawnSync([rt === "runc" ? RUNC : SKIFF, "--root", root, "--log", log, ...args], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: Bun.file(err),
    timeout: 20_000,
    killSignal: "SIGKILL",
  });
  const read = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : "");
  return { code: r.exitCode ?? 137, said: read(err) + read(log) };
}

function bundleWith(cgroupsPath: string, args: string[], mutate?: (s: Spec) => void): string {
  return makeBundle({
    args,
    mutate: (s) => {
      s.linux!.cgroupsPath = cgroupsPath;
      mutate?.(s);
    },
  });
}

/** Remove what a case made, deepest first, in every hierarchy (thawed first). */
function removeTree(paths: string[]): void {
  for (const p of [...paths].sort((a, b) => b.length - a.length)) {
    for (const h of HIERARCHIES) {
      const dir = hostCgroupDir(h, p);
      if (!existsSync(dir)) continue;
      if (existsSync(join(dir, "freezer.state"))) writeFileSync(join(dir, "freezer.state"), "THAWED");
      // a process of a failed run may still be on its way out (thawed just now)
      waitFor(() => readFileSync(join(dir, "cgroup.procs"), "utf8").trim() === "", 5000);
      try {
        rmdirSync(dir);
      } catch (e) {
        console.log(`reuse test: could not remove ${dir}: ${e}`);
      }
    }
  }
}

const why = skipWhy("existing cgroups: skiff vs runc", needRoot(), needRunc(), needFile("/sys/fs/cgroup/freezer/cgroup.procs", "a v1 freezer hierarchy"), needFile("/sys/fs/cgroup/cpuset/cgroup.procs", "a v1 cpuset hierarchy"));

describe.skipIf(why)("existing cgroups: skiff vs runc", () => {
  test("a frozen cgroup is refused at once with runc's message, and nothing is left", () => {
    for (const rt of RUNTIMES) {
      const path = uniqueId(`reuse-frozen-${rt}`);
      const frozen = hostCgroupDir("freezer", path);
      mkdirSync(frozen);
      writeFileSync(join(frozen, "freezer.state"), "FROZEN");
      const root = tempDir(`skiff-reuse-${rt}-`);
      try {
        const r = call(rt, root, ["run", "-d", "-b", bundleWith(path, ["/bin/true"]), path]);
        expect({ rt, code: r.code }).toEqual({ rt, code: 1 });
        expect(r.said).toContain("container's cgroup unexpectedly frozen");
        if (rt === "skiff") {
          // only the frozen directory the test made is still there
          for (const h of HIERARCHIES.filter((h) => h !== "freezer")) expect(existsSync(hostCgroupDir(h, path))).toBe(false);
          expect(call(rt, root, ["state", path]).code).not.toBe(0);
        }
      } finally {
        call(rt, root, ["delete", "-f", path]);
        removeTree([path]);
      }
    }
  }, 60_000);

  test("a cgroup that holds processes is used, with runc's warning", () => {
    for (const rt of RUNTIMES) {
      const path = uniqueId(`reuse-busy-${rt}`);
      const sleeper = spawn(["sleep", "60"], { stdio: ["ignore", "ignore", "ignore"] });
      const root = tempDir(`skiff-reuse-${rt}-`);
      try {
        for (const h of ["pids", "devices", "memory", "freezer"]) {
          mkdirSync(hostCgroupDir(h, path));
          writeFileSync(join(hostCgroupDir(h, path), "cgroup.procs"), String(sleeper.pid));
        }
        const r = call(rt, root, ["run", "-d", "-b", bundleWith(path, ["/bin/sleep", "30"]), path]);
        expect({ rt, code: r.code, said: r.said.includes("container's cgroup is not empty") }).toEqual({ rt, code: 0, said: true });
      } finally {
        call(rt, root, ["delete", "-f", path]);
        sleeper.kill("SIGKILL");
        spawnSync(["sh", "-c", `while kill -0 ${sleeper.pid} 2>/dev/null; do sleep 0.02; done`], { timeout: 5000 });
        removeTree([path]);
      }
    }
  }, 60_000);

  test("a v1 cpuset parent without cpus or mems (a pod cgroup) is filled from above", () => {
    for (const rt of RUNTIMES) {
      const pod = uniqueId(`reuse-pod-${rt}`);
      const podDir = hostCgroupDir("cpuset", pod);
      mkdirSync(podDir);
      // a fresh v1 cpuset is empty unless clone_children: make sure of it
      expect(readFileSync(join(podDir, "cpuset.cpus"), "utf8").trim()).toBe("");
      const path = `${pod}/ctr`;
      const root = tempDir(`skiff-reuse-${rt}-`);
      try {
        const r = call(rt, root, ["run", "-b", bundleWith(path, ["/bin/true"]), pod]);
        expect({ rt, code: r.code, said: r.said }).toEqual({ rt, code: 0, said: "" });
        const parent = readFileSync(join(podDir, "..", "cpuset.cpus"), "utf8").trim();
        expect(readFileSync(join(podDir, "cpuset.cpus"), "utf8").trim()).toBe(parent);
      } finally {
        call(rt, root, ["delete", "-f", pod]);
        removeTree([path, pod]);
      }
    }
  }, 60_000);

  test("linux.devices make the node, but a deny-all device cgroup still refuses it", () => {
    for (const rt of RUNTIMES) {
      const path = uniqueId(`reuse-kmsg-${rt}`);
      const root = tempDir(`skiff-reuse-${rt}-`);
      // opening /dev/kmsg for writing is enough to meet the device cgroup; nothing is written
      const bundle = bundleWith(path, ["/bin/sh", "-c", "(exec 3>/dev/kmsg) && echo open || echo refused"], (s) => {
        s.linux!.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o600, uid: 0, gid: 0 }];
        s.linux!.resources = { devices: [{ allow: false, access: "rwm" }] };
      });
      try {
        const out = join(root, "stdout");
        const r = spawnSync([rt === "runc" ? RUNC : SKIFF, "--root", root, "run", "-b", bundle, path], {
          stdin: "ignore",
          stdout: Bun.file(out),
          stderr: "pipe",
          timeout: 20_000,
        });
        expect({ rt, code: r.exitCode, out: readFileSync(out, "utf8").trim() }).toEqual({ rt, code: 0, out: "refused" });
        expect(r.stderr.toString()).toContain("Operation not permitted");
      } finally {
        call(rt, root, ["delete", "-f", path]);
        removeTree([path]);
      }
    }
  }, 60_000);
});
