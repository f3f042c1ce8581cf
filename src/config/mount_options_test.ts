import { expect, test } from "bun:test";
import { SpecError } from "../errors";
import {
  MOUNT_ATTR__ATIME,
  MOUNT_ATTR_NOATIME,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_NOSYMFOLLOW,
  MOUNT_ATTR_RDONLY,
  MOUNT_ATTR_STRICTATIME,
  MOUNT_OPTIONS,
  MS_BIND,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_RELATIME,
  MS_REMOUNT,
  MS_SHARED,
  MS_SLAVE,
  MS_STRICTATIME,
  MS_UNBINDABLE,
  parseMountOptions,
} from "./mount_options";

// The list in runtime-spec config.md ("Linux mount options"), minus what skiff rejects.
const SPEC_OPTIONS = `async atime bind defaults dev diratime dirsync exec idmap iversion lazytime loud mand noatime nodev
  nodiratime noexec noiversion nolazytime nomand norelatime nostrictatime nosuid nosymfollow private ratime rbind rdev
  rdiratime relatime remount rexec rnoatime rnodev rnodiratime rnoexec rnorelatime rnostrictatime rnosuid rnosymfollow
  ridmap ro rprivate rrelatime rro rrw rshared rslave rstrictatime rsuid rsymfollow runbindable rw shared silent slave
  strictatime suid symfollow sync unbindable`.split(/\s+/);

test("every spec option is understood and none goes to the filesystem", () => {
  expect([...MOUNT_OPTIONS].sort()).toEqual([...SPEC_OPTIONS].sort());
  for (const o of SPEC_OPTIONS) expect({ o, data: parseMountOptions([o]).data }).toEqual({ o, data: [] });
});

test("flags of runc's /dev/shm mount; data keeps the filesystem options in order", () => {
  const m = parseMountOptions(["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]);
  expect(m.flags).toBe(MS_NOSUID | MS_NOEXEC | MS_NODEV);
  expect(m.data).toEqual(["mode=1777", "size=65536k"]);
  expect(m.bind).toBe(false);
  expect(m.propagation).toEqual([]);
});

test("kernel values of the flags", () => {
  expect([MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC]).toEqual([1, 2, 4, 8, 32, 4096, 16384]);
  expect([MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED]).toEqual([1 << 17, 1 << 18, 1 << 19, 1 << 20]);
  expect([MS_RELATIME, MS_STRICTATIME]).toEqual([1 << 21, 1 << 24]);
  expect([MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR__ATIME, MOUNT_ATTR_NOSYMFOLLOW]).toEqual([1, 2, 4, 0x70, 0x200000]);
});

test("later options win over earlier ones", () => {
  const m = parseMountOptions(["ro", "nosuid", "rw", "suid", "nodev"]);
  expect(m.flags).toBe(MS_NODEV);
  expect(m.clearFlags).toBe(MS_RDONLY | MS_NOSUID);
  const n = parseMountOptions(["rw", "ro"]);
  expect(n.flags).toBe(MS_RDONLY);
  expect(n.clearFlags).toBe(0);
});

test("bind and rbind", () => {
  const b = parseMountOptions(["bind", "ro"]);
  expect(b).toMatchObject({ bind: true, recursive: false, flags: MS_BIND | MS_RDONLY });
  const r = parseMountOptions(["rbind", "nosuid"]);
  expect(r).toMatchObject({ bind: true, recursive: true, flags: MS_BIND | MS_REC | MS_NOSUID });
});

test("propagation options become separate calls in order", () => {
  const m = parseMountOptions(["rbind", "rprivate", "shared", "rslave", "unbindable", "runbindable"]);
  expect(m.propagation).toEqual([MS_PRIVATE | MS_REC, MS_SHARED, MS_SLAVE | MS_REC, MS_UNBINDABLE, MS_UNBINDABLE | MS_REC]);
  expect(m.flags & (MS_PRIVATE | MS_SHARED | MS_SLAVE | MS_UNBINDABLE)).toBe(0);
});

test("recursive attributes go to mount_setattr", () => {
  const m = parseMountOptions(["rbind", "rro", "rnosuid", "rnodev", "rdev"]);
  expect(m.recAttrSet).toBe(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);
  expect(m.recAttrClr).toBe(MOUNT_ATTR_NODEV);
  expect(m.flags).toBe(MS_BIND | MS_REC);
  const w = parseMountOptions(["rro", "rrw"]);
  expect(w.recAttrSet).toBe(0);
  expect(w.recAttrClr).toBe(MOUNT_ATTR_RDONLY);
});

test("recursive atime options clear the whole atime field and set one mode", () => {
  expect(parseMountOptions(["rnoatime"])).toMatchObject({ recAttrSet: MOUNT_ATTR_NOATIME, recAttrClr: MOUNT_ATTR__ATIME });
  expect(parseMountOptions(["rnoatime", "rrelatime"])).toMatchObject({ recAttrSet: 0, recAttrClr: MOUNT_ATTR__ATIME });
  expect(parseMountOptions(["rstrictatime"])).toMatchObject({ recAttrSet: MOUNT_ATTR_STRICTATIME, recAttrClr: MOUNT_ATTR__ATIME });
  expect(parseMountOptions(["rnosuid", "ratime"])).toMatchObject({ recAttrSet: MOUNT_ATTR_NOSUID, recAttrClr: MOUNT_ATTR__ATIME });
});

test("unknown options are filesystem data, even prototype names", () => {
  expect(parseMountOptions(["mode=755", "constructor", "toString", "acl"]).data).toEqual(["mode=755", "constructor", "toString", "acl"]);
});

test("idmap and ridmap mark an idmapped mount and are never filesystem data", () => {
  expect(parseMountOptions(["rbind", "idmap"])).toMatchObject({ idmap: true, ridmap: false, recursive: true, data: [] });
  expect(parseMountOptions(["bind", "ridmap"])).toMatchObject({ idmap: true, ridmap: true, recursive: false, data: [] });
  expect(MOUNT_OPTIONS).toContain("idmap");
  expect(MOUNT_OPTIONS).toContain("ridmap");
});

test("tmpcopyup is rejected with the option's pointer", () => {
  for (const o of ["tmpcopyup"]) {
    let err: unknown;
    try {
      parseMountOptions(["nosuid", o], { pointer: "/mounts/2/options" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    const issue = (err as SpecError).issues[0]!;
    expect(issue.pointer).toBe("/mounts/2/options/1");
    expect(issue.message).toContain("not supported");
  }
});
