// linux.cgroupsPath in the systemd driver's form "slice:prefix:name", turned
// into the unit systemd is asked for and the cgroup directory it will make.
// Pure: the driver and `skiff plan` use it, and it is tested without root.
//
// The rules are runc's (and so what containerd, CRI-O, Podman and Docker
// write): an empty path is ":skiff:ID" (runc's ":runc:ID"); an empty slice
// is system.slice; the scope is "<prefix>-<name>.scope"; a slice nests by
// its dashes, so "a-b-c.slice" lives at /a.slice/a-b.slice/a-b-c.slice, and
// "-.slice" is the root.
import { SpecError } from "../errors";

export const DEFAULT_SLICE = "system.slice";
export const DEFAULT_PREFIX = "skiff";
const POINTER = "/linux/cgroupsPath";

export interface SystemdUnitPath {
  /** the parent slice, as given to systemd's Slice= property */
  slice: string;
  /** the transient scope unit, "<prefix>-<name>.scope" */
  unit: string;
  /** the scope's cgroup, relative to the cgroup2 mount: "/system.slice/skiff-ID.scope" */
  cgroup: string;
}

// systemd's unit-name alphabet (unit_name_is_valid): anything else makes
// StartTransientUnit fail later with a less helpful message.
const UNIT_CHARS = /^[A-Za-z0-9:_.\\-]+$/;
const UNIT_NAME_MAX = 255;

function refuse(message: string): never {
  throw new SpecError("config.json", [{ pointer: POINTER, message }]);
}

/** "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "/". */
export function expandSlice(slice: string): string {
  const stem = slice.endsWith(".slice") ? slice.slice(0, -".slice".length) : "";
  if (!stem || slice.includes("/")) refuse(`invalid slice name ${JSON.stringify(slice)}: a systemd slice is NAME.slice, without slashes`);
  if (stem === "-") return "/";
  const parts = stem.split("-");
  if (parts.some((p) => p === "")) refuse(`invalid slice name ${JSON.stringify(slice)}: empty part between dashes`);
  if (!UNIT_CHARS.test(slice)) refuse(`invalid slice name ${JSON.stringify(slice)}: only letters, digits and ":_.\\-" are allowed in unit names`);
  let path = "";
  for (let i = 1; i <= parts.length; i++) path += `/${parts.slice(0, i).join("-")}.slice`;
  return path;
}

/**
 * The unit and cgroup for a container. `cgroupsPath` is linux.cgroupsPath
 * (undefined or "" for the default).
 */
export function systemdUnitPath(cgroupsPath: string | undefined, id: string): SystemdUnitPath {
  let slice = "";
  let prefix = DEFAULT_PREFIX;
  let name = id;
  if (cgroupsPath) {
    const parts = cgroupsPath.split(":");
    if (parts.length !== 3) refuse(`expected "slice:prefix:name" for the systemd cgroup driver (--systemd-cgroup), got ${JSON.stringify(cgroupsPath)}`);
    [slice, prefix, name] = parts as [string, string, string];
  }
  slice ||= DEFAULT_SLICE;
  // runc makes a slice unit when the name ends in ".slice" (the kubelet's
  // pod slices, made through libcontainer, never through the CLI); skiff
  // runs containers in scopes only.
  if (name.endsWith(".slice")) refuse(`a container's unit must be a scope, not the slice ${JSON.stringify(name)}`);
  if (!name) refuse(`the name part of ${JSON.stringify(cgroupsPath)} is empty`);
  const unit = `${prefix}-${name}.scope`;
  if (!UNIT_CHARS.test(unit)) refuse(`invalid unit name ${JSON.stringify(unit)}: only letters, digits and ":_.\\-" are allowed in unit names`);
  if (unit.length > UNIT_NAME_MAX) refuse(`unit name ${JSON.stringify(unit)} is longer than ${UNIT_NAME_MAX} characters`);
  const parent = expandSlice(slice);
  return { slice, unit, cgroup: parent === "/" ? `/${unit}` : `${parent}/${unit}` };
}
