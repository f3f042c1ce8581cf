// Mount targets, device nodes, links and the cwd are resolved inside the
// rootfs: a symlink in the image, absolute or full of "..", never leads to
// the host. Each case plants such a link and checks the host is untouched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, skipWhy } from "../skip";
import type { Spec } from "../../src/config/types";
import { forceDelete, leftovers, skiff, uniqueId } from "./skiff";

describe.skipIf(skipWhy("test/integration/rootfs_escape_test.ts", needRoot()))("rootfs_escape", () => {
  let root = "";
  beforeAll(() => {
    root = tempDir("skiff-escape-root-");
  });
  afterAll(() => cleanupTempDirs());

  /** A host directory the container must not reach, and a bundle whose rootfs links to it. */
  function trap(link: string, target: (host: string) => string, mutate: (s: Spec, host: string) => void) {
    const host = tempDir("skiff-escape-host-");
    writeFileSync(join(host, "keep"), "host file");
    let bundle = "";
    bundle = makeBundle({ args: ["/bin/sh", "-c", "ls /escape/ >/dev/null 2>&1; true"], mutate: (s) => mutate(s, host) });
    const linkPath = join(bundle, "rootfs", link);
    mkdirSync(join(linkPath, ".."), { recursive: true });
    rmSync(linkPath, { recursive: true, force: true }); // the image's own /dev, say
    symlinkSync(target(host), linkPath);
    return { host, bundle };
  }

  function runAndCheck(t: { host: string; bundle: string }): { code: number; stderr: string } {
    const id = uniqueId("escape");
    const r = skiff(["run", "-b", t.bundle, id], { root });
    forceDelete(root, id);
    // Nothing was created in, mounted on, or removed from the host directory.
    expect(readdirSync(t.host).sort()).toEqual(["keep"]);
    expect(leftovers(root, id, t.bundle)).toEqual([]);
    return r;
  }

  test("an absolute symlink on a mount's path stays inside the rootfs", () => {
    const t = trap("escape", (host) => host, (s) => {
      s.mounts!.push({ destination: "/escape/sub", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
    });
    const r = runAndCheck(t);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // The link was followed as if the rootfs were /: the target lives in the rootfs.
    expect(existsSync(join(t.bundle, "rootfs", t.host, "sub"))).toBe(true);
  });

  test("a relative symlink full of .. stays inside the rootfs", () => {
    const t = trap("escape", (host) => `../../../../../../../../..${host}`, (s) => {
      s.mounts!.push({ destination: "/escape/sub", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
    });
    const r = runAndCheck(t);
    expect(r.code).toBe(0);
  });

  test("a device node and the cwd under a symlinked directory stay inside the rootfs", () => {
    const t = trap("escape", (host) => host, (s) => {
      s.linux!.devices = [{ type: "c", path: "/escape/null2", major: 1, minor: 3, fileMode: 0o666 }];
      s.process!.cwd = "/escape/work";
    });
    const r = runAndCheck(t);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test("a symlinked /dev cannot redirect the default devices to the host", () => {
    // /dev as a link to the host dir, and no /dev mount: mknod lands in the rootfs.
    const t = trap("dev", (host) => host, (s) => {
      s.mounts = s.mounts!.filter((m) => !m.destination.startsWith("/dev"));
    });
    const r = runAndCheck(t);
    expect(r.code).toBe(0);
  });
});
