// OOM notifications. cgroup v1: an eventfd registered through
// cgroup.event_control against memory.oom_control. cgroup v2: the oom_kill
// counter of memory.events, polled. poll() never blocks.
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SystemError, describeErrno } from "../errors";

export interface OomWatcher {
  /** number of OOM events since the last poll */
  poll(): number;
  close(): void;
}

const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;

function eventfd(): number {
  const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
  const lib = dlopen("libc.so.6", { eventfd: { args: [FFIType.u32, FFIType.i32], returns: FFIType.i32 } });
  try {
    const fd = lib.symbols.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) as number;
    if (fd < 0) throw new SystemError("eventfd", "failed");
    return fd;
  } finally {
    lib.close();
  }
}

export function watchOomV1(memoryDir: string): OomWatcher {
  const efd = eventfd();
  let ofd = -1;
  try {
    ofd = openSync(join(memoryDir, "memory.oom_control"), "r");
    writeFileSync(join(memoryDir, "cgroup.event_control"), `${efd} ${ofd}`);
  } catch (e) {
    closeSync(efd);
    if (ofd >= 0) closeSync(ofd);
    throw new SystemError("register oom notification in", describeErrno(e), memoryDir);
  }
  const buf = Buffer.alloc(8);
  let kills = oomState(memoryDir).kills;
  return {
    poll() {
      try {
        if (readSync(efd, buf, 0, 8, null) !== 8) return 0;
      } catch {
        return 0; // EAGAIN: nothing yet
      }
      // The eventfd also fires when the cgroup is removed: only a grown
      // oom_kill counter (or a task waiting with the OOM killer off) is an OOM.
      const now = oomState(memoryDir);
      const n = now.kills > kills ? now.kills - kills : now.under ? 1 : 0;
      kills = now.kills;
      return n;
    },
    close() {
      closeSync(efd);
      closeSync(ofd);
    },
  };
}

function oomState(dir: string): { kills: number; under: boolean } {
  try {
    const text = readFileSync(join(dir, "memory.oom_control"), "utf8");
    return { kills: Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0), under: /^under_oom 1$/m.test(text) };
  } catch {
    return { kills: 0, under: false };
  }
}

export function watchOomV2(dir: string): OomWatcher {
  const count = () => {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(dir, "memory.events"), "utf8"));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  };
  let last = count();
  return {
    poll() {
      const now = count();
      const n = now > last ? now - last : 0;
      last = now;
      return n;
    },
    close() {},
  };
}
