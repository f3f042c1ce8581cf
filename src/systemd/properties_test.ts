import { describe, expect, test } from "bun:test";
import { ResourceError } from "../cgroups/translate";
import { variant } from "./dbus_wire";
import { deviceProperties, procDevices, rangeToBits, resourceProperties, scopeProperties } from "./properties";

const INF = 0xffffffffffffffffn;
const props = (list: [string, unknown][]) => Object.fromEntries(list);

describe("scopeProperties", () => {
  test("the scope's own properties, as runc sets them", () => {
    const p = props(scopeProperties(undefined, { id: "c1", slice: "system.slice", pid: 42, systemdVersion: 252 }));
    expect(p.Description).toEqual(variant("s", "skiff container c1"));
    expect(p.Slice).toEqual(variant("s", "system.slice"));
    expect(p.PIDs).toEqual(variant("au", [42]));
    expect(p.Delegate).toEqual(variant("b", true));
    for (const a of ["MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting"]) expect(p[a]).toEqual(variant("b", true));
    expect(p.DefaultDependencies).toEqual(variant("b", false));
    // default device rules only: strict, the defaults allowed
    expect(p.DevicePolicy).toEqual(variant("s", "strict"));
  });
});

describe("resourceProperties", () => {
  test("memory, swap, cpu weight/quota/period, tasks, cpusets", () => {
    const p = props(
      resourceProperties(
        { memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20 }, cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0-1", mems: "0" }, pids: { limit: 20 } },
        { systemdVersion: 252 },
      ),
    );
    expect(p).toEqual({
      MemoryMax: variant("t", 67108864n),
      MemoryLow: variant("t", 33554432n),
      MemorySwapMax: variant("t", 33554432n), // v1's memory+swap minus memory
      CPUWeight: variant("t", 39n), // runc's shares -> weight
      CPUQuotaPeriodUSec: variant("t", 100000n),
      CPUQuotaPerSecUSec: variant("t", 500000n),
      TasksMax: variant("t", 20n),
      AllowedCPUs: variant("ay", [3]),
      AllowedMemoryNodes: variant("ay", [1]),
    });
  });
  test("quota rounds up to 10 ms per second; -1 quota and limits are infinity", () => {
    expect(props(resourceProperties({ cpu: { quota: 12345, period: 100000 } }, { systemdVersion: 252 })).CPUQuotaPerSecUSec).toEqual(variant("t", 130000n));
    expect(props(resourceProperties({ cpu: { quota: -1, period: 50000 } }, { systemdVersion: 252 })).CPUQuotaPerSecUSec).toEqual(variant("t", INF));
    const p = props(resourceProperties({ memory: { limit: -1, swap: -1 }, pids: { limit: -1 } }, { systemdVersion: 252 }));
    expect(p.MemoryMax).toEqual(variant("t", INF));
    expect(p.MemorySwapMax).toEqual(variant("t", INF));
    expect(p.TasksMax).toEqual(variant("t", INF));
  });
  test("older systemd: no period before 242, no cpusets before 244", () => {
    const p = props(resourceProperties({ cpu: { quota: 50000, period: 100000, cpus: "0" } }, { systemdVersion: 241 }));
    expect(p.CPUQuotaPeriodUSec).toBeUndefined();
    expect(p.AllowedCPUs).toBeUndefined();
    expect(p.CPUQuotaPerSecUSec).toEqual(variant("t", 500000n));
  });
  test("unified entries systemd knows become properties", () => {
    const p = props(resourceProperties({ unified: { "memory.high": "1048576", "pids.max": "max", "cpu.weight": "77", "cpu.max": "20000 100000", "io.weight": "50" } }, { systemdVersion: 252 }));
    expect(p).toEqual({
      MemoryHigh: variant("t", 1048576n),
      TasksMax: variant("t", INF),
      CPUWeight: variant("t", 77n),
      CPUQuotaPeriodUSec: variant("t", 100000n),
      CPUQuotaPerSecUSec: variant("t", 200000n),
    });
    expect(() => resourceProperties({ unified: { "memory.max": "lots" } }, { systemdVersion: 252 })).toThrow(/\/linux\/resources\/unified\/memory.max/);
  });
  test("swap without memory is refused with its pointer", () => {
    expect(() => resourceProperties({ memory: { swap: 100 } }, { systemdVersion: 252 })).toThrow(ResourceError);
  });
});

describe("cpu lists", () => {
  test("bits, least significant byte first", () => {
    expect(rangeToBits("0", "/p")).toEqual([1]);
    expect(rangeToBits("0-3,8", "/p")).toEqual([15, 1]);
    expect(rangeToBits("9", "/p")).toEqual([0, 2]);
  });
  for (const bad of ["", "a", "3-1", "1-"]) test(`refuses ${JSON.stringify(bad)}`, () => expect(() => rangeToBits(bad, "/linux/resources/cpu/cpus")).toThrow(ResourceError));
});

describe("devices", () => {
  const names = procDevices("Character devices:\n  1 mem\n  5 /dev/tty\n136 pts\n\nBlock devices:\n  8 sd\n");
  test("/proc/devices", () => {
    expect(names("c", 136)).toBe("pts");
    expect(names("b", 8)).toBe("sd");
    expect(names("b", 1)).toBeUndefined();
  });
  test("runc's defaults: strict, mknod of all, the usual nodes, /dev/pts by name", () => {
    const [policy, allow] = deviceProperties({}, { deviceNames: names });
    expect(policy).toEqual(["DevicePolicy", variant("s", "strict")]);
    expect(allow![1].value).toEqual([
      ["block-*", "m"],
      ["char-*", "m"],
      ["/dev/char/1:3", "rwm"],
      ["/dev/char/1:5", "rwm"],
      ["/dev/char/1:7", "rwm"],
      ["/dev/char/1:8", "rwm"],
      ["/dev/char/1:9", "rwm"],
      ["/dev/char/5:0", "rwm"],
      ["/dev/char/5:2", "rwm"],
      ["/dev/char/10:200", "rwm"],
      ["char-pts", "rwm"],
    ]);
  });
  test("an allow-all base cannot be told to systemd: auto, and skiff's filter does the rest", () => {
    const warned: string[] = [];
    expect(deviceProperties({ devices: [{ allow: true, access: "rwm" }] }, { deviceNames: names, warn: (m) => warned.push(m) })).toEqual([
      ["DevicePolicy", variant("s", "auto")],
      ["DeviceAllow", variant("a(ss)", [])],
    ]);
  });
  test("a whole major without a name is left out, with a warning", () => {
    const warned: string[] = [];
    const [, allow] = deviceProperties({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 250, access: "r" }] }, { deviceNames: names, warn: (m) => warned.push(m) });
    expect((allow![1].value as string[][]).some((e) => e[0]!.includes("250"))).toBe(false);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain("c 250:*");
  });
});
