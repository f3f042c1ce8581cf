import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withHome } from "./home_env";

const root = mkdtempSync(join(tmpdir(), "skiff-home-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, "etc"));
writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000::/home/tester:/bin/sh\n");

test("HOME comes from the rootfs's /etc/passwd when env has none", () => {
  expect(withHome(["PATH=/bin"], { rootfs: root, uid: 1000 })).toEqual(["PATH=/bin", "HOME=/home/tester"]);
  expect(withHome([], { rootfs: root, uid: 0 })).toEqual(["HOME=/root"]);
});

test("an unknown user gets HOME=/, and a given HOME is kept", () => {
  expect(withHome([], { rootfs: root, uid: 4242 })).toEqual(["HOME=/"]);
  expect(withHome(["HOME=/x"], { rootfs: root, uid: 1000 })).toEqual(["HOME=/x"]);
});

test("a passwd symlink that leaves the rootfs is not followed", () => {
  const evil = mkdtempSync(join(tmpdir(), "skiff-home-evil-"));
  mkdirSync(join(evil, "etc"));
  symlinkSync("/etc/passwd", join(evil, "etc/passwd"));
  expect(withHome([], { rootfs: evil, uid: 0 })).toEqual(["HOME=/"]);
  rmSync(evil, { recursive: true, force: true });
});
