// skiff run by an unprivileged user (as `setpriv` makes one, no passwd entry
// needed): `spec --rootless` maps that user to root in a new user namespace,
// the process writes its own maps, and hierarchies it may not write are
// left out of its cgroups, as with runc's rootless mode.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, skipWhy } from "../skip";
import { SKIFF, uniqueId } from "./skiff";

describe.skipIf(skipWhy("test/integration/rootless_test.ts", needRoot()))("rootless", () => {
  const UID = 64123; // no such user on the host: setpriv takes numbers
  afterAll(() => cleanupTempDirs());

  function asUser(args: string[], cwd: string): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(["setpriv", "--reuid", String(UID), "--regid", String(UID), "--clear-groups", SKIFF, ...args], { cwd, stdout: "pipe", stderr: "pipe" });
    return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  test("an unprivileged user runs a container as root of its own user namespace", () => {
    const root = tempDir("skiff-rootless-root-");
    chownSync(root, UID, UID);
    const bundle = makeBundle({ args: ["/bin/true"] });
    chmodSync(bundle, 0o755);
    chownSync(bundle, UID, UID);
    // The user's own default config, written by `spec --rootless` as that user.
    const dir = join(bundle, "rootless");
    mkdirSync(dir);
    chownSync(dir, UID, UID);
    expect(asUser(["spec", "--rootless", "-b", dir], bundle).code).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    config.root.path = join(bundle, "rootfs");
    config.process.terminal = false;
    config.process.args = ["/bin/sh", "-c", "id -u; id -g; cat /proc/self/uid_map"];
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));

    const id = uniqueId("rootless");
    const r = asUser(["--root", root, "run", "-b", dir, id], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [uid, gid, map] = r.stdout.trim().split("\n");
    expect([uid, gid]).toEqual(["0", "0"]);
    expect(map!.trim().split(/\s+/)).toEqual(["0", String(UID), "1"]);
    // run deleted it: nothing left in the user's state root.
    expect(readdirSync(root)).toEqual([]);
  });
});
