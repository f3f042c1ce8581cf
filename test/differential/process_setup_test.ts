// Differential: how the container's process is set up, where runc's
// behaviour is what engines and images rely on. Each case runs the same
// bundle under Debian's runc and under skiff and compares what a busybox
// shell inside reports.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/config/types";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { SKIFF, uniqueId } from "../integration/skiff";
import { RUNC, needRoot, needRunc, skipWhy } from "../skip";

afterAll(() => cleanupTempDirs());

type Runtime = "runc" | "skiff";
const RUNTIMES: Runtime[] = ["runc", "skiff"];

interface Result {
  code: number | null;
  out: string;
  err: string;
}

/** One runtime command with a private --root; output through files (a detached container keeps them open). */
function call(rt: Runtime, root: string, args: string[]): Result {
  const out = join(root, `out-${args[0]}`);
  const err = join(root, `err-${args[0]}`);
  const r = spawnSync([rt === "runc" ? RUNC : SKIFF, "--root", root, ...args], {
    stdin: "ignore",
    stdout: Bun.file(out),
    stderr: Bun.file(err),
    timeout: 20_000,
    killSignal: "SIGKILL",
  });
  return { code: r.exitCode, out: readFileSync(out, "utf8").trim(), err: readFileSync(err, "utf8").trim() };
}

function bundle(args: string[], mutate: (s: Spec) => void, prepare?: (rootfs: string) => void): string {
  const dir = makeBundle({ args, mutate });
  prepare?.(join(dir, "rootfs"));
  return dir;
}

const why = skipWhy("process set-up: skiff vs runc", needRoot(), needRunc());

describe.skipIf(why)("process set-up: skiff vs runc", () => {
  test("a cwd the user may not enter but root may: entered before the user switch (run, exec, exec --user 0)", () => {
    const results: Record<string, Result[]> = {};
    for (const rt of RUNTIMES) {
      const b = bundle(
        ["/bin/sleep", "30"],
        (s) => {
          s.process!.user = { uid: 42, gid: 42 };
          s.process!.cwd = "/root";
        },
        (rootfs) => chmodSync(join(rootfs, "root"), 0o700),
      );
      const root = tempDir(`skiff-setup-${rt}-`);
      const id = uniqueId(`cwd-${rt}`);
      try {
        const run = call(rt, root, ["run", "-d", "-b", b, id]);
        const asUser = call(rt, root, ["exec", id, "/bin/sh", "-c", "pwd; id -u"]);
        const asRoot = call(rt, root, ["exec", "--user", "0", id, "/bin/sh", "-c", "pwd; id -u"]);
        results[rt] = [run, asUser, asRoot].map((r) => ({ ...r, err: r.err.replace(/\s+/g, " ") }));
      } finally {
        call(rt, root, ["delete", "-f", id]);
      }
    }
    expect(results.runc!.map((r) => [r.code, r.out])).toEqual([
      [0, ""],
      [0, "/root\n42"],
      [0, "/root\n0"],
    ]);
    expect(results.skiff!.map((r) => [r.code, r.out])).toEqual(results.runc!.map((r) => [r.code, r.out]));
  }, 60_000);

  test("in a user namespace, a bind source only host root may reach (0700) is mounted: opened before the namespace is entered", () => {
    const results: Record<string, Result> = {};
    for (const rt of RUNTIMES) {
      const secret = tempDir(`skiff-setup-private-${rt}-`);
      const src = join(secret, "vol");
      mkdirSync(src);
      writeFileSync(join(src, "file"), "x\n");
      chmodSync(secret, 0o700); // the container's root (host uid 100000) may not pass it
      const b = bundle(["/bin/sh", "-c", "stat -c '%a' /data; ls /data"], (s) => {
        s.linux!.namespaces!.push({ type: "user" });
        s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.mounts!.push({ destination: "/data", type: "bind", source: src, options: ["rbind", "ro"] });
        // mounts a user namespace may not make (sysfs of the host's net namespace, cgroup)
        s.mounts = s.mounts!.filter((m) => m.type !== "sysfs" && m.type !== "cgroup");
      }, (rootfs) => mkdirSync(join(rootfs, "data"))); // the namespace's root may not create it in host root's rootfs
      chmodSync(b, 0o755);
      const root = tempDir(`skiff-setup-${rt}-`);
      const id = uniqueId(`privsrc-${rt}`);
      try {
        results[rt] = call(rt, root, ["run", "-b", b, id]);
      } finally {
        call(rt, root, ["delete", "-f", id]);
      }
    }
    expect({ code: results.runc!.code, out: results.runc!.out }).toEqual({ code: 0, out: "755\nfile" });
    expect({ code: results.skiff!.code, out: results.skiff!.out, err: results.skiff!.err }).toEqual({ code: 0, out: "755\nfile", err: "" });
  }, 60_000);

  test("a read-only /dev is populated first (nodes, links, mount points), then made read-only", () => {
    const results: Record<string, Result> = {};
    for (const rt of RUNTIMES) {
      const b = bundle(["/bin/sh", "-c", "ls /dev/null /dev/pts/ptmx /dev/shm /dev/fd >/dev/null && echo x > /dev/null && (touch /dev/new 2>/dev/null && echo writable || echo ro); grep ' /dev ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1"], (s) => {
        const dev = s.mounts!.find((m) => m.destination === "/dev")!;
        dev.options = [...(dev.options ?? []), "ro"];
      });
      const root = tempDir(`skiff-setup-${rt}-`);
      const id = uniqueId(`rodev-${rt}`);
      try {
        results[rt] = call(rt, root, ["run", "-b", b, id]);
      } finally {
        call(rt, root, ["delete", "-f", id]);
      }
    }
    expect({ code: results.runc!.code, out: results.runc!.out }).toEqual({ code: 0, out: "ro\nro" });
    expect({ code: results.skiff!.code, out: results.skiff!.out, err: results.skiff!.err }).toEqual({ code: 0, out: "ro\nro", err: "" });
  }, 60_000);

  test("a cwd that does not exist as a directory fails under both", () => {
    const codes: Record<string, number | null> = {};
    for (const rt of RUNTIMES) {
      const b = bundle(["/bin/true"], (s) => (s.process!.cwd = "/etc/passwd"));
      const root = tempDir(`skiff-setup-${rt}-`);
      const id = uniqueId(`cwdfile-${rt}`);
      try {
        const r = call(rt, root, ["run", "-b", b, id]);
        codes[rt] = r.code;
        if (rt === "skiff") expect(r.err).toContain("/process/cwd");
      } finally {
        call(rt, root, ["delete", "-f", id]);
      }
    }
    expect(codes.runc).not.toBe(0);
    expect(codes.skiff).not.toBe(0);
  }, 60_000);
});
