// The libc calls checkpoint and restore need that Bun does not offer: a
// SOCK_SEQPACKET pair (criu swrk reads one request per packet), recvmsg that
// also takes the fd criu passes with a notification (the pty master of a
// restored terminal), sending that fd on to a --console-socket, the bind
// mount of the rootfs criu restores into, and reaping the restored process
// (criu makes it skiff's child).
import type { Pointer } from "bun:ffi";
import { constants as osConstants } from "node:os";
import { SkiffError } from "../errors";

type Sock = {
  socketpair(domain: number, type: number, protocol: number, fds: Pointer): number;
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, addr: Pointer, len: number): number;
  recvmsg(fd: number, msg: Pointer, flags: number): number;
  sendmsg(fd: number, msg: Pointer, flags: number): number;
  close(fd: number): number;
  waitpid(pid: number, status: Pointer, options: number): number;
  mount(source: Pointer, target: Pointer, fstype: Pointer | null, flags: number, data: Pointer | null): number;
  umount2(target: Pointer, flags: number): number;
  __errno_location(): Pointer;
};

let lib: { sym: Sock; ffi: typeof import("bun:ffi") } | undefined;
function load(): { sym: Sock; ffi: typeof import("bun:ffi") } {
  if (!lib) {
    const ffi = require("bun:ffi") as typeof import("bun:ffi");
    const { FFIType: T, dlopen } = ffi;
    const l = dlopen("libc.so.6", {
      socketpair: { args: [T.i32, T.i32, T.i32, T.ptr], returns: T.i32 },
      socket: { args: [T.i32, T.i32, T.i32], returns: T.i32 },
      connect: { args: [T.i32, T.ptr, T.u32], returns: T.i32 },
      recvmsg: { args: [T.i32, T.ptr, T.i32], returns: T.i64_fast },
      sendmsg: { args: [T.i32, T.ptr, T.i32], returns: T.i64_fast },
      close: { args: [T.i32], returns: T.i32 },
      waitpid: { args: [T.i32, T.ptr, T.i32], returns: T.i32 },
      mount: { args: [T.ptr, T.ptr, T.ptr, T.u64, T.ptr], returns: T.i32 },
      umount2: { args: [T.ptr, T.i32], returns: T.i32 },
      __errno_location: { args: [], returns: T.ptr },
    });
    lib = { sym: l.symbols as unknown as Sock, ffi };
  }
  return lib;
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;

/** errno of the last failed call, by its name (EPERM, ...). */
function errno(): string {
  const { sym, ffi } = load();
  const n = ffi.read.i32(sym.__errno_location(), 0);
  const name = Object.entries(osConstants.errno).find(([, v]) => v === n)?.[0];
  return name ?? `errno ${n}`;
}

function cstr(s: string): Uint8Array {
  return new TextEncoder().encode(s + "\0");
}

const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MNT_DETACH = 2;

/** mount --rbind source target */
export function bindMount(source: string, target: string): void {
  const { sym, ffi } = load();
  const s = cstr(source);
  const t = cstr(target);
  if (sym.mount(ffi.ptr(s), ffi.ptr(t), null, MS_BIND | MS_REC, null) !== 0) throw new SkiffError(`bind mount ${source} on ${target}: ${errno()}`);
}

/** umount -l target; false when it was not mounted or could not be */
export function detachMount(target: string): boolean {
  const { sym, ffi } = load();
  const t = cstr(target);
  return sym.umount2(ffi.ptr(t), MNT_DETACH) === 0;
}

export function seqpacketPair(): [number, number] {
  const { sym, ffi } = load();
  const fds = new Int32Array(2);
  if (sym.socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ffi.ptr(fds)) !== 0) throw new SkiffError(`socketpair: ${errno()}`);
  return [fds[0]!, fds[1]!];
}

export function closeFd(fd: number): void {
  load().sym.close(fd);
}

/** struct msghdr (x86_64 and aarch64 layout) over one iovec and a control buffer. */
function msghdr(ffi: typeof import("bun:ffi"), data: Uint8Array, control: Uint8Array) {
  const iov = new BigUint64Array([BigInt(ffi.ptr(data)), BigInt(data.length)]);
  const hdr = new BigUint64Array(7);
  hdr[2] = BigInt(ffi.ptr(iov));
  hdr[3] = 1n;
  if (control.length) {
    hdr[4] = BigInt(ffi.ptr(control));
    hdr[5] = BigInt(control.length);
  }
  return { hdr, iov };
}

/** One packet and the fds that came with it; an empty packet is the peer's end. */
export function recvPacket(fd: number): { data: Uint8Array; fds: number[] } {
  const { sym, ffi } = load();
  const data = new Uint8Array(1 << 20);
  const control = new Uint8Array(64);
  const { hdr, iov } = msghdr(ffi, data, control);
  let n = Number(sym.recvmsg(fd, ffi.ptr(hdr), MSG_CMSG_CLOEXEC));
  // A signal (EINTR) is the one failure worth a second try.
  if (n < 0) n = Number(sym.recvmsg(fd, ffi.ptr(hdr), MSG_CMSG_CLOEXEC));
  if (n < 0) throw new SkiffError(`recvmsg from criu: ${errno()}`);
  void iov; // kept alive until the call returned
  const fds: number[] = [];
  const controlLen = Number(hdr[5]);
  const view = new DataView(control.buffer);
  for (let at = 0; at + 16 <= controlLen; ) {
    const len = Number(view.getBigUint64(at, true));
    if (len < 16) break;
    if (view.getInt32(at + 8, true) === SOL_SOCKET && view.getInt32(at + 12, true) === SCM_RIGHTS) {
      for (let p = at + 16; p + 4 <= at + len; p += 4) fds.push(view.getInt32(p, true));
    }
    at += (len + 7) & ~7;
  }
  return { data: data.slice(0, n), fds };
}

/** Connect to a unix socket and send fd with the name as data (what recvtty and engines read). */
export function sendFdTo(path: string, fd: number, name: string): void {
  const { sym, ffi } = load();
  const sock = sym.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) throw new SkiffError(`socket: ${errno()}`);
  try {
    const addr = new Uint8Array(110);
    new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
    const p = new TextEncoder().encode(path);
    if (p.length >= 108) throw new SkiffError(`connect ${path}: path too long`);
    addr.set(p, 2);
    if (sym.connect(sock, ffi.ptr(addr), 2 + p.length + 1) !== 0) throw new SkiffError(`connect ${path} (from --console-socket): ${errno()}`);
    const data = new TextEncoder().encode(name);
    const control = new Uint8Array(24);
    const v = new DataView(control.buffer);
    v.setBigUint64(0, 20n, true);
    v.setInt32(8, SOL_SOCKET, true);
    v.setInt32(12, SCM_RIGHTS, true);
    v.setInt32(16, fd, true);
    const { hdr, iov } = msghdr(ffi, data, control);
    const sent = Number(sym.sendmsg(sock, ffi.ptr(hdr), 0));
    void iov;
    if (sent < 0) throw new SkiffError(`send the pty master to ${path}: ${errno()}`);
  } finally {
    sym.close(sock);
  }
}

/** waitpid(pid, WNOHANG): the exit status once the child has ended, else undefined. */
export function reapIfExited(pid: number): number | undefined {
  const { sym, ffi } = load();
  const status = new Int32Array(1);
  const r = sym.waitpid(pid, ffi.ptr(status), 1);
  if (r <= 0) return r < 0 ? 255 : undefined;
  const s = status[0]!;
  const sig = s & 0x7f;
  return sig ? 128 + sig : (s >> 8) & 0xff;
}
