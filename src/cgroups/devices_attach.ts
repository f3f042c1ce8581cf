// Load and attach a container's cgroup v2 device filter with build/skiff-bpf
// (a small static C helper beside skiff-init: BPF_PROG_LOAD, BPF_PROG_ATTACH).
import { existsSync, readFileSync, statfsSync } from "node:fs";
import { dirname, join } from "node:path";
import { HelperError } from "../errors";
import { ResourceError } from "./translate";

const CGROUP2_SUPER_MAGIC = 0x63677270;

export function findBpfBinary(): string {
  const candidates = [process.env.SKIFF_BPF, join(dirname(process.execPath), "skiff-bpf"), new URL("../../build/skiff-bpf", import.meta.url).pathname];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new HelperError("find skiff-bpf: not found next to skiff; set SKIFF_BPF or reinstall");
}

/** True inside a user namespace other than the initial one (rootless): bpf(2) is refused there. */
function inUserNamespace(): boolean {
  try {
    return readFileSync("/proc/self/uid_map", "utf8").trim().split(/\s+/).join(" ") !== "0 0 4294967295";
  } catch {
    return false;
  }
}

/**
 * Attach the program (hex of struct bpf_insn[]) to the cgroup directory,
 * replacing the device programs attached there before. In a user namespace
 * a failure is only a warning, as under runc.
 */
export function attachDeviceFilter(dir: string, hex: string, opts: { warn?: (msg: string) => void; debug?: (msg: string) => void } = {}): void {
  // Only a cgroup2 directory can hold the program; a fake tree (unit tests) cannot.
  let fsType = CGROUP2_SUPER_MAGIC; // when statfs fails, skiff-bpf reports why
  try {
    fsType = statfsSync(dir).type;
  } catch {}
  if (fsType !== CGROUP2_SUPER_MAGIC) {
    opts.debug?.(`/linux/resources/devices: ${dir} is not on a cgroup2 file system: no device filter attached`);
    return;
  }
  const r = Bun.spawnSync([findBpfBinary(), "attach-device-filter", dir, hex], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  if (r.exitCode === 0) return;
  const cause = r.stderr.toString().trim() || `skiff-bpf exited ${r.exitCode ?? r.signalCode}`;
  if (inUserNamespace()) {
    opts.warn?.(`/linux/resources/devices: device rules are not enforced (in a user namespace): ${cause}`);
    return;
  }
  throw new ResourceError("/linux/resources/devices", cause);
}
