// skiff-init must not trust its plan. Only skiff writes plans, but a plan
// whose op has fewer strings than its handler reads used to crash skiff-init
// (a NULL string), and a short or huge one was read as far as it went. Here
// skiff-init gets malformed plans directly on its sync socket, as skiff
// would send them: each must end in one "error" line naming the op and the
// fault, exit status 1, no signal, and no op run (a wait_go first would
// report its point if it ran). Only ops harmless on the host appear, so
// even a decoder that let them through could do no damage.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, readSync, writeSync } from "node:fs";
import { cleanupTempDirs } from "../bundle";
import { encodePlan } from "../../src/plan/encode";
import { PLAN_MAX_BYTES, PLAN_MAX_OPS, type Op } from "../../src/plan/ops";
import { socketPair } from "../../src/util/libc";
import { needRoot, skipWhy } from "../skip";
import { throwawayInit } from "./attacker";

const libc = dlopen("libc.so.6", { shutdown: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
const SHUT_WR = 1;

/** Feeds bytes to a fresh skiff-init, ends its input, returns what it said and how it ended. */
async function feed(init: string, bytes: Uint8Array) {
  const [ours, theirs] = socketPair();
  const proc = spawn([init, "3"], { stdio: ["ignore", "ignore", "pipe", theirs] as never, env: {} });
  closeSync(theirs);
  let said = "";
  try {
    // A short plan must meet the end of its input, not wait for more.
    for (let at = 0; at < bytes.length; ) at += writeSync(ours, bytes, at);
    libc.symbols.shutdown(ours, SHUT_WR);
    const buf = Buffer.alloc(4096);
    for (;;) {
      let n = 0;
      try {
        n = readSync(ours, buf);
      } catch (e) {
        // skiff-init stopped reading mid-plan and exited: the kernel resets
        // the connection once what it wrote has been read.
        if ((e as NodeJS.ErrnoException).code !== "ECONNRESET") throw e;
      }
      if (n <= 0) break;
      said += buf.subarray(0, n).toString();
    }
  } finally {
    closeSync(ours);
  }
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  return { said, code, signal: proc.signalCode, stderr };
}

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
};

// A plan as skiff encodes it; the cases below take it apart.
const FIRST: Op = { op: "wait_go", point: "first-op-ran", payload: 0, origin: "" };
const UMASK: Op = { op: "umask", mask: 0o22, origin: "" };
const MOUNT: Op = { op: "mount", source: "none", target: "/x", fstype: "tmpfs", data: "", flags: 0, procfs: 0, origin: "" };

/** The encoded plan [FIRST, op], with op's head (code, nints, nstrs) rewritten by edit. */
function withHead(op: Op, edit: (head: DataView) => void, cut?: number): Uint8Array {
  const bytes = encodePlan([FIRST, op]);
  const opAt = encodePlan([FIRST]).length; // where the second op starts
  edit(new DataView(bytes.buffer, opAt, 8));
  return cut === undefined ? bytes : bytes.subarray(0, cut);
}

describe.skipIf(skipWhy("skiff-init's plan decoder", needRoot()))("skiff-init reading a malformed plan", () => {
  let init = "";
  beforeAll(() => {
    init = throwawayInit();
  });
  afterAll(() => cleanupTempDirs());

  test("control: a well-formed plan is run op by op (wait_go reports its point)", async () => {
    const r = await feed(init, encodePlan([FIRST, UMASK]));
    // Its input ended: wait_go gets no "go" and fails after reporting its point.
    expect(r.said.split("\n")[0]).toBe("point first-op-ran");
    expect(r.signal).toBeNull();
  });

  test("control: a plan of umask alone runs and exits 0", async () => {
    const r = await feed(init, encodePlan([UMASK]));
    expect({ said: r.said, code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ said: "", code: 0, signal: null, stderr: "" });
  });

  const cases: [string, () => Uint8Array, string][] = [
    ["fewer strings than the handler reads", () => withHead(MOUNT, (h) => h.setUint16(6, 2, true)), "read plan: op 1 (mount) has 2 integers and 2 strings, mount reads 2 and 4"],
    ["more strings than the handler reads", () => withHead(UMASK, (h) => h.setUint16(6, 1, true)), "read plan: op 1 (umask) has 1 integers and 1 strings, umask reads 1 and 0"],
    ["fewer integers than the handler reads", () => withHead(MOUNT, (h) => h.setUint16(4, 0, true)), "read plan: op 1 (mount) has 0 integers and 4 strings, mount reads 2 and 4"],
    ["a huge integer count", () => withHead(UMASK, (h) => h.setUint16(4, 0xffff, true)), "read plan: op 1 (umask) has 65535 integers and 0 strings, umask reads 1 and 0"],
    ["an unknown op code", () => withHead(UMASK, (h) => h.setUint32(0, 999, true)), "read plan: op 1 has unknown code 999"],
    ["a plan cut inside an op's strings", () => withHead(MOUNT, () => {}, encodePlan([FIRST, MOUNT]).length - 3), "read plan: op 1 (mount) is cut short"],
    ["a plan cut between two ops", () => encodePlan([FIRST, UMASK]).subarray(0, encodePlan([FIRST]).length), "read plan: op 1 is cut short"],
    ["a plan cut inside its header", () => encodePlan([FIRST]).subarray(0, 6), "read plan: the header is cut short"],
    ["more ops than a plan may hold", () => cat(u32(0x31504b53), u32(0xffffffff)), `read plan: 4294967295 ops, more than the ${PLAN_MAX_OPS} a plan may hold`],
    ["a string longer than a plan may hold", () => {
      const b = encodePlan([FIRST, MOUNT]);
      new DataView(b.buffer).setUint32(encodePlan([FIRST]).length + 24, 0x7fffffff, true); // first string's length
      return b;
    }, `read plan: op 1 (mount) takes the plan past ${PLAN_MAX_BYTES} bytes of strings`],
    ["a bad magic", () => cat(u32(0x12345678), u32(1)), "read plan: bad magic 0x12345678"],
    // feed writes the bytes at once, so they reach the reader with the plan
    ["bytes after the last op", () => cat(encodePlan([FIRST, UMASK]), u32(7)), "read plan: 4 bytes after its last op"],
  ];

  test.each(cases)("%s: one error line naming the op, exit 1, nothing run", async (_what, bytes, message) => {
    const r = await feed(init, bytes());
    // "error INDEX ERRNO MESSAGE\tCAUSE": the only line; the wait_go before never ran.
    const lines = r.said.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith("error ");
    expect(lines[0]!.split(" ").slice(3).join(" ").split("\t")[0]).toBe(message);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
  });
});
