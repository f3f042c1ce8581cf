// A small synchronous D-Bus client: connect to a bus address, authenticate
// with EXTERNAL (the uid, as hex of its decimal digits), Hello, then method
// calls and signals. Enough for systemd's Manager API; no introspection, no
// fd passing, no server side.
import { SkiffError } from "../errors";
import { decodeMessage, encodeMessage, messageLength, MessageType, type Message } from "./dbus_message";
import type { DbusValue } from "./dbus_wire";
import { SocketError, UnixSocket } from "./unix_socket";

export const SYSTEM_BUS_SOCKET = "/run/dbus/system_bus_socket";
const DEFAULT_TIMEOUT_MS = 25_000; // libdbus's default reply timeout

/** Could not reach or authenticate to the bus: `where` says which address. */
export class DbusConnectError extends SkiffError {
  override name = "DbusConnectError";
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {
    super(`connect to d-bus at ${where}: ${reason}`);
  }
}

/** An error reply (org.freedesktop.systemd1.NoSuchUnit, ...), or a failure on an open connection. */
export class DbusError extends SkiffError {
  override name = "DbusError";
  constructor(
    readonly errorName: string,
    readonly detail: string,
  ) {
    super(detail ? `${errorName}: ${detail}` : errorName);
  }
}

/**
 * The socket of a bus address: DBUS_SYSTEM_BUS_ADDRESS's form
 * "unix:path=/x" or "unix:abstract=n" (the first unix entry of a ";" list);
 * undefined address = the system bus's well-known socket.
 */
export function busSocket(address: string | undefined): string {
  if (!address) return SYSTEM_BUS_SOCKET;
  for (const entry of address.split(";")) {
    if (!entry.startsWith("unix:")) continue;
    for (const kv of entry.slice(5).split(",")) {
      const eq = kv.indexOf("=");
      const key = kv.slice(0, eq);
      const value = decodeURIComponent(kv.slice(eq + 1));
      if (key === "path") return value;
      if (key === "abstract") return `\0${value}`;
    }
  }
  throw new DbusConnectError(address, "no unix:path= or unix:abstract= entry in the bus address");
}

export function systemBusSocket(): string {
  return busSocket(process.env.DBUS_SYSTEM_BUS_ADDRESS);
}

export interface CallOptions {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: DbusValue[];
  timeoutMs?: number;
}

export class DbusConnection {
  private serial = 0;
  private inbox = new Uint8Array(0);
  /** signals read while waiting for a reply, for waitSignal */
  private signals: Message[] = [];
  uniqueName = "";

  private constructor(
    private sock: UnixSocket,
    readonly where: string,
  ) {}

  static connect(socketPath: string, opts: { timeoutMs?: number } = {}): DbusConnection {
    const where = socketPath.startsWith("\0") ? `unix:abstract=${socketPath.slice(1)}` : socketPath;
    const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let sock: UnixSocket;
    try {
      sock = UnixSocket.connect(socketPath);
    } catch (e) {
      throw new DbusConnectError(where, (e as Error).message);
    }
    const conn = new DbusConnection(sock, where);
    try {
      conn.authenticate(timeout);
      const [name] = conn.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "Hello", timeoutMs: timeout });
      conn.uniqueName = name as string;
    } catch (e) {
      conn.close();
      if (e instanceof DbusConnectError) throw e;
      throw new DbusConnectError(where, (e as Error).message);
    }
    return conn;
  }

  private authenticate(timeoutMs: number): void {
    const uid = String(process.getuid?.() ?? 0);
    const hexUid = Buffer.from(uid).toString("hex");
    // The NUL byte first: the credentials byte the spec asks for.
    this.sock.writeAll(new TextEncoder().encode(`\0AUTH EXTERNAL ${hexUid}\r\n`), timeoutMs);
    const line = this.readAuthLine(timeoutMs);
    if (!line.startsWith("OK ")) throw new DbusConnectError(this.where, `authentication (EXTERNAL, uid ${uid}) refused: ${JSON.stringify(line)}`);
    this.sock.writeAll(new TextEncoder().encode("BEGIN\r\n"), timeoutMs);
  }

  private readAuthLine(timeoutMs: number): string {
    for (;;) {
      const end = this.inbox.indexOf(0x0a);
      if (end >= 0) {
        const line = new TextDecoder().decode(this.inbox.subarray(0, end)).replace(/\r$/, "");
        this.inbox = this.inbox.slice(end + 1);
        return line;
      }
      this.fill(timeoutMs, "authentication");
    }
  }

  private fill(timeoutMs: number, what: string): boolean {
    const got = this.sock.readSome(timeoutMs);
    if (got === undefined) return false;
    if (got.length === 0) throw new DbusError("org.freedesktop.DBus.Error.Disconnected", `the bus closed the connection during ${what}`);
    const next = new Uint8Array(this.inbox.length + got.length);
    next.set(this.inbox);
    next.set(got, this.inbox.length);
    this.inbox = next;
    return true;
  }

  /** The next message, or undefined when none came before the deadline. */
  private receive(deadline: number, what: string): Message | undefined {
    for (;;) {
      const len = messageLength(this.inbox);
      if (len > 0 && this.inbox.length >= len) {
        const m = decodeMessage(this.inbox.subarray(0, len));
        this.inbox = this.inbox.slice(len);
        return m;
      }
      const left = deadline - Date.now();
      if (left <= 0 || !this.fill(left, what)) return undefined;
    }
  }

  private send(m: Omit<Message, "serial">): number {
    const serial = ++this.serial;
    try {
      this.sock.writeAll(encodeMessage({ ...m, serial }), DEFAULT_TIMEOUT_MS);
    } catch (e) {
      throw new DbusError("org.freedesktop.DBus.Error.Disconnected", `send ${m.member}: ${(e as SocketError).message}`);
    }
    return serial;
  }

  /** A method call; returns the reply's body, throws DbusError for an error reply or a timeout. */
  call(o: CallOptions): DbusValue[] {
    const serial = this.send({
      type: MessageType.MethodCall,
      flags: 0,
      destination: o.destination,
      path: o.path,
      interface: o.interface,
      member: o.member,
      signature: o.signature ?? "",
      body: o.body ?? [],
    });
    const deadline = Date.now() + (o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    for (;;) {
      const m = this.receive(deadline, `${o.interface}.${o.member}`);
      if (!m) throw new DbusError("org.freedesktop.DBus.Error.NoReply", `no reply to ${o.interface}.${o.member} within ${o.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`);
      if (m.type === MessageType.Signal) {
        this.signals.push(m);
        continue;
      }
      if (m.replySerial !== serial) continue;
      if (m.type === MessageType.Error) throw new DbusError(m.errorName ?? "unknown error", typeof m.body[0] === "string" ? m.body[0] : "");
      return m.body;
    }
  }

  /** Send a signal (the tests stand in for systemd with it). */
  emit(o: { path: string; interface: string; member: string; signature?: string; body?: DbusValue[] }): void {
    this.send({ type: MessageType.Signal, flags: 1, path: o.path, interface: o.interface, member: o.member, signature: o.signature ?? "", body: o.body ?? [] });
  }

  /** Subscribe to signals (org.freedesktop.DBus.AddMatch). */
  addMatch(rule: string): void {
    this.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "AddMatch", signature: "s", body: [rule] });
  }

  /** The first signal (already queued or still to come) that `want` accepts; undefined at the timeout. */
  waitSignal(want: (m: Message) => boolean, timeoutMs: number): Message | undefined {
    const queued = this.signals.findIndex(want);
    if (queued >= 0) return this.signals.splice(queued, 1)[0];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.receive(deadline, "waiting for a signal");
      if (!m) return undefined;
      if (m.type !== MessageType.Signal) continue;
      if (want(m)) return m;
      this.signals.push(m);
    }
  }

  close(): void {
    this.sock.close();
  }
}
