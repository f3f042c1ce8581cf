// Which cgroup hierarchies this host has, read once from mountinfo.
import { readFileSync } from "node:fs";

export interface Hierarchy {
  name: string; // "cpu", "name=systemd" -> "systemd", "unified" for cgroup2
  mount: string; // where it is mounted on the host
  fstype: "cgroup" | "cgroup2";
  options: string; // v1 controllers as mount data, e.g. "cpu,cpuacct" or "name=systemd"
  /** key of this hierarchy in /proc/self/cgroup: the controller list, or "" for v2 */
  key: string;
}

export interface CgroupLayout {
  kind: "v1" | "hybrid" | "v2" | "none";
  hierarchies: Hierarchy[];
}

const V1_OPTIONS = new Set(["rw", "ro", "nosuid", "nodev", "noexec", "relatime", "noatime", "clone_children", "xattr", "nsdelegate", "memory_recursiveprot"]);

export function parseLayout(mountinfo: string): CgroupLayout {
  const hierarchies: Hierarchy[] = [];
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const [fstype, , superOpts = ""] = line.slice(sep + 3).split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const mount = left[4]!.replace(/\\040/g, " ");
    if (fstype === "cgroup2") {
      hierarchies.push({ name: "unified", mount, fstype, options: "", key: "" });
      continue;
    }
    const ctrls = superOpts.split(",").filter((o) => !V1_OPTIONS.has(o) && !o.startsWith("release_agent="));
    const options = ctrls.join(",");
    const name = ctrls.map((c) => c.replace(/^name=/, "")).join(",");
    hierarchies.push({ name, mount, fstype, options, key: options });
  }
  const v1 = hierarchies.some((h) => h.fstype === "cgroup");
  const v2 = hierarchies.some((h) => h.fstype === "cgroup2");
  const kind = v1 && v2 ? "hybrid" : v1 ? "v1" : v2 ? "v2" : "none";
  return { kind, hierarchies };
}

export function detectLayout(): CgroupLayout {
  return parseLayout(readFileSync("/proc/self/mountinfo", "utf8"));
}

/** /proc/self/cgroup as key -> path ("" is the v2 hierarchy). */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}
