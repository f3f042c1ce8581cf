// The D-Bus client against a real bus: a private dbus-daemon (Debian's
// dbus package) on a socket in a temp dir, never the host's system bus.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skipWhy, needFile } from "../../test/skip";
import { DbusConnectError, DbusConnection, DbusError, busSocket } from "./dbus_conn";

const DAEMON = "/usr/bin/dbus-daemon";

describe("bus addresses", () => {
  test("the system bus by default, DBUS_SYSTEM_BUS_ADDRESS's forms", () => {
    expect(busSocket(undefined)).toBe("/run/dbus/system_bus_socket");
    expect(busSocket("unix:path=/tmp/x%20y")).toBe("/tmp/x y");
    expect(busSocket("tcp:host=h,port=1;unix:abstract=bus")).toBe("\0bus");
    expect(() => busSocket("tcp:host=h,port=1")).toThrow(DbusConnectError);
  });
  test("an absent socket: one line with the path and the cause", () => {
    const e = (() => {
      try {
        DbusConnection.connect("/nonexistent/skiff-test/bus");
      } catch (e) {
        return e as Error;
      }
    })();
    expect(e).toBeInstanceOf(DbusConnectError);
    expect(e!.message).toBe("connect to d-bus at /nonexistent/skiff-test/bus: connect: no such file or directory");
  });
});

describe.skipIf(skipWhy("d-bus client against dbus-daemon", needFile(DAEMON, "apt-get install dbus")))("d-bus client against a private dbus-daemon", () => {
  let dir = "";
  let daemon: Subprocess | undefined;
  let socket = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "skiff-dbus-"));
    socket = join(dir, "bus");
    const conf = join(dir, "bus.conf");
    writeFileSync(
      conf,
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
    );
    daemon = spawn([DAEMON, "--nofork", "--nopidfile", `--config-file=${conf}`], { stdout: "ignore", stderr: "pipe" });
    for (let i = 0; i < 200 && !existsSync(socket); i++) await Bun.sleep(10);
    if (!existsSync(socket)) throw new Error(`dbus-daemon made no socket: ${await new Response(daemon.stderr as ReadableStream).text()}`);
  });

  afterAll(async () => {
    daemon?.kill();
    await daemon?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  test("EXTERNAL auth, Hello, a method call with arguments and a reply", () => {
    const c = DbusConnection.connect(socket);
    try {
      expect(c.uniqueName).toMatch(/^:1\.\d+$/);
      const [owner] = c.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "GetNameOwner", signature: "s", body: [c.uniqueName] });
      expect(owner).toBe(c.uniqueName);
      const [reply] = c.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "RequestName", signature: "su", body: ["run.skiff.Test", 0] });
      expect(reply).toBe(1); // DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
      const [names] = c.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "ListNames" });
      expect(names).toContain("run.skiff.Test");
    } finally {
      c.close();
    }
  });

  test("an error reply is a DbusError with its name", () => {
    const c = DbusConnection.connect(socket);
    try {
      const call = () => c.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "NoSuchMethod" });
      expect(call).toThrow(DbusError);
      expect(call).toThrow(/org\.freedesktop\.DBus\.Error\.UnknownMethod/);
    } finally {
      c.close();
    }
  });

  test("AddMatch, then a JobRemoved-shaped signal from another connection arrives with its body", () => {
    const listener = DbusConnection.connect(socket);
    const emitter = DbusConnection.connect(socket);
    try {
      listener.addMatch("type='signal',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'");
      // one that does not match first: waitSignal must skip it
      emitter.emit({ path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager", member: "JobRemoved", signature: "uoss", body: [1, "/org/freedesktop/systemd1/job/1", "other.scope", "done"] });
      emitter.emit({ path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager", member: "JobRemoved", signature: "uoss", body: [2, "/org/freedesktop/systemd1/job/2", "skiff-x.scope", "failed"] });
      const got = listener.waitSignal((m) => m.body[2] === "skiff-x.scope", 5000);
      expect(got?.body).toEqual([2, "/org/freedesktop/systemd1/job/2", "skiff-x.scope", "failed"]);
      expect(got?.sender).toBe(emitter.uniqueName);
      // the skipped one is still there for a later wait
      expect(listener.waitSignal((m) => m.body[2] === "other.scope", 1000)?.body[0]).toBe(1);
      // nothing more: the timeout gives undefined
      expect(listener.waitSignal((m) => m.member === "JobRemoved", 200)).toBeUndefined();
    } finally {
      listener.close();
      emitter.close();
    }
  });
});
