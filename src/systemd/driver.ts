// The systemd cgroup driver: a container's cgroup is a transient scope unit
// that systemd makes (StartTransientUnit, mode "replace", Delegate=yes,
// the init pid in PIDs), with the resources systemd owns as properties;
// what systemd does not manage is then written to the files by
// cgroups/apply.ts, as under the cgroupfs driver. Loaded lazily (load.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SkiffError } from "../errors";
import type { CgroupRecord } from "../cgroups/cgroup_types";
import type { CgroupLayout } from "../cgroups/layout";
import type { LinuxResources } from "../cgroups/resources_types";
import { DbusConnectError, DbusConnection, DbusError, systemBusSocket } from "./dbus_conn";
import { procDevices, resourceProperties, scopeProperties, type Property } from "./properties";
import type { SystemdUnitPath } from "./unit_path";
export { systemdUnitPath } from "./unit_path";

const DEST = "org.freedesktop.systemd1";
const PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";
/** How long a start or stop job may take (runc waits 30 s too). */
export const JOB_TIMEOUT_MS = 30_000;

/** Connect to systemd's bus, or one line that says where and why not. */
export function connectSystemd(): DbusConnection {
  const socket = systemBusSocket();
  try {
    return DbusConnection.connect(socket, { timeoutMs: 10_000 });
  } catch (e) {
    const cause = e instanceof DbusConnectError ? e.reason : (e as Error).message;
    throw new SkiffError(`--systemd-cgroup: cannot connect to systemd over D-Bus at ${socket}: ${cause}`);
  }
}

/**
 * The record of a container's scope before it exists (the plan needs the
 * path): on a cgroup v2 host only. systemd makes and removes the
 * directories, so `created` stays empty.
 */
export function plannedRecord(layout: CgroupLayout, u: SystemdUnitPath): CgroupRecord {
  const v2 = layout.hierarchies.find((h) => h.fstype === "cgroup2");
  if (layout.kind !== "v2" || !v2) {
    throw new SkiffError(`--systemd-cgroup: needs a cgroup v2 (unified) host, this one is ${layout.kind === "hybrid" ? "hybrid (cgroup v1 controllers)" : layout.kind}: use the cgroupfs driver`);
  }
  const dir = join(v2.mount, u.cgroup);
  return { paths: { unified: dir }, created: [], unified: dir, systemd: { unit: u.unit, slice: u.slice } };
}

function managerCall(conn: DbusConnection, member: string, signature: string, body: Parameters<DbusConnection["call"]>[0]["body"]) {
  return conn.call({ destination: DEST, path: PATH, interface: MANAGER, member, signature, body });
}

/** systemd's major version (Manager.Version, "252.39-1~deb12u2" -> 252). */
export function systemdVersion(conn: DbusConnection): number {
  const [v] = conn.call({ destination: DEST, path: PATH, interface: "org.freedesktop.DBus.Properties", member: "Get", signature: "ss", body: [MANAGER, "Version"] });
  const text = String((v as { value: unknown }).value);
  return Number(/^v?(\d+)/.exec(text)?.[1] ?? 0);
}

/** Wait for the job's JobRemoved signal; its result ("done", "failed", "timeout"...). */
function waitJob(conn: DbusConnection, job: string, what: string): string {
  const m = conn.waitSignal((s) => s.member === "JobRemoved" && s.interface === MANAGER && s.body[1] === job, JOB_TIMEOUT_MS);
  if (!m) throw new SkiffError(`${what}: systemd did not finish job ${job} within ${JOB_TIMEOUT_MS / 1000} s`);
  return String(m.body[3]);
}

// systemd refuses a second Subscribe on one connection (AlreadySubscribed):
// create's clean-up stops the unit on the connection that started it.
const subscribed = new WeakSet<DbusConnection>();

/** JobRemoved signals from now on (the job's creator gets them anyway; Subscribe as go-systemd does). */
function watchJobs(conn: DbusConnection): void {
  if (subscribed.has(conn)) return;
  conn.addMatch(`type='signal',sender='${DEST}',path='${PATH}',interface='${MANAGER}',member='JobRemoved'`);
  managerCall(conn, "Subscribe", "", []);
  subscribed.add(conn);
}

function resetFailed(conn: DbusConnection, unit: string): void {
  try {
    managerCall(conn, "ResetFailedUnit", "s", [unit]);
  } catch {
    // not failed, or gone already: nothing to reset
  }
}

export interface StartScope {
  record: CgroupRecord;
  id: string;
  pid: number;
  resources: LinuxResources | undefined;
  warn?: (msg: string) => void;
}

/** StartTransientUnit for the container's scope with its pid, then wait for the job. Returns the properties sent. */
export function startScope(conn: DbusConnection, s: StartScope): Property[] {
  const { unit, slice } = s.record.systemd!;
  const version = systemdVersion(conn);
  let devices: ReturnType<typeof procDevices> | undefined;
  const props = scopeProperties(s.resources, {
    id: s.id,
    slice,
    pid: s.pid,
    systemdVersion: version,
    deviceNames: (t, major) => (devices ??= procDevices(readFileSync("/proc/devices", "utf8")))(t, major),
    warn: s.warn,
  });
  const what = `start systemd unit ${unit}`;
  // Subscribed before the call: the job may end before its reply is read.
  watchJobs(conn);
  let job: string;
  try {
    [job] = managerCall(conn, "StartTransientUnit", "ssa(sv)a(sa(sv))", [unit, "replace", props, []]) as [string];
  } catch (e) {
    if (!(e instanceof DbusError && e.errorName === "org.freedesktop.systemd1.UnitExists")) throw new SkiffError(`${what}: ${(e as Error).message}`);
    // A failed unit of an earlier container with this name: reset it and
    // try once more, as runc does. A live one stays refused.
    resetFailed(conn, unit);
    try {
      [job] = managerCall(conn, "StartTransientUnit", "ssa(sv)a(sa(sv))", [unit, "replace", props, []]) as [string];
    } catch (e2) {
      throw new SkiffError(`${what}: ${(e2 as Error).message}`);
    }
  }
  const result = waitJob(conn, job, what);
  if (result !== "done") {
    resetFailed(conn, unit);
    throw new SkiffError(`${what}: the job ended "${result}" (see journalctl -u ${unit})`);
  }
  return props;
}

/** update: the resources systemd owns, as unit properties (runtime only, as runc). */
export function setScopeResources(conn: DbusConnection, record: CgroupRecord, resources: LinuxResources): Property[] {
  const unit = record.systemd!.unit;
  const props = resourceProperties(resources, { systemdVersion: systemdVersion(conn) });
  if (!props.length) return props;
  try {
    managerCall(conn, "SetUnitProperties", "sba(sv)", [unit, true, props]);
  } catch (e) {
    throw new SkiffError(`set properties of systemd unit ${unit}: ${(e as Error).message}`);
  }
  return props;
}

/** delete: stop the scope (its cgroup goes with it) and forget a failed one. */
export function stopScope(conn: DbusConnection, record: CgroupRecord): void {
  const unit = record.systemd!.unit;
  const what = `stop systemd unit ${unit}`;
  watchJobs(conn);
  let job: string | undefined;
  try {
    [job] = managerCall(conn, "StopUnit", "ss", [unit, "replace"]) as [string];
  } catch (e) {
    // Already gone (its last process exited and systemd collected it): fine.
    if (!(e instanceof DbusError && e.errorName === "org.freedesktop.systemd1.NoSuchUnit")) throw new SkiffError(`${what}: ${(e as Error).message}`);
  }
  if (job) waitJob(conn, job, what);
  resetFailed(conn, unit);
}
