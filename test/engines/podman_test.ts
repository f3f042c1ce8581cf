// Podman (Debian's podman 4.3 + conmon) with skiff and with runc as OCI
// runtimes. Podman runs privately: its own --root/--runroot/--tmpdir, a
// private containers.conf (CONTAINERS_CONF) that registers skiff in the
// runtimes table, and a private storage.conf. Podman has no daemon: teardown
// removes its containers and the private dir.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { dockerLikeScenarios, type CliEngine } from "./cli_scenarios";
import {
  T,
  engineDir,
  ensureEngines,
  engineInstallError,
  enginesInstalledTest,
  existing,
  existingCgroups,
  removeCreatedCgroups,
  hardLimits,
  mountPoints,
  printErrors,
  removeCreatedDirs,
  removeTree,
  rootfsTar,
  run,
  snapshotRuntimes,
  leftovers,
  waitFor,
  type Runtimes,
} from "./harness";
import { skipWhy } from "../skip";

const skipReason = ensureEngines();

// Shared paths podman may create outside its private dirs; teardown removes
// those that did not exist before (files only if ours, dirs only if empty).
const SHARED = ["/run/skiff", "/run/runc", "/dev/shm/libpod_lock", "/run/libpod", "/run/containers/storage", "/run/containers", "/var/lib/containers/cache/blob-info-cache-v1.boltdb", "/var/lib/containers/cache", "/var/lib/containers"];
// the parent cgroup of the containers (cgroupfs driver)
const CGROUPS = ["libpod_parent"];

let dir = "";
let rts: Runtimes;
let before = new Set<string>();
let cgroupsBefore = new Set<string>();
const IMAGE = "localhost/skiff-busybox:test";
let engine: CliEngine;
let globals: string[] = [];

function podmanConf(d: string, r: Runtimes): string {
  const { nofile, nproc } = hardLimits();
  // No CAP_SYS_RESOURCE in the bounding set: podman's default rlimits
  // (nofile/nproc 1048576) cannot be set, so pin them to hard limits. Podman
  // lowers its own RLIMIT_NPROC to 32768 at start, which conmon and the
  // runtime inherit: nproc may not exceed that either.
  const conf = `[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${Math.min(nproc, 32768)}:${Math.min(nproc, 32768)}"]
netns = "none"
cgroupns = "private"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "${d}/tmp"
runtime = "runc"
runtime_supports_json = ["crun", "runc", "skiff"]
conmon_path = ["/usr/bin/conmon"]
volume_path = "${d}/volumes"

[engine.runtimes]
skiff = ["${r.skiff}"]
runc = ["${r.runc}"]

[network]
network_config_dir = "${d}/net"
`;
  const path = join(d, "containers.conf");
  writeFileSync(path, conf);
  writeFileSync(join(d, "storage.conf"), `[storage]\ndriver = "overlay"\ngraphroot = "${d}/root"\nrunroot = "${d}/runroot"\n`);
  return path;
}

const podman = (args: string[]) => run(["podman", ...globals, ...args], { env: engine?.env });

/** Idempotent: also called when set-up fails half-way. */
async function teardown(): Promise<void> {
  try {
    if (dir) {
      podman(["rm", "-a", "-f", "-t", "0"]);
      removeTree(dir);
      dir = "";
    }
  } finally {
    removeCreatedDirs(SHARED, before);
    removeCreatedCgroups(CGROUPS, cgroupsBefore);
    printErrors("podman");
  }
}

describe.skipIf(skipWhy("podman engine tests", skipReason ?? null))("podman", () => {
  enginesInstalledTest();

  beforeAll(async () => {
    try {
      await setUp();
    } catch (e) {
      await teardown();
      throw e;
    }
  }, T);

  async function setUp(): Promise<void> {
    const failed = engineInstallError();
    if (failed) throw new Error(failed);
    before = existing(SHARED);
    cgroupsBefore = existingCgroups(CGROUPS);
    dir = engineDir("podman");
    rts = snapshotRuntimes(dir);
    globals = ["--root", `${dir}/root`, "--runroot", `${dir}/runroot`, "--tmpdir", `${dir}/tmp`, "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs", "--events-backend", "file"];
    engine = {
      name: "podman",
      dir,
      image: IMAGE,
      env: { CONTAINERS_CONF: podmanConf(dir, rts), CONTAINERS_STORAGE_CONF: join(dir, "storage.conf") },
      runCmd: (rt, sub, args) => ["podman", ...globals, "--runtime", rt, sub, ...args],
      cmd: (args) => ["podman", ...globals, ...args],
      // podman calls the runtime without --root: its default state dirs
      stateRoots: (rt) => [rt === "skiff" ? "/run/skiff" : "/run/runc"],
      // shm and the overlay rootfs of a container (podman's own bind of root/overlay stays)
      mountDirs: [`${dir}/root/overlay-containers`, `${dir}/runroot/overlay-containers`, /\/merged$/],
      // podman 4.3's rm -f stops with the stop timeout first: -t 0 kills at once
      rmForce: ["rm", "-f", "-t", "0"],
    };
    const imp = podman(["import", rootfsTar(dir), IMAGE]);
    if (imp.code !== 0) throw new Error(`podman import: ${imp.out}`);
  }

  afterAll(teardown);

  for (const rt of ["skiff", "runc"] as const) {
    describe(rt, () => {
      dockerLikeScenarios(() => engine, rt);

      test("default seccomp profile and rlimits", () => {
        const { nofile } = hardLimits();
        const r = run(engine.runCmd(rt, "run", ["--rm", IMAGE, "sh", "-c", "grep Seccomp: /proc/self/status; ulimit -Sn; ulimit -Hn; ulimit -Hu"]), { env: engine.env });
        expect(r.out.split(/\s+/)).toEqual(["Seccomp:", "2", String(nofile), String(nofile), "32768"]);
        const u = run(engine.runCmd(rt, "run", ["--rm", "--security-opt", "seccomp=unconfined", IMAGE, "grep", "Seccomp:", "/proc/self/status"]), { env: engine.env });
        expect(u.out.split(/\s+/)).toEqual(["Seccomp:", "0"]);
        // a syscall the default profile refuses (EPERM) whatever the capabilities
        const k = run(engine.runCmd(rt, "run", ["--rm", "--cap-add", "SYS_ADMIN", IMAGE, "sh", "-c", "swapoff /nonexistent 2>&1; echo rc=$?"]), { env: engine.env });
        const ku = run(engine.runCmd(rt, "run", ["--rm", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", IMAGE, "sh", "-c", "swapoff /nonexistent 2>&1; echo rc=$?"]), { env: engine.env });
        expect(k.out).toMatch(/Operation not permitted/);
        expect(ku.out).toMatch(/No such file or directory/);
      }, T);

      test("--ulimit overrides the pinned defaults", () => {
        const r = run(engine.runCmd(rt, "run", ["--rm", "--ulimit", "nofile=512:1024", "--ulimit", "nproc=100:200", IMAGE, "sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Hu"]), { env: engine.env });
        expect(r.out.split(/\s+/)).toEqual(["512", "1024", "100", "200"]);
      }, T);

      test("create + start + wait: the runtime's init is conmon's child", () => {
        const before = new Set(mountPoints());
        const c = run(engine.runCmd(rt, "create", [IMAGE, "sh", "-c", "exit 5"]), { env: engine.env });
        expect(c.code).toBe(0);
        const id = c.stdout.trim();
        expect(podman(["start", id]).code).toBe(0);
        const w = podman(["wait", id]);
        expect(w.stdout.trim()).toBe("5");
        expect(podman(["rm", id]).code).toBe(0);
        let left: string[] = [];
        waitFor(() => (left = leftovers({ id, stateRoots: engine.stateRoots(rt), mountsBefore: before, mountDirs: engine.mountDirs })).length === 0, 15_000);
        expect(left).toEqual([]);
      }, T);
    });
  }
});
