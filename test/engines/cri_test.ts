// Kubernetes through the CRI: a private containerd (Debian's 1.6, CRI plugin
// on) driven over the CRI runtime.v1 gRPC API exactly as the kubelet drives
// it, with the pod's runtime handler `skiff` (what a RuntimeClass with
// `handler: skiff` makes the kubelet send) and, in the same run, `runc`.
//
// The node: containerd runs inside a network namespace this test creates
// (`nsenter --net`), so the CNI bridge, its veths, addresses and iptables
// rules exist only there, and in a mount namespace of its own (a slave of the host's)
// so its mounts (snapshots, /dev/shm of pods, the pods' netns files)
// never show in the host's. Everything else is under one temp dir: roots,
// sockets, runtime roots, CNI state, pod logs. Images are local: a pause
// image built here from ./cri/pause.c and the busybox image, imported with
// `ctr -n k8s.io images import`; ImageStatus shows both present, so the
// kubelet's path would never pull (there is no registry to pull from).
// Cgroups: cgroupfs (SystemdCgroup = false) under a parent of our own.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  T,
  alive,
  cgroupsNaming,
  engineDir,
  engineInstallError,
  enginesInstalledTest,
  ensureEngines,
  existing,
  existingCgroups,
  mountPoints,
  ociArchive,
  processesNaming,
  removeCreatedCgroups,
  removeCreatedDirs,
  removeTree,
  run,
  snapshotRuntimes,
  stopDaemon,
  waitFor,
  type Daemon,
  type Result,
  type Runtimes,
} from "./harness";
import { criClient, type CriClient, type Msg } from "./cri/client";
import {
  BUSYBOX_IMAGE,
  CNI_BIN,
  PAUSE_IMAGE,
  addNetns,
  cgroupFile,
  delNetns,
  mountPointsOf,
  netnsDirState,
  netnsInode,
  nsInode,
  pauseArchive,
  releaseNetnsDir,
  startNode,
} from "./cri/node";
import { skipWhy } from "../skip";

const skipReason = ensureEngines() ?? (existsSync(join(CNI_BIN, "bridge")) ? undefined : `${CNI_BIN}/bridge missing (containernetworking-plugins)`);

const NETNS = `skiff-cri-${process.pid}`;
// the pods' parent cgroup (what the kubelet's kubepods/... is on a node)
const CGROUP_PARENT = `skiff-cri-${process.pid}`;
// containerd 1.6 puts shim sockets here whatever its root; CNI its cache
const SHARED = ["/run/containerd/s", "/run/containerd", "/var/lib/cni/results", "/var/lib/cni"];

let dir = "";
let rts: Runtimes;
let daemon: Daemon | undefined;
let cri: CriClient | undefined;
let before = new Set<string>();
let cgroupsBefore = new Set<string>();
let hostMountsBefore = new Set<string>();
let hostNetnsBefore = new Set<string>();
let hostIptablesBefore = "";
let netnsDirBefore = { exists: true, mounted: true };
const timings: string[] = [];
const notes: string[] = [];
/** pods made and not yet removed, for teardown after a failure */
const pods = new Set<string>();

const sock = () => join(dir, "containerd.sock");
const ctr = (args: string[]): Result => run(["ctr", "-a", sock(), "-n", "k8s.io", ...args]);
const rpc = (m: string, req: Msg, t?: number) => cri!.runtime(m, req, t);
const netnsFiles = () => new Set(existsSync("/run/netns") ? readdirSync("/run/netns") : []);
const iptablesSave = () => run(["iptables-save"]).stdout.split("\n").filter((l) => !l.startsWith("#")).join("\n");

/** Idempotent: also called when set-up fails half-way. Returns what it could not remove. */
async function teardown(): Promise<string[]> {
  const left: string[] = [];
  try {
    // pods a failed test left: stop and remove them as the kubelet would
    // (RemovePodSandbox removes their containers too)
    for (const pod of pods) {
      try {
        await rpc("StopPodSandbox", { pod_sandbox_id: pod });
        await rpc("RemovePodSandbox", { pod_sandbox_id: pod });
      } catch (e) {
        left.push(`pod ${pod}: ${(e as Error).message}`);
      }
    }
    pods.clear();
    cri?.close();
    cri = undefined;
    await stopDaemon(daemon);
    daemon = undefined;
    delNetns(NETNS);
    left.push(...releaseNetnsDir(netnsDirBefore));
    if (dir) removeTree(dir);
    dir = "";
  } finally {
    left.push(...removeCreatedDirs(SHARED, before));
    left.push(...removeCreatedCgroups([CGROUP_PARENT], cgroupsBefore));
  }
  return left;
}

describe.skipIf(skipWhy("CRI (containerd + kubelet's gRPC calls) tests", skipReason ?? null))("CRI", () => {
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
    cgroupsBefore = existingCgroups([CGROUP_PARENT]);
    netnsDirBefore = netnsDirState();
    hostMountsBefore = new Set(mountPoints());
    hostNetnsBefore = netnsFiles();
    hostIptablesBefore = iptablesSave();
    dir = engineDir("cri");
    rts = snapshotRuntimes(dir);
    addNetns(NETNS);
    daemon = await startNode({ dir, netns: NETNS, skiff: rts.skiff, runc: rts.runc }, () => existsSync(sock()) && ctr(["version"]).code === 0);
    for (const archive of [pauseArchive(dir), ociArchive(dir, BUSYBOX_IMAGE)]) {
      const imp = ctr(["images", "import", archive]);
      if (imp.code !== 0) throw new Error(`ctr -n k8s.io images import ${archive}: ${imp.out}`);
    }
    cri = criClient(sock());
  }

  afterAll(async () => {
    await teardown();
    if (notes.length) console.log(`\n==== CRI: what the kubelet sees, skiff vs runc ====\n${notes.join("\n")}`);
    if (timings.length) console.log(`\n==== CRI: a pod's start (RunPodSandbox + CreateContainer + StartContainer), same run ====\n${timings.join("\n")}`);
  });

  test("Version: containerd's CRI answers runtime.v1", async () => {
    const v = await rpc("Version", { version: "v1" });
    expect(v.runtime_name).toBe("containerd");
    expect(v.runtime_api_version).toBe("v1");
  }, T);

  test("ImageStatus: the pause and busybox images are on the node (nothing to pull)", async () => {
    for (const image of [PAUSE_IMAGE, BUSYBOX_IMAGE]) {
      const s = await cri!.image("ImageStatus", { image: { image } });
      expect(s.image?.repo_tags ?? []).toContain(image);
    }
  }, T);

  test("pause (the sandbox's program, built here): runs until SIGTERM or SIGINT, then exits 0", async () => {
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      const p = Bun.spawn([join(dir, "pause-rootfs/pause")], { stdout: "ignore", stderr: "ignore" });
      await Bun.sleep(200);
      expect(p.exitCode).toBeNull();
      // a SIGCHLD (a child to reap) does not end it
      p.kill("SIGCHLD");
      await Bun.sleep(100);
      expect(p.exitCode).toBeNull();
      p.kill(sig);
      expect({ sig, code: await p.exited }).toEqual({ sig, code: 0 });
    }
  }, T);

  let seq = 0;
  for (const handler of ["skiff", "runc"] as const) {
    for (const network of ["node", "cni"] as const) {
      test(`${handler}: a pod on the ${network === "node" ? "node's network (hostNetwork)" : "CNI bridge network"}: sandbox, container (with resources), ExecSync, exit codes, logs, shared namespaces, stop, remove, nothing left`, async () => {
        await podScenario(handler, network, ++seq);
      }, T);
    }
  }

  async function podScenario(handler: "skiff" | "runc", network: "node" | "cni", n: number): Promise<void> {
    const hostNet = network === "node";
    const name = `pod-${handler}-${network}-${n}`;
    const logDir = join(dir, "logs", name);
    const nsMode = { network: hostNet ? "NODE" : "POD", pid: "CONTAINER", ipc: "POD" };
    const sandboxConfig = {
      metadata: { name, uid: `uid-${name}`, namespace: "skiff-test", attempt: 0 },
      hostname: hostNet ? "" : name,
      log_directory: logDir,
      dns_config: { servers: [], searches: [], options: [] },
      labels: { app: "skiff-cri-test" },
      annotations: {},
      // the kubelet's layout: kubepods/<QoS class>/pod<uid> (under a root of the test's own)
      linux: { cgroup_parent: `/${CGROUP_PARENT}/burstable/pod${n}`, security_context: { namespace_options: nsMode } },
    };
    const cdMountsBefore = new Set(mountPointsOf(daemon!.pid));
    const podNetnsBefore = netnsFiles();
    const vethsBefore = links().filter((l) => l.startsWith("veth")).length;
    // what the kubelet sends for a Burstable pod's container with limits
    // cpu 500m and memory 64Mi (oom_score_adj: 1000 - 1000 x request / node memory)
    const resources = { cpu_period: 100000, cpu_quota: 50000, cpu_shares: 512, memory_limit_in_bytes: 64 << 20, oom_score_adj: 968 };
    const containerConfig = (cname: string, argv: string[], withResources = false) => ({
      metadata: { name: cname, attempt: 0 },
      image: { image: BUSYBOX_IMAGE },
      command: argv,
      args: [],
      working_dir: "/",
      envs: [{ key: "POD_NAME", value: name }],
      labels: {},
      annotations: {},
      log_path: `${cname}/0.log`,
      linux: { ...(withResources ? { resources } : {}), security_context: { namespace_options: nsMode } },
    });

    // ---- start, timed as the kubelet's pod start is (sandbox + container) ----
    const t0 = performance.now();
    const { pod_sandbox_id: pod } = await rpc("RunPodSandbox", { config: sandboxConfig, runtime_handler: handler });
    pods.add(pod);
    const script = 'echo started; echo to-stderr >&2; trap "echo got-term; exit 7" TERM; while true; do sleep 0.1; done';
    const { container_id: c1 } = await rpc("CreateContainer", { pod_sandbox_id: pod, config: containerConfig("main", ["sh", "-c", script], true), sandbox_config: sandboxConfig });
    await rpc("StartContainer", { container_id: c1 });
    const ms = performance.now() - t0;
    timings.push(`  ${handler.padEnd(5)} ${network === "node" ? "hostNetwork" : "CNI bridge "}  ${ms.toFixed(0).padStart(5)} ms`);

    try {
      // the sandbox runs under the handler asked for, and is ready
      const ps = await rpc("PodSandboxStatus", { pod_sandbox_id: pod, verbose: true });
      expect(ps.status.state).toBe("SANDBOX_READY");
      expect(ps.status.runtime_handler).toBe(handler);
      const podInfo = JSON.parse(ps.info.info ?? "{}");
      const pausePid = Number(podInfo.pid);
      expect(readFileSync(`/proc/${pausePid}/cmdline`, "utf8")).toBe("/pause\0");
      // the runtime that runs it is the handler's binary: its state is under that handler's Root
      expect(existsSync(join(dir, "runtime-root", handler, "k8s.io", pod))).toBe(true);
      expect(existsSync(join(dir, "runtime-root", handler === "skiff" ? "runc" : "skiff", "k8s.io", pod))).toBe(false);

      const cs = await rpc("ContainerStatus", { container_id: c1, verbose: true });
      expect(cs.status.state).toBe("CONTAINER_RUNNING");
      const cPid = Number(JSON.parse(cs.info.info ?? "{}").pid);
      expect(alive(cPid)).toBe(true);
      // both in the pod's cgroup (cgroupfs: parent/id)
      expect(readFileSync(`/proc/${pausePid}/cgroup`, "utf8")).toContain(`/${CGROUP_PARENT}/burstable/pod${n}/${pod}\n`);
      expect(readFileSync(`/proc/${cPid}/cgroup`, "utf8")).toContain(`/${CGROUP_PARENT}/burstable/pod${n}/${c1}\n`);
      // the container's resources, as the kubelet asked for them
      const v1 = existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes");
      expect({
        memory: cgroupFile(cPid, "memory", "memory.limit_in_bytes", "memory.max"),
        quota: v1 ? `${cgroupFile(cPid, "cpu", "cpu.cfs_quota_us", "")} ${cgroupFile(cPid, "cpu", "cpu.cfs_period_us", "")}` : cgroupFile(cPid, "cpu", "", "cpu.max"),
        // v2: runc's conversion of shares to weight, 1 + (512 - 2) * 9999 / 262142
        shares: cgroupFile(cPid, "cpu", "cpu.shares", "cpu.weight"),
        oom: readFileSync(`/proc/${cPid}/oom_score_adj`, "utf8").trim(),
      }).toEqual({ memory: String(64 << 20), quota: "50000 100000", shares: v1 ? "512" : "20", oom: "968" });

      // ---- the pod's containers share the sandbox's network, IPC and UTS namespaces ----
      for (const kind of ["net", "ipc", "uts"] as const) {
        expect({ kind, container: nsInode(cPid, kind) }).toEqual({ kind, container: nsInode(pausePid, kind) });
      }
      // ... but not its PID namespace (the kubelet's default, pid: CONTAINER)
      expect(nsInode(cPid, "pid")).not.toBe(nsInode(pausePid, "pid"));
      const ip = await exec(c1, ["ip", "-4", "-o", "addr"]);
      expect(ip.exit_code).toBe(0);
      if (hostNet) {
        // the node's network is the test's netns: only lo (and the bridge, once a CNI pod made it)
        expect(nsInode(cPid, "net")).toBe(netnsInode(NETNS));
        expect(ip.stdout).toContain("127.0.0.1");
        expect(ip.stdout).not.toContain("eth0");
      } else {
        expect(nsInode(cPid, "net")).not.toBe(netnsInode(NETNS));
        const podIp = ps.status.network?.ip ?? "";
        expect(podIp).toMatch(/^10\.88\.77\.\d+$/);
        expect(ip.stdout).toMatch(new RegExp(`eth0\\s+inet ${podIp.replace(/\./g, "\\.")}/24`));
        // the pod reaches the bridge's gateway (10.88.77.1), inside the test's netns
        expect((await exec(c1, ["ping", "-c", "1", "-W", "5", "10.88.77.1"])).exit_code).toBe(0);
        const hn = await exec(c1, ["hostname"]);
        expect(hn.stdout.trim()).toBe(name);
        // the CNI's iptables rules exist in the test's netns
        expect(run(["ip", "netns", "exec", NETNS, "iptables-save", "-t", "nat"]).stdout).toContain("10.88.77.");
      }

      // ---- ExecSync, the path of exec liveness probes ----
      const probe = await exec(c1, ["sh", "-c", 'echo "probe $POD_NAME"; echo probe-err >&2; exit 4']);
      expect({ code: probe.exit_code, out: probe.stdout, err: probe.stderr }).toEqual({ code: 4, out: `probe ${name}\n`, err: "probe-err\n" });
      expect((await exec(c1, ["true"])).exit_code).toBe(0);
      const missing = await exec(c1, ["/no/such/probe"]).then(
        (r) => `exit ${r.exit_code}`,
        (e: Error) => `error ${e.message}`,
      );
      // runc and skiff alike: the exec fails (containerd reports it as an error or as exit 126/127)
      notes.push(`  ${handler.padEnd(5)} ${network.padEnd(4)} ExecSync of a missing binary: ${missing.replace(/\s+/g, " ")}`);
      expect(missing).toMatch(/^(exit 12[67]|error .*no such file)/);

      // ---- a container that exits by itself: ContainerStatus has its code ----
      const { container_id: c2 } = await rpc("CreateContainer", { pod_sandbox_id: pod, config: containerConfig("exits", ["sh", "-c", "echo bye; exit 3"]), sandbox_config: sandboxConfig });
      await rpc("StartContainer", { container_id: c2 });
      let s2: Msg = {};
      expect(await until(async () => (s2 = (await rpc("ContainerStatus", { container_id: c2 })).status).state === "CONTAINER_EXITED")).toBe(true);
      expect({ exit: s2.exit_code, reason: s2.reason }).toEqual({ exit: 3, reason: "Error" });
      expect(s2.finished_at).toBeGreaterThan(0);

      // ---- StopContainer: SIGTERM, which the script traps to exit 7 ----
      await rpc("StopContainer", { container_id: c1, timeout: 10 });
      const s1 = (await rpc("ContainerStatus", { container_id: c1 })).status;
      expect({ state: s1.state, exit: s1.exit_code, reason: s1.reason }).toEqual({ state: "CONTAINER_EXITED", exit: 7, reason: "Error" });
      expect(waitFor(() => !alive(cPid), 5000)).toBe(true);

      // ---- the containers' logs, in the CRI log format (TIME STREAM TAG LINE) ----
      expect(s1.log_path).toBe(join(logDir, "main/0.log"));
      const log1 = criLog(s1.log_path);
      expect(log1).toEqual(expect.arrayContaining([["stdout", "F", "started"], ["stderr", "F", "to-stderr"], ["stdout", "F", "got-term"]]));
      expect(criLog(s2.log_path)).toEqual([["stdout", "F", "bye"]]);

      for (const c of [c1, c2]) await rpc("RemoveContainer", { container_id: c });
      for (const c of [c1, c2]) {
        const gone = await rpc("ContainerStatus", { container_id: c }).then(() => "still there", (e: Error) => e.message);
        expect(gone).toMatch(/NOT_FOUND/);
      }
    } finally {
      // ---- stop and remove the pod (also after a failure: nothing may stay) ----
      await rpc("StopPodSandbox", { pod_sandbox_id: pod });
      await rpc("RemovePodSandbox", { pod_sandbox_id: pod });
      pods.delete(pod);
    }
    const gone = await rpc("PodSandboxStatus", { pod_sandbox_id: pod }).then(() => "still there", (e: Error) => e.message);
    expect(gone).toMatch(/NOT_FOUND/);

    // ---- nothing left behind ----
    let left: string[] = [];
    const leftovers = () => {
      const found: string[] = [];
      for (const id of [pod, c1]) {
        found.push(...processesNaming(id), ...cgroupsNaming(id));
        for (const h of ["skiff", "runc"]) if (existsSync(join(dir, "runtime-root", h, "k8s.io", id))) found.push(`state dir of ${h} for ${id}`);
      }
      for (const m of mountPointsOf(daemon!.pid)) if (!cdMountsBefore.has(m)) found.push(`mount in containerd's namespace: ${m}`);
      for (const f of netnsFiles()) if (!podNetnsBefore.has(f)) found.push(`network namespace /run/netns/${f}`);
      const veths = links().filter((l) => l.startsWith("veth")).length;
      if (veths !== vethsBefore) found.push(`${veths - vethsBefore} veth(s) more in the test's netns`);
      return found;
    };
    waitFor(() => (left = leftovers()).length === 0, 10_000);
    expect(left).toEqual([]);
  }

  test("teardown: no pod, shim, cgroup, mount, network namespace or iptables rule of the test is left on the host", async () => {
    const pid = daemon!.pid;
    const left = await teardown();
    expect(left).toEqual([]);
    expect(alive(pid)).toBe(false);
    expect(processesNaming(dir || NETNS)).toEqual([]);
    expect(existsSync(`/run/netns/${NETNS}`)).toBe(false);
    expect([...netnsFiles()].filter((f) => !hostNetnsBefore.has(f))).toEqual([]);
    expect(mountPoints().filter((m) => !hostMountsBefore.has(m))).toEqual([]);
    expect(cgroupsNaming(CGROUP_PARENT)).toEqual([]);
    expect(iptablesSave()).toBe(hostIptablesBefore);
  }, T);

  async function exec(container: string, cmd: string[]): Promise<{ exit_code: number; stdout: string; stderr: string }> {
    const r = await rpc("ExecSync", { container_id: container, cmd, timeout: 30 });
    return { exit_code: r.exit_code, stdout: Buffer.from(r.stdout).toString(), stderr: Buffer.from(r.stderr).toString() };
  }
});

/** The links of the test's network namespace, by name. */
function links(): string[] {
  return run(["ip", "-n", NETNS, "-o", "link"])
    .stdout.split("\n")
    .map((l) => l.split(": ")[1]?.split("@")[0] ?? "")
    .filter(Boolean);
}

/** [stream, tag, line] of each line of a CRI log file ("2026-01-01T00:00:00.000000000Z stdout F text"). */
function criLog(path: string): [string, string, string][] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const m = /^(\d{4}-\d\d-\d\dT\S+Z) (stdout|stderr) ([FP]) (.*)$/.exec(l);
      if (!m) throw new Error(`${path}: not a CRI log line: ${l}`);
      return [m[2]!, m[3]!, m[4]!];
    });
}

async function until(cond: () => Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await Bun.sleep(100);
  }
}

// The CRI client's gRPC libraries are for this test only: the runtime must
// not carry them (nor load them on any command's path).
test("src/ imports nothing of @grpc (test-only dependencies)", () => {
  const hits = run(["grep", "-rlE", "@grpc/|proto-loader", join(import.meta.dir, "../../src")]).stdout.trim();
  expect(hits).toBe("");
});
