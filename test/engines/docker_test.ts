// Docker (Debian's docker.io 20.10: dockerd, its own containerd, the runc v2
// shim) with skiff registered in daemon.json "runtimes", and with runc (the
// default runtime, /usr/sbin/runc). dockerd runs privately: its own
// --data-root, --exec-root, --pidfile, -H unix socket and --config-file; the
// CLI is /usr/bin/docker (the one matching docker.io; a newer docker on PATH
// may shadow it). Teardown stops exactly the dockerd pid started here (its
// containerd is its child and goes with it).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dockerLikeScenarios, type CliEngine } from "./cli_scenarios";
import {
  T,
  alive,
  cgroupRoots,
  engineDir,
  ensureEngines,
  engineInstallError,
  enginesInstalledTest,
  existing,
  existingCgroups,
  removeCreatedCgroups,
  leftovers,
  mountPoints,
  printErrors,
  removeCreatedDirs,
  removeTree,
  rootfsTar,
  run,
  snapshotRuntimes,
  startDaemon,
  stopDaemon,
  waitFor,
  type Daemon,
  type Runtimes,
} from "./harness";
import { skipWhy } from "../skip";

const skipReason = ensureEngines();

const DOCKER = "/usr/bin/docker";
const DOCKERD = "/usr/sbin/dockerd";
// Shared paths dockerd and containerd 1.6 may create outside the private
// dirs: shim sockets go to /run/containerd/s whatever the root, and dockerd
// 20.10 writes its libtrust identity to /etc/docker/key.json (no flag moves
// it). Teardown removes those it created.
const SHARED = ["/run/containerd/s", "/run/containerd/fifo", "/run/containerd", "/run/docker/plugins", "/run/docker", "/etc/docker/key.json"];
// the parent cgroup of the containers (cgroupfs driver)
const CGROUPS = ["docker"];
const IMAGE = "skiff-busybox:test";

let dir = "";
let rts: Runtimes;
let daemon: Daemon | undefined;
let before = new Set<string>();
let cgroupsBefore = new Set<string>();
let engine: CliEngine;
let env: Record<string, string> = {};

const docker = (args: string[]) => run([DOCKER, ...args], { env });

/** cgroup v1 (or v2) directory of pid for a controller, from /proc/pid/cgroup and the host's mounts. */
function cgroupDir(pid: number, controller: string): string | undefined {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
  for (const root of cgroupRoots()) {
    const base = root.split("/").pop()!;
    if (!base.split(",").includes(controller)) continue;
    const line = lines.find((l) => l.split(":")[1]!.split(",").includes(controller));
    if (line) return join(root, line.split(":")[2]!);
  }
  return undefined;
}

/** Idempotent: also called when set-up fails half-way. */
async function teardown(): Promise<void> {
  try {
    if (daemon && alive(daemon.pid)) {
      const ids = docker(["ps", "-aq"]).stdout.trim().split("\n").filter(Boolean);
      if (ids.length) docker(["rm", "-f", ...ids]);
    }
    await stopDaemon(daemon);
    daemon = undefined;
    if (dir) removeTree(dir);
    dir = "";
  } finally {
    removeCreatedDirs(SHARED, before);
    removeCreatedCgroups(CGROUPS, cgroupsBefore);
    printErrors("docker");
  }
}

function expectClean(rt: string, id: string, mountsBefore: Set<string>): void {
  let left: string[] = [];
  waitFor(() => (left = leftovers({ id, stateRoots: engine.stateRoots(rt), mountsBefore, mountDirs: engine.mountDirs })).length === 0, 10_000);
  expect(left).toEqual([]);
}

describe.skipIf(skipWhy("docker engine tests", skipReason ?? null))("docker", () => {
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
    dir = engineDir("docker");
    rts = snapshotRuntimes(dir);
    const sock = join(dir, "docker.sock");
    const conf = {
      runtimes: { skiff: { path: rts.skiff } },
      "exec-opts": ["native.cgroupdriver=cgroupfs"],
      "storage-driver": "overlay2",
      bridge: "none",
      iptables: false,
      "ip-forward": false,
      "ip-masq": false,
      "log-driver": "json-file",
    };
    writeFileSync(join(dir, "daemon.json"), JSON.stringify(conf, null, 2));
    env = { DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, "cli") };
    daemon = await startDaemon({
      name: "dockerd",
      argv: [DOCKERD, "--data-root", join(dir, "data"), "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "docker.pid"), "-H", `unix://${sock}`, "--config-file", join(dir, "daemon.json")],
      pidFile: join(dir, "docker.pid"),
      log: join(dir, "dockerd.log"),
      ready: () => existsSync(sock) && docker(["version"]).code === 0,
      timeoutMs: 60_000,
    });
    const pidFromFile = Number(readFileSync(join(dir, "docker.pid"), "utf8").trim());
    if (pidFromFile !== daemon.pid) throw new Error(`dockerd pid file says ${pidFromFile}, started ${daemon.pid}`);
    const exec = join(dir, "exec");
    engine = {
      name: "docker",
      dir,
      image: IMAGE,
      env,
      runCmd: (rt, sub, args) => [DOCKER, sub, "--runtime", rt, "--network", "none", ...args],
      cmd: (args) => [DOCKER, ...args],
      stateRoots: (rt) => [join(exec, `runtime-${rt}`, "moby")],
      mountDirs: [join(dir, "data/containers"), join(exec, "netns"), join(exec, "containerd"), /\/merged$/],
      rmForce: ["rm", "-f"],
    };
    const imp = docker(["import", rootfsTar(dir), IMAGE]);
    if (imp.code !== 0) throw new Error(`docker import: ${imp.out}`);
  }

  afterAll(teardown);

  for (const rt of ["skiff", "runc"] as const) {
    describe(rt, () => {
      dockerLikeScenarios(() => engine, rt);

      test("update: memory, cpu, pids land in the container's cgroups", () => {
        const n = `sk-${rt}-update-${process.pid}`;
        const mb = new Set(mountPoints());
        const r = docker(["run", "-d", "--runtime", rt, "--network", "none", "--name", n, IMAGE, "sleep", "1000"]);
        expect(r.code).toBe(0);
        const id = r.stdout.trim().split("\n").pop()!;
        try {
          const pid = Number(docker(["inspect", "--format", "{{.State.Pid}}", n]).stdout.trim());
          const u = docker(["update", "--memory", "64m", "--memory-swap", "128m", "--cpus", "0.5", "--cpu-shares", "512", "--pids-limit", "50", n]);
          // (dockerd may add a warning line: forwarding is off in this private daemon)
          expect(u.stdout.trim().split("\n")[0]).toBe(n);
          expect(u.code).toBe(0);
          const read = (ctl: string, file: string) => {
            const d = cgroupDir(pid, ctl);
            return d ? readFileSync(join(d, file), "utf8").trim() : `(no ${ctl} cgroup)`;
          };
          const v2 = !cgroupRoots().some((r) => r.endsWith("/memory"));
          if (v2) {
            expect(read("", "memory.max")).toBe(String(64 << 20));
          } else {
            expect({
              memory: read("memory", "memory.limit_in_bytes"),
              memsw: existsSync(join(cgroupDir(pid, "memory")!, "memory.memsw.limit_in_bytes")) ? read("memory", "memory.memsw.limit_in_bytes") : String(128 << 20),
              quota: read("cpu", "cpu.cfs_quota_us"),
              period: read("cpu", "cpu.cfs_period_us"),
              shares: read("cpu", "cpu.shares"),
              pids: read("pids", "pids.max"),
            }).toEqual({ memory: String(64 << 20), memsw: String(128 << 20), quota: "50000", period: "100000", shares: "512", pids: "50" });
          }
          expect(docker(["inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}", n]).stdout.trim()).toBe(`${64 << 20} 500000000 50`);
          // the container still works after the update
          expect(docker(["exec", n, "echo", "still-here"]).stdout.trim()).toBe("still-here");
        } finally {
          docker(["rm", "-f", n]);
        }
        expectClean(rt, id, mb);
      }, T);

      test("prestart hook: dockerd's libnetwork-setkey runs from /proc/<dockerd>/exe", () => {
        const n = `sk-${rt}-hook-${process.pid}`;
        const mb = new Set(mountPoints());
        const r = docker(["run", "-d", "--runtime", rt, "--network", "none", "--name", n, IMAGE, "sleep", "1000"]);
        expect(r.code).toBe(0);
        try {
          const id = r.stdout.trim().split("\n").pop()!;
          const tasks = join(dir, "exec/containerd/daemon/io.containerd.runtime.v2.task/moby", id);
          const spec = JSON.parse(readFileSync(join(tasks, "config.json"), "utf8"));
          const hook = spec.hooks?.prestart?.[0] ?? spec.hooks?.createRuntime?.[0];
          expect(hook?.path).toBe(`/proc/${daemon!.pid}/exe`);
          expect(hook?.args?.[0]).toBe("libnetwork-setkey");
          expect(docker(["inspect", "--format", "{{.State.Status}}", n]).stdout.trim()).toBe("running");
          // what the hook did: libnetwork got the container's sandbox (netns) key
          const key = docker(["inspect", "--format", "{{.NetworkSettings.SandboxKey}}", n]).stdout.trim();
          expect(key).toMatch(/netns/);
          expect(existsSync(key)).toBe(true);
        } finally {
          docker(["rm", "-f", n]);
        }
        expectClean(rt, r.stdout.trim().split("\n").pop()!, mb);
      }, T);
    });
  }

  test("no shim of ours is left once the containers are gone", () => {
    // no containerd-shim-runc-v2 serving moby containers of this dockerd
    const shims = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .map((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ");
        } catch {
          return "";
        }
      })
      .filter((c) => c.includes("containerd-shim") && c.includes(join(dir, "exec")));
    expect(shims).toEqual([]);
  });
});
