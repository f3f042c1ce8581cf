// A blocking unix stream socket with timeouts, through libc: D-Bus calls
// happen in the middle of `create`, which is synchronous like the rest of
// skiff's container code, so the client reads and writes synchronously.
// Loaded only by the systemd driver.
import type { Pointer } from "bun:ffi";

type Libc = {
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, addr: Pointer, len: number): number;
  poll(fds: Pointer, n: number, timeout: number): number;
  read(fd: number, buf: Pointer, n: number): number;
  write(fd: number, buf: Pointer, n: number): number;
  close(fd: number): number;
  __errno_location(): Pointer;
  strerror(errno: number): Pointer;
};

let ffi: typeof import("bun:ffi") | undefined;
let libc: Libc | undefined;

function load(): { ffi: typeof import("bun:ffi"); libc: Libc } {
  if (!ffi || !libc) {
    ffi = require("bun:ffi") as typeof import("bun:ffi");
    const { FFIType: T, dlopen } = ffi;
    libc = dlopen("libc.so.6", {
      socket: { args: [T.i32, T.i32, T.i32], returns: T.i32 },
      connect: { args: [T.i32, T.ptr, T.u32], returns: T.i32 },
      poll: { args: [T.ptr, T.u64, T.i32], returns: T.i32 },
      read: { args: [T.i32, T.ptr, T.u64], returns: T.i64_fast },
      write: { args: [T.i32, T.ptr, T.u64], returns: T.i64_fast },
      close: { args: [T.i32], returns: T.i32 },
      __errno_location: { args: [], returns: T.ptr },
      strerror: { args: [T.i32], returns: T.ptr },
    }).symbols as unknown as Libc;
  }
  return { ffi, libc };
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const POLLIN = 0x1;
const POLLOUT = 0x4;
const EINTR = 4;
const EAGAIN = 11;

export class SocketError extends Error {
  constructor(
    message: string,
    readonly errno = 0,
  ) {
    super(message);
  }
}

function lastError(): { errno: number; text: string } {
  const { ffi, libc } = load();
  const errno = ffi.read.i32(libc.__errno_location(), 0);
  const raw = new ffi.CString(libc.strerror(errno)).toString();
  return { errno, text: raw.charAt(0).toLowerCase() + raw.slice(1) };
}

function fail(what: string): never {
  const e = lastError();
  throw new SocketError(`${what}: ${e.text}`, e.errno);
}

/** `path` is a file name, or "\0name" for an abstract socket. */
export class UnixSocket {
  private constructor(private fd: number) {}

  static connect(path: string): UnixSocket {
    const { ffi, libc } = load();
    const name = new TextEncoder().encode(path);
    if (name.length > 107) throw new SocketError(`connect: socket path longer than 107 bytes`);
    const fd = libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    const addr = new Uint8Array(110);
    new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
    addr.set(name, 2);
    // a file name ends with its NUL; an abstract name's length is exact
    const len = 2 + name.length + (path.startsWith("\0") ? 0 : 1);
    if (libc.connect(fd, ffi.ptr(addr), len) !== 0) {
      const e = lastError();
      libc.close(fd);
      throw new SocketError(`connect: ${e.text}`, e.errno);
    }
    return new UnixSocket(fd);
  }

  /** Wait until readable (or writable); false on timeout. */
  private wait(events: number, timeoutMs: number): boolean {
    const { ffi, libc } = load();
    const pfd = new Uint8Array(8);
    const view = new DataView(pfd.buffer);
    view.setInt32(0, this.fd, true);
    view.setInt16(4, events, true);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = Math.max(0, deadline - Date.now());
      const n = libc.poll(ffi.ptr(pfd), 1, left);
      if (n > 0) return true;
      if (n === 0) return false;
      if (lastError().errno !== EINTR) fail("poll");
    }
  }

  writeAll(bytes: Uint8Array, timeoutMs: number): void {
    const { ffi, libc } = load();
    for (let at = 0; at < bytes.length; ) {
      if (!this.wait(POLLOUT, timeoutMs)) throw new SocketError("write: timed out");
      const n = Number(libc.write(this.fd, ffi.ptr(bytes, at), bytes.length - at));
      if (n < 0) {
        const e = lastError();
        if (e.errno === EINTR || e.errno === EAGAIN) continue;
        throw new SocketError(`write: ${e.text}`, e.errno);
      }
      at += n;
    }
  }

  /** Some bytes, an empty array at end of stream, or undefined on timeout. */
  readSome(timeoutMs: number): Uint8Array | undefined {
    const { ffi, libc } = load();
    if (!this.wait(POLLIN, timeoutMs)) return undefined;
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = Number(libc.read(this.fd, ffi.ptr(buf), buf.length));
      if (n >= 0) return buf.slice(0, n);
      const e = lastError();
      if (e.errno !== EINTR && e.errno !== EAGAIN) throw new SocketError(`read: ${e.text}`, e.errno);
    }
  }

  close(): void {
    if (this.fd >= 0) load().libc.close(this.fd);
    this.fd = -1;
  }
}
