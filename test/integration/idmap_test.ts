// Idmapped bind mounts (mounts[].uidMappings/gidMappings, "idmap", "ridmap").
//
// A mapping line reads as in linux.uidMappings, "containerID hostID size",
// and the kernel applies it as runc does: a file the source's filesystem
// stores as containerID+k is seen through the mount as hostID+k, and a file
// created there as hostID+k is stored as containerID+k. So for a container
// without a user namespace, "host uid 1000 is root inside" is
// {containerID: 1000, hostID: 0}; {containerID: 0, hostID: 1000} shows the
// host's root-owned files as 1000.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import type { IdMapping, Mount, Spec } from "../../src/config/types";
import { forceDelete, leftovers, skiff, uniqueId } from "./skiff";
import { needRoot, needRunc, RUNC, skipWhy } from "../skip";

describe.skipIf(skipWhy("test/integration/idmap_test.ts", needRoot()))("idmap", () => {
  let root = "";
  beforeAll(() => {
    root = tempDir("skiff-idmap-root-");
  });
  const mounted: string[] = [];
  afterAll(() => {
    for (const m of mounted) spawnSync(["umount", "-l", m]);
    cleanupTempDirs();
  });

  const T = 30_000;
  const map = (containerID: number, hostID: number, size = 1): IdMapping[] => [{ containerID, hostID, size }];

  /** A host directory (0755) owned by uid:gid, holding file "f" owned by uid:gid. */
  function hostDir(uid: number, gid = uid): string {
    const dir = tempDir("skiff-idmap-host-");
    chmodSync(dir, 0o755);
    chownSync(dir, uid, gid);
    writeFileSync(join(dir, "f"), "host file\n");
    chownSync(join(dir, "f"), uid, gid);
    return dir;
  }

  function runIn(script: string, mutate: (s: Spec) => void, opts: { targets?: string[] } = {}): { code: number; stdout: string; stderr: string; bundle: string; id: string } {
    const bundle = makeBundle({ args: ["/bin/sh", "-c", script], mutate });
    chmodSync(bundle, 0o755); // the user namespace's root reaches the rootfs through it
    for (const t of opts.targets ?? []) mkdirSync(join(bundle, "rootfs", t)); // it cannot make them in the host-owned rootfs
    const id = uniqueId("idmap");
    const r = skiff(["run", "-b", bundle, id], { root });
    forceDelete(root, id);
    expect(leftovers(root, id, bundle)).toEqual([]);
    return { ...r, bundle, id };
  }

  const owner = (path: string) => {
    const st = statSync(path);
    return `${st.uid}:${st.gid}`;
  };

  test(
    "host uid/gid 1000 is root through the mount, and root's new files land as 1000",
    () => {
      const host = hostDir(1000);
      const r = runIn("stat -c %u:%g /data/f /data; touch /data/made && stat -c %u:%g /data/made", (s) => {
        s.mounts!.push({ destination: "/data", source: host, type: "bind", options: ["bind"], uidMappings: map(1000, 0), gidMappings: map(1000, 0) });
      });
      expect(r.stderr).toBe("");
      expect(r.stdout.trim().split("\n")).toEqual(["0:0", "0:0", "0:0"]);
      expect(r.code).toBe(0);
      expect(owner(join(host, "made"))).toBe("1000:1000");
    },
    T,
  );

  test(
    "the mapping's direction: {containerID: 0, hostID: 1000} shows the host's root files as 1000",
    () => {
      const host = hostDir(0);
      const r = runIn("stat -c %u:%g /data/f; ls -ln /data/f", (s) => {
        s.mounts!.push({ destination: "/data", source: host, options: ["rbind", "idmap"], uidMappings: map(0, 1000), gidMappings: map(0, 1000) });
      });
      expect(r.code).toBe(0);
      const [stat, ls] = r.stdout.trim().split("\n");
      expect(stat).toBe("1000:1000");
      expect(ls).toMatch(/^-\S+\s+1\s+1000\s+1000\s/);
    },
    T,
  );

  test(
    "ridmap maps submounts too; idmap only the mount itself",
    () => {
      const host = hostDir(1000);
      const sub = join(host, "sub");
      mkdirSync(sub);
      const m = spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", sub]);
      expect(m.exitCode).toBe(0);
      mounted.push(sub);
      writeFileSync(join(sub, "g"), "in the submount\n");
      chownSync(join(sub, "g"), 1000, 1000);
      const idm = (destination: string, option: string): Mount => ({ destination, source: host, options: ["rbind", option], uidMappings: map(1000, 0), gidMappings: map(1000, 0) });
      const r = runIn("stat -c %u:%g /r/f /r/sub/g /t/f /t/sub/g", (s) => {
        s.mounts!.push(idm("/r", "ridmap"), idm("/t", "idmap"));
      });
      expect(r.stderr).toBe("");
      expect(r.stdout.trim().split("\n")).toEqual(["0:0", "0:0", "0:0", "1000:1000"]);
    },
    T,
  );

  test(
    "in a user namespace: idmap without mappings takes the container's, and flags apply",
    () => {
      const host = hostDir(0);
      const r = runIn("stat -c %u:%g /data/f /plain/f; touch /data/made; echo ok; touch /ro/x 2>&1 | grep -c Read-only", (s) => {
        s.linux!.namespaces!.push({ type: "user" });
        s.linux!.uidMappings = map(0, 100000, 65536);
        s.linux!.gidMappings = map(0, 100000, 65536);
        // sysfs and cgroupfs need a network and cgroup namespace owned by the user namespace
        s.mounts = s.mounts!.filter((m) => m.destination !== "/sys" && m.destination !== "/sys/fs/cgroup");
        s.mounts!.push(
          { destination: "/data", source: host, options: ["bind", "idmap"] },
          { destination: "/plain", source: host, options: ["bind"] },
          { destination: "/ro", source: host, options: ["bind", "ro", "nosuid"], uidMappings: map(0, 100000, 65536), gidMappings: map(0, 100000, 65536) },
        );
      }, { targets: ["data", "plain", "ro"] });
      expect(r.stderr).toBe("");
      // Without the idmap the host's root is nobody in the user namespace.
      expect(r.stdout.trim().split("\n")).toEqual(["0:0", "65534:65534", "ok", "1"]);
      expect(owner(join(host, "made"))).toBe("0:0");
    },
    T,
  );

  test(
    "a bad mapping fails with one line naming /mounts/N and leaves nothing behind",
    () => {
      const host = hostDir(1000);
      const overlapping = [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 5, hostID: 2000, size: 1 }];
      let n = -1;
      const bad = runIn("true", (s) => {
        n = s.mounts!.length;
        s.mounts!.push({ destination: "/data", source: host, options: ["bind"], uidMappings: overlapping, gidMappings: map(0, 1000) });
      });
      expect(bad.code).not.toBe(0);
      const line = `${bad.stderr.trim()}`;
      expect(line.split("\n")).toHaveLength(1);
      expect(line).toContain(`/mounts/${n}/uidMappings/1`);
      expect(line).toContain("overlaps");

      // A filesystem without idmap support (sysfs): the kernel's EINVAL, said plainly.
      const sysfs = runIn("true", (s) => {
        n = s.mounts!.length;
        s.mounts!.push({ destination: "/data", source: "/sys", options: ["rbind"], uidMappings: map(0, 1000), gidMappings: map(0, 1000) });
      });
      expect(sysfs.code).not.toBe(0);
      const msg = sysfs.stderr.trim();
      expect(msg.split("\n")).toHaveLength(1);
      expect(msg).toContain(`(from /mounts/${n})`);
      expect(msg).toContain("does not support idmapped mounts");
    },
    T,
  );

  // runc gained idmapped mounts in 1.2; Debian 12 ships 1.1.5. Compare only
  // when `runc features` says it has them.
  function runcIdmap(): string | null {
    const r = spawnSync([RUNC, "features"], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) return `${RUNC} features failed: ${r.stderr.toString().trim()}`;
    const doc = JSON.parse(r.stdout.toString());
    if (doc?.linux?.mountExtensions?.idmap?.enabled === true) return null;
    const version = spawnSync([RUNC, "--version"], { stdout: "pipe" }).stdout.toString().split("\n")[0];
    return `${version} has no idmapped mounts (\`runc features\` lists no linux.mountExtensions.idmap)`;
  }

  test.skipIf(skipWhy("idmap: runc vs skiff", needRoot(), needRunc() ?? runcIdmap()))(
    "runc and skiff see the same owners through an idmapped mount",
    () => {
      const host = hostDir(1000);
      const script = "stat -c %u:%g /data/f";
      const bundle = makeBundle({
        args: ["/bin/sh", "-c", script],
        mutate: (s) => {
          s.mounts!.push({ destination: "/data", source: host, options: ["bind", "idmap"], uidMappings: map(1000, 0), gidMappings: map(1000, 0) });
        },
      });
      const runcRoot = tempDir("skiff-idmap-runc-root-");
      const id = uniqueId("idmap-runc");
      const r = spawnSync([RUNC, "--root", runcRoot, "run", "-b", bundle, id], { stdout: "pipe", stderr: "pipe", cwd: bundle });
      spawnSync([RUNC, "--root", runcRoot, "delete", "-f", id]);
      const s = runIn(script, (spec) => {
        spec.mounts!.push({ destination: "/data", source: host, options: ["bind", "idmap"], uidMappings: map(1000, 0), gidMappings: map(1000, 0) });
      });
      // host 1000:1000 is 0:0 through the mount, under both
      expect({ code: r.exitCode, stdout: r.stdout.toString() }).toEqual({ code: 0, stdout: "0:0\n" });
      expect({ code: s.code, stdout: s.stdout }).toEqual({ code: 0, stdout: "0:0\n" });
    },
    T,
  );
});
