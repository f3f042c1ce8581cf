// Parts of config.json that are valid but that this skiff cannot honour yet.
// They fail with a clear error instead of being ignored.
import { existsSync } from "node:fs";
import { SpecError, type SpecIssue } from "../errors";
import type { Spec } from "../config/types";
import { isIdmapped } from "../plan/bind_trees";

export function checkSupported(spec: Spec, _opts: { consoleSocket?: string } = {}): void {
  const issues: SpecIssue[] = [];
  const linux = spec.linux ?? {};
  if (linux.intelRdt) issues.push({ pointer: "/linux/intelRdt", message: "intelRdt is not supported" });
  if (linux.netDevices && Object.keys(linux.netDevices).length) issues.push({ pointer: "/linux/netDevices", message: "netDevices is not supported" });
  if (linux.memoryPolicy) issues.push({ pointer: "/linux/memoryPolicy", message: "memoryPolicy is not supported yet" });
  if (spec.process?.apparmorProfile && !existsSync("/sys/kernel/security/apparmor")) {
    issues.push({ pointer: "/process/apparmorProfile", message: "apparmor is not enabled on this host" });
  }
  // mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN in the user namespace of the source's filesystem (runc refuses too).
  const idmapped = (spec.mounts ?? []).findIndex(isIdmapped);
  if (idmapped >= 0 && process.geteuid?.() !== 0) {
    issues.push({ pointer: `/mounts/${idmapped}`, message: "idmapped mounts need skiff to run as root (CAP_SYS_ADMIN in the host's user namespace)" });
  }
  if (!(linux.namespaces ?? []).some((n) => n.type === "mount")) {
    issues.push({ pointer: "/linux/namespaces", message: "a mount namespace is required" });
  }
  if (issues.length) throw new SpecError("config.json", issues);
}
