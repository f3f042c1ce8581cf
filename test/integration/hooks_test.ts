// OCI lifecycle hooks through skiff's CLI: all six kinds, their state on
// stdin, args and env, timeouts, and what a failing hook does.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, skipWhy } from "../skip";
import type { Hook, Hooks, Spec } from "../../src/config/types";
import { alive, allPids, forceDelete, leftovers, procCmdline, skiff, uniqueId, waitFor } from "./skiff";

describe.skipIf(skipWhy("test/integration/hooks_test.ts", needRoot()))("hooks", () => {
  let root = "";
  const made: { id: string; bundle: string }[] = [];

  beforeAll(() => {
    root = tempDir("skiff-hooks-root-");
  });
  afterEach(() => {
    for (const { id } of made.splice(0)) forceDelete(root, id);
  });
  afterAll(() => {
    cleanupTempDirs();
  });

  const HOOK_NAMES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;
  type HookName = (typeof HOOK_NAMES)[number];
  const IN_CONTAINER = "/markers"; // where startContainer hooks see the marker dir

  /**
   * A hook that records its stdin, its whole argv (from /proc/self/cmdline,
   * so argv[0] too) and its environment into DIR/NAME.*, and appends NAME
   * to DIR/order.
   */
  function recordingHook(name: string, dir: string, extra: { fail?: boolean } = {}): Hook {
    const script =
      // The shell's argv from /proc, by its pid in /proc's own namespace (the
      // parent of a subshell's awk): createContainer hooks run in the
      // container's pid namespace with the host's /proc still mounted.
      `cat > ${dir}/${name}.state; me=$(awk '/^PPid:/ {print $2}' /proc/self/status); ` +
      `tr '\\000' '\\n' < /proc/$me/cmdline > ${dir}/${name}.args; ` +
      `env > ${dir}/${name}.env; echo ${name} >> ${dir}/order` +
      (extra.fail ? `; echo "boom from ${name}" >&2; exit 3` : "");
    return { path: "/bin/sh", args: [argv0(name), "-c", script, "zero", "one", "two words"], env: [`HOOK_NAME=${name}`, "FOO=bar baz"] };
  }

  // busybox (the container's /bin/sh) picks its applet by argv[0]; dash does not care.
  function argv0(name: string): string {
    return name.startsWith("startContainer") ? "sh" : `hook-${name}`;
  }

  function read(dir: string, file: string): string {
    return readFileSync(join(dir, file), "utf8");
  }

  function newContainer(prefix: string, args: string[], hooks: (marks: string) => Hooks, mutate?: (s: Spec) => void) {
    const marks = tempDir("skiff-hooks-marks-");
    const id = uniqueId(prefix);
    const bundle = makeBundle({
      args,
      mutate: (s) => {
        s.mounts!.push({ destination: IN_CONTAINER, type: "bind", source: marks, options: ["rbind", "rw"] });
        s.hooks = hooks(marks);
        mutate?.(s);
      },
    });
    made.push({ id, bundle });
    return { id, bundle, marks };
  }

  function state(id: string): Record<string, unknown> {
    const r = skiff(["state", id], { root });
    if (r.code !== 0) throw new Error(`state ${id}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  describe("all six hooks", () => {
    test("each runs once, in order, with the state on stdin, its args and its env", () => {
      const c = newContainer("hk-all", ["/probe", "sleep", "30"], (marks) => {
        const h: Hooks = {};
        for (const name of HOOK_NAMES) h[name] = [recordingHook(name, name === "startContainer" ? IN_CONTAINER : marks)];
        return h;
      });
      const cr = skiff(["create", "-b", c.bundle, c.id], { root });
      expect(cr.stderr).toBe("");
      expect(cr.code).toBe(0);
      const pid = state(c.id).pid as number;
      expect(read(c.marks, "order").split("\n").filter(Boolean)).toEqual(["prestart", "createRuntime", "createContainer"]);

      const st = skiff(["start", c.id], { root });
      expect(st.stderr).toBe("");
      expect(st.code).toBe(0);
      // startContainer runs in the container after start released it (as in
      // runc), so it may finish after poststart: only the first three are ordered.
      expect(waitFor(() => existsSync(join(c.marks, "poststart.state")) && existsSync(join(c.marks, "startContainer.env")))).toBe(true);
      expect(waitFor(() => read(c.marks, "order").split("\n").filter(Boolean).length === 5)).toBe(true);
      const order = read(c.marks, "order").split("\n").filter(Boolean);
      expect(order.slice(0, 3)).toEqual(["prestart", "createRuntime", "createContainer"]);
      expect(order.slice(3).sort()).toEqual(["poststart", "startContainer"]);

      expect(skiff(["kill", c.id, "KILL"], { root }).code).toBe(0);
      expect(waitFor(() => state(c.id).status === "stopped")).toBe(true);
      const del = skiff(["delete", c.id], { root });
      expect(del.stderr).toBe("");
      expect(del.code).toBe(0);
      const all = read(c.marks, "order").split("\n").filter(Boolean);
      expect(all.length).toBe(6);
      expect(all[5]).toBe("poststop");
      expect([...all].sort()).toEqual([...HOOK_NAMES].sort());
      expect(leftovers(root, c.id, c.bundle)).toEqual([]);

      for (const name of HOOK_NAMES) {
        const s = JSON.parse(read(c.marks, `${name}.state`)) as Record<string, unknown>;
        expect({ name, id: s.id }).toEqual({ name, id: c.id });
        expect({ name, ociVersion: typeof s.ociVersion }).toEqual({ name, ociVersion: "string" });
        // The container's pid as the host sees it, where the spec requires
        // one (status created or running: all but poststop).
        if (name !== "poststop") expect({ name, pid: s.pid }).toEqual({ name, pid });
        expect({ name, bundle: s.bundle }).toEqual({ name, bundle: c.bundle });
        const want: Record<HookName, string[]> = {
          prestart: ["creating", "created"],
          createRuntime: ["creating", "created"],
          createContainer: ["creating", "created"],
          startContainer: ["created"],
          poststart: ["running", "created"],
          poststop: ["stopped"],
        };
        expect({ name, status: want[name].includes(s.status as string) }).toEqual({ name, status: true });

        expect({ name, args: read(c.marks, `${name}.args`).split("\n").slice(0, -1).filter((_, i) => i !== 2) }).toEqual({
          name,
          args: [argv0(name), "-c", "zero", "one", "two words"],
        });
        const env = read(c.marks, `${name}.env`).split("\n");
        expect({ name, env: env.includes(`HOOK_NAME=${name}`) && env.includes("FOO=bar baz") }).toEqual({ name, env: true });
      }
    });
  });

  describe("failing hooks", () => {
    for (const name of ["prestart", "createRuntime", "createContainer"] as const) {
      test(`a failing ${name} hook fails create, names the hook, leaves nothing`, () => {
        const c = newContainer(`hk-fail-${name}`, ["/probe", "sleep", "30"], (marks) => ({
          [name]: [recordingHook(`${name}-ok`, marks), recordingHook(name, marks, { fail: true })],
        }));
        const r = skiff(["create", "-b", c.bundle, c.id], { root });
        expect(r.code).not.toBe(0);
        const lines = r.stderr.trimEnd().split("\n");
        expect(lines.length).toBe(1);
        expect(lines[0]).toContain(name);
        expect(lines[0]).toContain(`/hooks/${name}/1`);
        expect(lines[0]).toContain("boom from");
        // The first hook ran, the second failed: nothing after it.
        expect(read(c.marks, "order").split("\n").filter(Boolean)).toEqual([`${name}-ok`, name]);
        expect(leftovers(root, c.id, c.bundle)).toEqual([]);
      });
    }

    test("a hung hook is killed at its timeout and create fails clearly", () => {
      const marker = `hung-hook-${uniqueId("t")}`;
      const c = newContainer("hk-timeout", ["/probe", "sleep", "30"], () => ({
        // A child of the hook that would outlive it, with the marker in its command line.
        createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", `sh -c 'sleep 100; : ${marker}' & wait; : ${marker}`], timeout: 1 }],
      }));
      const t0 = Date.now();
      const r = skiff(["create", "-b", c.bundle, c.id], { root, timeoutMs: 40_000 });
      const took = Date.now() - t0;
      expect(r.code).not.toBe(0);
      expect(took).toBeLessThan(15_000);
      expect(r.stderr).toContain("timed out");
      expect(r.stderr).toContain("/hooks/createRuntime/0");
      expect(r.stderr.trimEnd().split("\n").length).toBe(1);
      expect(leftovers(root, c.id, c.bundle)).toEqual([]);
      // The hook's shell is gone, and so is the child it started: the whole
      // process group ends at the timeout.
      expect(waitFor(() => !allPids().some((p) => alive(p) && procCmdline(p).join(" ").includes(marker)), 2000)).toBe(true);
    });

    test("a failing poststart hook only warns; the container runs", () => {
      const c = newContainer("hk-poststart", ["/probe", "sleep", "30"], (marks) => ({
        poststart: [recordingHook("poststart", marks, { fail: true }), recordingHook("poststart-2", marks)],
      }));
      expect(skiff(["create", "-b", c.bundle, c.id], { root }).code).toBe(0);
      const r = skiff(["start", c.id], { root });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("warning");
      expect(r.stderr).toContain("/hooks/poststart/0");
      expect(state(c.id).status).toBe("running");
      expect(read(c.marks, "order").split("\n").filter(Boolean)).toEqual(["poststart", "poststart-2"]);
    });

    test("a failing poststop hook warns and the next poststop still runs", () => {
      const c = newContainer("hk-poststop", ["/probe", "exit", "0"], (marks) => ({
        poststop: [recordingHook("poststop", marks, { fail: true }), recordingHook("poststop-2", marks)],
      }));
      const run = skiff(["run", "--keep", "-b", c.bundle, c.id], { root });
      expect(run.code).toBe(0);
      expect(existsSync(join(c.marks, "order"))).toBe(false);
      const r = skiff(["delete", c.id], { root });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("warning");
      expect(r.stderr).toContain("/hooks/poststop/0");
      expect(r.stderr).not.toContain("/hooks/poststop/1");
      expect(read(c.marks, "order").split("\n").filter(Boolean)).toEqual(["poststop", "poststop-2"]);
      expect(leftovers(root, c.id, c.bundle)).toEqual([]);
    });

    test("a failing startContainer hook keeps the process from running", () => {
      const c = newContainer("hk-startc", ["/probe", "sleep", "30"], () => ({
        startContainer: [recordingHook("startContainer", IN_CONTAINER, { fail: true })],
      }));
      expect(skiff(["create", "-b", c.bundle, c.id], { root }).code).toBe(0);
      const pid = state(c.id).pid as number;
      skiff(["start", c.id], { root });
      expect(waitFor(() => existsSync(join(c.marks, "order")))).toBe(true);
      expect(waitFor(() => !alive(pid))).toBe(true);
      expect(state(c.id).status).toBe("stopped");
    });

    test("run reports a failing startContainer hook and cleans up", () => {
      const c = newContainer("hk-startc-run", ["/probe", "exit", "0"], () => ({
        startContainer: [recordingHook("startContainer", IN_CONTAINER, { fail: true })],
      }));
      const r = skiff(["run", "-b", c.bundle, c.id], { root });
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("startContainer hook /bin/sh: exit status 3: boom from startContainer");
      expect(read(c.marks, "order").split("\n").filter(Boolean)).toEqual(["startContainer"]);
      expect(leftovers(root, c.id, c.bundle)).toEqual([]);
    });
  });

  describe("where hooks run", () => {
    test("createRuntime in the runtime's namespaces, createContainer in the container's", () => {
      const nsOf = (dir: string, name: string): Hook => ({
        path: "/bin/sh",
        args: ["sh", "-c", `readlink /proc/self/ns/mnt /proc/self/ns/uts /proc/self/ns/net > ${dir}/${name}.ns`],
      });
      const c = newContainer("hk-ns", ["/probe", "sleep", "30"], (marks) => ({
        createRuntime: [nsOf(marks, "createRuntime")],
        createContainer: [nsOf(marks, "createContainer")],
      }));
      const cr = skiff(["create", "-b", c.bundle, c.id], { root });
      expect(cr.stderr).toBe("");
      expect(cr.code).toBe(0);
      const pid = state(c.id).pid as number;
      const container = ["mnt", "uts", "net"].map((n) => readlinkSync(`/proc/${pid}/ns/${n}`));
      const host = ["mnt", "uts", "net"].map((n) => readlinkSync(`/proc/self/ns/${n}`));
      expect(read(c.marks, "createContainer.ns").trim().split("\n")).toEqual(container);
      expect(read(c.marks, "createRuntime.ns").trim().split("\n")).toEqual(host);
    });
  });

  test("working directories: createContainer the rootfs, startContainer the process's cwd, the rest the bundle, from any caller's directory", () => {
    const cwdOf = (log: string, name: string): Hook => ({ path: "/bin/sh", args: ["sh", "-c", `echo ${name} $(pwd -P) >> ${log}`] });
    const c = newContainer(
      "hk-cwd",
      ["/probe", "sleep", "30"],
      (marks) => Object.fromEntries(HOOK_NAMES.map((n) => [n, [cwdOf(n === "startContainer" ? `${IN_CONTAINER}/cwd` : `${marks}/cwd`, n)]])),
      (s) => (s.process!.cwd = "/etc"),
    );
    // every command from a directory that is neither the bundle nor the rootfs
    const elsewhere = tempDir("skiff-hooks-caller-");
    expect(skiff(["create", "-b", c.bundle, c.id], { root, cwd: elsewhere }).code).toBe(0);
    expect(skiff(["start", c.id], { root, cwd: elsewhere }).code).toBe(0);
    expect(waitFor(() => existsSync(join(c.marks, "cwd")) && read(c.marks, "cwd").includes("startContainer"))).toBe(true);
    expect(skiff(["delete", "-f", c.id], { root, cwd: elsewhere }).code).toBe(0);
    const bundle = realpathSync(c.bundle);
    const seen = Object.fromEntries(read(c.marks, "cwd").trim().split("\n").map((l) => l.split(" ")));
    expect(seen).toEqual({
      prestart: bundle,
      createRuntime: bundle,
      createContainer: join(bundle, "rootfs"),
      startContainer: "/etc",
      poststart: bundle,
      poststop: bundle,
    });
  });
});
