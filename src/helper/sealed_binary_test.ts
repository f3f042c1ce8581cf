// The sealed copy skiff executes skiff-init from: same bytes, every seal
// on, no way to write it through a reopened path, above the fds the child
// gets. No root needed.
import { afterAll, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, readlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, tempDir } from "../../test/bundle";
import { F_GET_SEALS, fcntl } from "../util/libc";
import { SEALS, sealedCopy } from "./sealed_binary";

afterAll(() => cleanupTempDirs());

function sample(): { path: string; bytes: Buffer } {
  // Bigger than one sendfile round on some kernels, and not page aligned.
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 123);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
  const path = join(tempDir("skiff-sealed-"), "bin");
  writeFileSync(path, bytes);
  return { path, bytes };
}

test("the copy has the file's bytes and every seal", () => {
  const { path, bytes } = sample();
  const fd = sealedCopy(path, { minFd: 3 });
  try {
    expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe("/memfd:skiff-init (deleted)");
    expect(fcntl(fd, F_GET_SEALS, 0)).toBe(SEALS);
    expect(readFileSync(`/proc/self/fd/${fd}`).equals(bytes)).toBe(true);
  } finally {
    closeSync(fd);
  }
});

test("reopened by its /proc path, the copy cannot be written, truncated or grown", () => {
  const { path } = sample();
  const fd = sealedCopy(path, { minFd: 3 });
  try {
    // What root in a container would try with /proc/PID/exe.
    expect(() => openSync(`/proc/self/fd/${fd}`, "r+")).not.toThrow();
    const w = openSync(`/proc/self/fd/${fd}`, "r+");
    try {
      expect(() => writeSync(w, "x", 0)).toThrow(/EPERM/);
      expect(() => writeSync(w, "x", 4 * 1024 * 1024)).toThrow(/EPERM/);
    } finally {
      closeSync(w);
    }
    expect(() => openSync(`/proc/self/fd/${fd}`, "w")).toThrow(/EPERM/); // O_TRUNC: shrink
  } finally {
    closeSync(fd);
  }
});

test("the fd is numbered at least minFd and is close-on-exec", () => {
  const { path } = sample();
  const fd = sealedCopy(path, { minFd: 200 });
  try {
    expect(fd).toBeGreaterThanOrEqual(200);
    const flags = /^flags:\s+(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1]!;
    expect(parseInt(flags, 8) & 0o2000000).toBe(0o2000000);
  } finally {
    closeSync(fd);
  }
});

test("a missing binary is one clear error", () => {
  expect(() => sealedCopy("/nonexistent/skiff-init", { minFd: 3 })).toThrow("open /nonexistent/skiff-init: no such file or directory");
});
