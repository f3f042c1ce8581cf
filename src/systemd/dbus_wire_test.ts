import { describe, expect, test } from "bun:test";
import { DbusWireError, marshal, splitSignature, unmarshal, variant, type DbusValue } from "./dbus_wire";
import { decodeMessage, encodeMessage, messageLength, MessageType } from "./dbus_message";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("signatures", () => {
  test("split into complete types", () => {
    expect(splitSignature("ssa(sv)a(sa(sv))")).toEqual(["s", "s", "a(sv)", "a(sa(sv))"]);
    expect(splitSignature("a{sv}aay")).toEqual(["a{sv}", "aay"]);
  });
  for (const bad of ["a", "(s", "z", "a{s"]) test(`refuses ${bad}`, () => expect(() => splitSignature(bad)).toThrow(DbusWireError));
});

describe("marshalling", () => {
  test("alignment: a u32 after a byte starts at offset 4, a u64 after it at 8", () => {
    expect(hex(marshal("yu", [1, 2]))).toBe("01000000" + "02000000");
    expect(hex(marshal("yt", [1, 2n]))).toBe("01" + "00".repeat(7) + "0200000000000000");
  });
  test("strings: length, bytes, NUL; signatures: one-byte length", () => {
    expect(hex(marshal("s", ["ab"]))).toBe("02000000" + "616200");
    expect(hex(marshal("g", ["as"]))).toBe("02" + "617300");
  });
  test("an array's length leaves out the padding before its first element", () => {
    // u32 length 8 at 0, pad to 8, one u64
    expect(hex(marshal("at", [[7n]]))).toBe("08000000" + "00000000" + "0700000000000000");
    // an empty array of structs still pads to the (absent) first element
    expect(hex(marshal("a(sv)", [[]]))).toBe("00000000" + "00000000");
  });
  test("a variant carries its signature", () => {
    expect(hex(marshal("v", [variant("u", 5)]))).toBe("01" + "7500" + "00" + "05000000");
  });
  test("booleans are u32; wrong types are refused", () => {
    expect(hex(marshal("b", [true]))).toBe("01000000");
    expect(() => marshal("u", ["x"])).toThrow(DbusWireError);
    expect(() => marshal("t", [1])).toThrow(DbusWireError);
    expect(() => marshal("(su)", [["a"]])).toThrow(DbusWireError);
  });
  test("round trip of StartTransientUnit's arguments", () => {
    const args: DbusValue[] = [
      "skiff-abc.scope",
      "replace",
      [
        ["Description", variant("s", "skiff container abc")],
        ["Slice", variant("s", "system.slice")],
        ["Delegate", variant("b", true)],
        ["PIDs", variant("au", [1234])],
        ["MemoryMax", variant("t", 67108864n)],
        ["CPUWeight", variant("t", 100n)],
        ["AllowedCPUs", variant("ay", [3])],
        ["DeviceAllow", variant("a(ss)", [["/dev/null", "rwm"], ["char-pts", "rwm"]])],
      ],
      [],
    ];
    const bytes = marshal("ssa(sv)a(sa(sv))", args);
    expect(unmarshal("ssa(sv)a(sa(sv))", bytes)).toEqual(args);
  });
  test("round trip of every basic type, dict entries and nested variants", () => {
    const sig = "ybnqiuxtdsoga{sv}(yv)";
    const vals: DbusValue[] = [255, false, -2, 65535, -7, 4000000000, -5n, 18446744073709551615n, 1.5, "é", "/a/b", "a{sv}", [["k", variant("v", variant("s", "x"))]], [1, variant("ay", [1, 2])]];
    expect(unmarshal(sig, marshal(sig, vals))).toEqual(vals);
  });
  test("truncated input is an error, not garbage", () => {
    expect(() => unmarshal("s", new Uint8Array([5, 0, 0, 0, 0x61]))).toThrow(/truncated/);
  });
});

describe("messages", () => {
  // The bus's Hello call, written out by hand from the specification.
  const str = (s: string) => Buffer.from(s).toString("hex");
  const HELLO =
    "6c010001" + "00000000" + "01000000" + "6d000000" + // endian, call, flags, v1, body 0, serial 1, fields 109 bytes
    "01016f00" + "15000000" + str("/org/freedesktop/DBus") + "00" + "0000" + // PATH o, pad to 48
    "02017300" + "14000000" + str("org.freedesktop.DBus") + "00" + "000000" + // INTERFACE s, pad to 80
    "03017300" + "05000000" + str("Hello") + "00" + "0000" + // MEMBER s, pad to 96
    "06017300" + "14000000" + str("org.freedesktop.DBus") + "00" + // DESTINATION s, ends at 125
    "000000"; // header padded to 128; no body
  const hello = {
    type: MessageType.MethodCall,
    flags: 0,
    serial: 1,
    path: "/org/freedesktop/DBus",
    interface: "org.freedesktop.DBus",
    member: "Hello",
    destination: "org.freedesktop.DBus",
    signature: "",
    body: [],
  };
  test("Hello, byte for byte", () => {
    const bytes = encodeMessage(hello);
    expect(hex(bytes)).toBe(HELLO);
    expect(messageLength(bytes)).toBe(128);
  });
  test("decode what was encoded, a body with a signature too", () => {
    expect(decodeMessage(Buffer.from(HELLO, "hex"))).toEqual(hello);
    const signal = {
      type: MessageType.Signal,
      flags: 1,
      serial: 9,
      path: "/org/freedesktop/systemd1",
      interface: "org.freedesktop.systemd1.Manager",
      member: "JobRemoved",
      sender: ":1.0",
      signature: "uoss",
      body: [7, "/org/freedesktop/systemd1/job/7", "skiff-a.scope", "done"],
    };
    const bytes = encodeMessage(signal);
    expect(messageLength(bytes)).toBe(bytes.length);
    expect(messageLength(bytes.subarray(0, 15))).toBe(0);
    expect(decodeMessage(bytes)).toEqual(signal);
  });
});
