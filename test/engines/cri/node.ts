// The "node" of the CRI test: a private containerd with its CRI plugin, run
// inside a network namespace the test creates, with a CNI bridge network,
// runtime handlers `skiff` and `runc`, and a pause image built here. What a
// kubelet would find on a node, without touching the host's network,
// containerd or images.

import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must, ociArchive, run, startDaemon, type Daemon } from "../harness";

/** The image containerd's CRI runs as every pod's sandbox (its infrastructure container). */
export const PAUSE_IMAGE = "skiff.test/pause:1";
export const BUSYBOX_IMAGE = "skiff.test/busybox:1";
/** The bridge network's subnet; it exists only inside the test's network namespace. */
export const POD_SUBNET = "10.88.77.0/24";
export const CNI_BIN = "/usr/lib/cni";

export interface NodeConfig {
  dir: string;
  /** the test's network namespace (`ip netns add`), the node's network */
  netns: string;
  skiff: string;
  runc: string;
}

/** containerd's config: CRI on, handlers skiff and runc (runc v2 shim), cgroupfs, everything under dir. */
export function containerdConfig(c: NodeConfig): string {
  const { dir } = c;
  const handler = (name: string, binary: string) => `
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${name}]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${name}.options]
      BinaryName = "${binary}"
      Root = "${dir}/runtime-root/${name}"
      SystemdCgroup = false
`;
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"

[grpc]
  address = "${dir}/containerd.sock"

[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"

[debug]
  address = "${dir}/debug.sock"

# the opt plugin would otherwise make /opt/containerd
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # the streaming server (Exec/Attach/PortForward URLs) listens inside the netns
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # the pause container's oom_score_adj is -998 for the CRI: lowering it needs
  # CAP_SYS_RESOURCE, which this machine's bounding set lacks (runc and skiff
  # both fail on it); this keeps every adj at or above containerd's own
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
${handler("runc", c.runc)}${handler("skiff", c.skiff)}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN}"
    conf_dir = "${dir}/cni/net.d"
`;
}

/** A bridge network with host-local addresses (state under dir) and masquerading: its iptables rules land in the netns. */
export function cniConfig(dir: string): string {
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "skiff-cri",
      plugins: [
        {
          type: "bridge",
          bridge: "skiffcri0",
          isGateway: true,
          ipMasq: true,
          ipam: { type: "host-local", ranges: [[{ subnet: POD_SUBNET }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: join(dir, "cni/ipam") },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/** Compiles ./pause.c static and packs it as an OCI archive whose entrypoint is /pause. */
export function pauseArchive(dir: string): string {
  const root = join(dir, "pause-rootfs");
  mkdirSync(root, { recursive: true });
  must(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", join(root, "pause"), join(import.meta.dir, "pause.c")]);
  const tar = join(dir, "pause-rootfs.tar");
  must(["tar", "-C", root, "--numeric-owner", "--owner=0", "--group=0", "-cf", tar, "pause"]);
  return ociArchive(dir, PAUSE_IMAGE, { tar, entrypoint: ["/pause"], name: "pause-oci.tar" });
}

/** Creates the network namespace with its loopback up. */
export function addNetns(name: string): void {
  must(["ip", "netns", "add", name]);
  must(["ip", "-n", name, "link", "set", "lo", "up"]);
}

export function delNetns(name: string): void {
  if (existsSync(`/run/netns/${name}`)) run(["ip", "netns", "del", name]);
}

/** Whether /run/netns exists and is a mount point (`ip netns add` makes it a shared bind mount of itself). */
export function netnsDirState(): { exists: boolean; mounted: boolean } {
  const mounted = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[4] === "/run/netns");
  return { exists: existsSync("/run/netns"), mounted };
}

/**
 * Undoes what `ip netns add` did to /run/netns when the test's was the
 * first namespace there: the bind mount and the dir, only while empty (a
 * namespace someone else added since keeps both).
 */
export function releaseNetnsDir(before: { exists: boolean; mounted: boolean }): string[] {
  const now = netnsDirState();
  if (!now.exists || readdirSync("/run/netns").length > 0) return now.exists && !before.exists ? ["/run/netns (not empty)"] : [];
  if (now.mounted && !before.mounted) run(["umount", "/run/netns"]);
  if (!before.exists) run(["rmdir", "/run/netns"]);
  const after = netnsDirState();
  const left: string[] = [];
  if (after.mounted && !before.mounted) left.push("mount /run/netns");
  if (after.exists && !before.exists) left.push("dir /run/netns");
  return left;
}

/** The inode of a named network namespace, as /proc/PID/ns/net shows it ("net:[INODE]"). */
export function netnsInode(name: string): number {
  return statSync(`/run/netns/${name}`).ino;
}

/**
 * Starts containerd in the netns and in a mount namespace of its own, a
 * slave of the host's: the host's mounts (cgroups among them) show in it,
 * its mounts (snapshots, pods' /dev/shm, the pods' netns files) never show
 * in the host's. Not `ip netns exec`: that mounts a fresh /sys, without
 * /sys/fs/cgroup. unshare and nsenter exec (no fork): the pid is containerd's.
 */
export async function startNode(c: NodeConfig, ready: () => boolean): Promise<Daemon> {
  mkdirSync(join(c.dir, "cni/net.d"), { recursive: true });
  writeFileSync(join(c.dir, "cni/net.d/10-skiff-cri.conflist"), cniConfig(c.dir));
  writeFileSync(join(c.dir, "config.toml"), containerdConfig(c));
  return startDaemon({
    name: "containerd (CRI)",
    argv: ["unshare", "--mount", "--propagation", "slave", "nsenter", `--net=/run/netns/${c.netns}`, "/usr/bin/containerd", "--config", join(c.dir, "config.toml")],
    pidFile: join(c.dir, "containerd.pid"),
    writePidFile: true,
    log: join(c.dir, "containerd.log"),
    ready,
    timeoutMs: 60_000,
  });
}

/** Mount points of the mount namespace of `pid` (containerd's own). */
export function mountPointsOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => (l.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  } catch {
    return [];
  }
}

/** "net:[4026531992]" -> 4026531992 for /proc/PID/ns/KIND; 0 when unreadable. */
export function nsInode(pid: number, kind: "net" | "ipc" | "uts" | "pid" | "mnt"): number {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${kind}`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * The content of a cgroup file of `pid`'s cgroup for `controller`: the v1
 * hierarchy's `v1file` where the controller is mounted as v1 (this
 * machine's hybrid layout), else the unified hierarchy's `v2file`.
 */
export function cgroupFile(pid: number, controller: string, v1file: string, v2file: string): string | undefined {
  const own = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").filter(Boolean);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter(Boolean);
  for (const m of mounts) {
    const [pre, post] = m.split(" - ");
    const [fstype, , opts] = (post ?? "").split(" ");
    const at = (pre ?? "").split(" ")[4] ?? "";
    if (fstype === "cgroup" && (opts ?? "").split(",").includes(controller)) {
      const line = own.find((l) => l.split(":")[1]!.split(",").includes(controller));
      if (line) return readFileSync(join(at, line.split(":").slice(2).join(":"), v1file), "utf8").trim();
    }
  }
  for (const m of mounts) {
    const [pre, post] = m.split(" - ");
    if ((post ?? "").split(" ")[0] !== "cgroup2") continue;
    const line = own.find((l) => l.startsWith("0::"));
    const at = (pre ?? "").split(" ")[4] ?? "";
    if (line) {
      const p = join(at, line.slice(3), v2file);
      if (existsSync(p)) return readFileSync(p, "utf8").trim();
    }
  }
  return undefined;
}
