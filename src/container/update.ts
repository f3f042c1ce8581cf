// `skiff update`: change the resources of a live container, then record the
// merged resources in state.json's copy of the config.
import { StateError } from "../errors";
import { applyResources } from "../cgroups/apply";
import { detectLayout } from "../cgroups/layout";
import type { LinuxResources } from "../cgroups/resources_types";
import { logDebug, logWarning } from "../util/log";
import { withContainerLock } from "./lock";
import { loadSystemdDriver } from "../systemd/load";
import { deriveStatus, readState, writeState } from "./state";

/** The parts of linux.resources that `update` may change (as runc's update). */
export function updatableSubset(r: LinuxResources): LinuxResources {
  const out: LinuxResources = {};
  const pick = <T extends object>(src: T | undefined, keys: (keyof T)[]): T | undefined => {
    if (!src) return undefined;
    const o = {} as T;
    let any = false;
    for (const k of keys) {
      if (src[k] !== undefined && src[k] !== null) {
        o[k] = src[k];
        any = true;
      }
    }
    return any ? o : undefined;
  };
  const memory = pick(r.memory, ["limit", "reservation", "swap", "kernel", "kernelTCP", "checkBeforeUpdate"]);
  if (memory) out.memory = memory;
  const cpu = pick(r.cpu, ["shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"]);
  if (cpu) out.cpu = cpu;
  if (r.blockIO?.weight) out.blockIO = { weight: r.blockIO.weight };
  if (r.pids?.limit) out.pids = { limit: r.pids.limit };
  if (r.unified && Object.keys(r.unified).length) out.unified = { ...r.unified };
  return out;
}

/** Overlay `change` on `base`, field by field. */
export function mergeResources(base: LinuxResources | undefined, change: LinuxResources): LinuxResources {
  const out: LinuxResources = structuredClone(base ?? {});
  if (change.memory) out.memory = { ...out.memory, ...change.memory };
  if (change.cpu) out.cpu = { ...out.cpu, ...change.cpu };
  if (change.blockIO) out.blockIO = { ...out.blockIO, ...change.blockIO };
  if (change.pids) out.pids = { ...out.pids, ...change.pids };
  if (change.unified) out.unified = { ...out.unified, ...change.unified };
  return out;
}

export function updateContainer(root: string, id: string, change: LinuxResources): LinuxResources {
  const { paths } = readState(root, id);
  return withContainerLock(paths, () => {
    const { state } = readState(root, id);
    if (deriveStatus(state, paths) === "stopped") throw new StateError(`cannot update container ${id}: container not running`);
    const subset = updatableSubset(change);
    if (state.cgroup.systemd) {
      // What systemd owns goes through it (or it would undo our writes on
      // its next reload), the rest to the files below, as runc.
      const systemd = loadSystemdDriver();
      const conn = systemd.connectSystemd();
      try {
        systemd.setScopeResources(conn, state.cgroup, subset);
      } finally {
        conn.close();
      }
    }
    applyResources(detectLayout(), state.cgroup, subset, { update: true, skipDevices: true, warn: logWarning, debug: logDebug });
    const linux = (state.config.linux ??= {});
    const merged = mergeResources(linux.resources as LinuxResources | undefined, subset);
    linux.resources = merged as Record<string, unknown>;
    writeState(paths, state);
    return merged;
  });
}
