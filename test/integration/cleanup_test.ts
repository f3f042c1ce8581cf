// Broken bundles: create must fail with one line naming the cause and where
// in config.json it comes from, and leave nothing behind.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, skipWhy } from "../skip";
import type { Spec } from "../../src/config/types";
import { forceDelete, leftovers, skiff, uniqueId } from "./skiff";

describe.skipIf(skipWhy("test/integration/cleanup_test.ts", needRoot()))("cleanup", () => {
  let root = "";
  const made: { id: string; bundle: string }[] = [];

  beforeAll(() => {
    root = tempDir("skiff-cleanup-root-");
  });
  afterEach(() => {
    for (const { id } of made.splice(0)) forceDelete(root, id);
  });
  afterAll(() => {
    cleanupTempDirs();
  });

  interface Broken {
    name: string;
    args?: string[];
    mutate?: (s: Spec) => void;
    /** changes to the bundle directory after it is written */
    after?: (bundle: string) => void;
    id?: string;
    /** every string must be in the one stderr line */
    want: (bundle: string) => string[];
  }

  const SLEEP = ["/probe", "sleep", "30"];

  const CASES: Broken[] = [
    {
      name: "missing config.json",
      after: (b) => rmSync(join(b, "config.json")),
      want: (b) => [`${b}/config.json`, "no such file or directory"],
    },
    {
      name: "config.json that is not JSON",
      after: (b) => writeFileSync(join(b, "config.json"), '{"ociVersion": "1.0.2", '),
      want: (b) => [`${b}/config.json`, "parse json"],
    },
    {
      // Deliberately unlike runc, which mounts in the host's mount namespace
      // and chroots there (test/runtime_tools/skiff_refuses.txt)
      name: "no mount namespace",
      mutate: (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "mount");
        s.linux!.maskedPaths = s.linux!.readonlyPaths = []; // runc refuses those without one too
      },
      want: () => ["/linux/namespaces", "a mount namespace is required"],
    },
    {
      name: "duplicate namespace",
      mutate: (s) => s.linux!.namespaces!.push({ type: "pid" }),
      want: () => ["/linux/namespaces/5", "duplicate namespace", "pid"],
    },
    {
      name: "unknown capability",
      mutate: (s) => s.process!.capabilities!.bounding!.push("CAP_NO_SUCH_THING"),
      want: () => ["/process/capabilities/bounding/3", "unknown capability", "CAP_NO_SUCH_THING"],
    },
    {
      name: "bind mount whose source does not exist",
      mutate: (s) => s.mounts!.push({ destination: "/data", type: "bind", source: "/nonexistent/skiff-test-source", options: ["rbind"] }),
      want: () => ["mount /nonexistent/skiff-test-source on /data (from /mounts/7)", "no such file or directory"],
    },
    {
      name: "missing executable",
      args: ["no-such-program", "arg"],
      want: () => ["executable file not found in $PATH", "no-such-program", "/process/args/0"],
    },
    {
      name: "executable that is not executable",
      args: ["/etc/passwd"],
      want: () => ["/etc/passwd", "permission denied", "/process/args/0"],
    },
    {
      name: "rootfs path missing",
      mutate: (s) => (s.root!.path = "no-such-rootfs"),
      want: (b) => ["/root/path", `${b}/no-such-rootfs`, "no such file or directory"],
    },
    {
      name: "unknown mount type",
      mutate: (s) => s.mounts!.push({ destination: "/weird", type: "nosuchfs", source: "none" }),
      want: () => ["mount none type nosuchfs on /weird (from /mounts/7)", "no such device"],
    },
    {
      name: "failing createRuntime hook",
      mutate: (s) => (s.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", "echo hook says no >&2; exit 5"] }] }),
      want: () => ["/hooks/createRuntime/0", "createRuntime", "exit status 5", "hook says no"],
    },
    {
      name: "cwd that is a file",
      mutate: (s) => (s.process!.cwd = "/etc/passwd"),
      want: () => ["/process/cwd", "/etc/passwd", "not a directory"],
    },
    {
      name: "invalid container id",
      id: "bad..id/../x",
      want: () => ["invalid container id", "bad..id/../x"],
    },
  ];

  describe("a broken bundle fails create with one clear line and leaves nothing", () => {
    for (const k of CASES) {
      test(k.name, () => {
        const id = k.id ?? uniqueId("cl");
        const bundle = makeBundle({ args: k.args ?? SLEEP, mutate: k.mutate });
        k.after?.(bundle);
        if (!k.id) made.push({ id, bundle });
        const r = skiff(["create", "-b", bundle, id], { root });
        expect(r.code).not.toBe(0);
        expect(r.stdout).toBe("");
        const lines = r.stderr.split("\n").filter(Boolean);
        expect(lines).toHaveLength(1);
        for (const w of k.want(bundle)) expect(lines[0]).toContain(w);
        expect(lines[0]).not.toContain("internal error");
        expect(leftovers(root, id, bundle)).toEqual([]);
      });
    }

    test("the same failure through run also cleans up", () => {
      const id = uniqueId("cl-run");
      const bundle = makeBundle({ args: ["no-such-program"] });
      made.push({ id, bundle });
      const r = skiff(["run", "-b", bundle, id], { root });
      expect(r.code).not.toBe(0);
      const lines = r.stderr.split("\n").filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("executable file not found in $PATH");
      expect(leftovers(root, id, bundle)).toEqual([]);
    });

    test("a directory as the executable", () => {
      const id = uniqueId("cl-dir");
      const bundle = makeBundle({ args: ["/etc"] });
      made.push({ id, bundle });
      const r = skiff(["create", "-b", bundle, id], { root });
      expect(r.code).not.toBe(0);
      expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toContain("permission denied");
      expect(leftovers(root, id, bundle)).toEqual([]);
    });

    test("leftovers() sees a container that is still there", () => {
      // Guards the guard: a live container must not look clean.
      const id = uniqueId("cl-live");
      const bundle = makeBundle({ args: SLEEP });
      made.push({ id, bundle });
      expect(skiff(["create", "-b", bundle, id], { root }).code).toBe(0);
      const found = leftovers(root, id, bundle);
      expect(found.some((f) => f.startsWith("state dir "))).toBe(true);
      expect(found.some((f) => f.startsWith("cgroup "))).toBe(true);
      expect(skiff(["delete", "-f", id], { root }).code).toBe(0);
      expect(leftovers(root, id, bundle)).toEqual([]);
    });
  });

  describe("--log with --log-format json", () => {
    test("writes the error as a JSON line with level, msg and time", () => {
      const id = uniqueId("cl-log");
      const bundle = makeBundle({ args: ["no-such-program"] });
      made.push({ id, bundle });
      const log = join(tempDir("skiff-cleanup-log-"), "log.json");
      const r = skiff(["create", "-b", bundle, id], { root, globals: ["--log", log, "--log-format", "json"] });
      expect(r.code).not.toBe(0);
      const lines = r.stderr.split("\n").filter(Boolean);
      expect(lines).toHaveLength(1);
      const entries = readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
      const errors = entries.filter((e) => e.level === "error");
      expect(errors).toHaveLength(1);
      const e = errors[0]!;
      expect(e.msg).toContain("executable file not found in $PATH");
      expect(lines[0]).toContain(e.msg!);
      expect(Number.isNaN(Date.parse(e.time!))).toBe(false);
      expect(Math.abs(Date.now() - Date.parse(e.time!))).toBeLessThan(60_000);
      expect(leftovers(root, id, bundle)).toEqual([]);
    });

    test("the log file is appended to, not replaced", () => {
      const log = join(tempDir("skiff-cleanup-log-"), "log.json");
      writeFileSync(log, '{"level":"info","msg":"earlier","time":"2020-01-01T00:00:00Z"}\n');
      chmodSync(log, 0o600);
      const r = skiff(["state", uniqueId("cl-nothere")], { root, globals: ["--log", log, "--log-format", "json"] });
      expect(r.code).not.toBe(0);
      const entries = readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
      expect(entries.map((e) => e.level)).toEqual(["info", "error"]);
      expect(entries[1]!.msg).toContain("does not exist");
    });
  });
});
