// Helpers for the cgroup tests on this (hybrid v1) host.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Where a container with a relative cgroupsPath lands in hierarchy `mount` (e.g. "memory"). */
export function hostCgroupDir(mountName: string, cgroupsPath: string): string {
  const mount = `/sys/fs/cgroup/${mountName}`;
  const key = mountName === "unified" ? "" : mountName === "systemd" ? "name=systemd" : mountName;
  const own = new Map<string, string>();
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) own.set(m[1]!, m[2]!);
  }
  return join(mount, own.get(key) ?? "/", cgroupsPath);
}

export function readCg(mountName: string, cgroupsPath: string, file: string): string {
  return readFileSync(join(hostCgroupDir(mountName, cgroupsPath), file), "utf8").trim();
}

export const hasFile = (mountName: string, file: string) => existsSync(join("/sys/fs/cgroup", mountName, file));
export const isRoot = process.getuid?.() === 0;
