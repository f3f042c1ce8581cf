import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { criuConfigFile, logReason } from "./swrk";

const dir = mkdtempSync(join(tmpdir(), "skiff-criu-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function reasonOf(log: string): string | undefined {
  const path = join(dir, "dump.log");
  writeFileSync(path, log);
  return logReason(path);
}

test("the reason is criu's first error: the cause, not its consequences", () => {
  // criu 3.17 on a 6.18 kernel
  const log = [
    "(00.059700) Running on ...",
    "(00.059732) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds",
    "(00.059736) Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable",
    "(00.059794) Error (criu/crtools.c:260): Could not initialize kernel features detection.",
  ].join("\n");
  expect(reasonOf(log)).toBe("criu: vdso: Unexpected rt vDSO area bounds");
});

test("kernel probing noise and a helper's bare exit status are passed over", () => {
  const log = [
    "(00.19) Error (criu/util.c:642): exited, status=1",
    "(00.53) Error (criu/tun.c:85): tun: Unable to create tun: No such file or directory",
    "(00.88) Error (criu/libnetlink.c:54): -95 reported by netlink: Operation not supported",
    "(00.88) Error (criu/net.c:3741): Unable to create a veth pair: -95",
    'Error (criu/util.c:627): execvp("iptables-restore", ...) failed: No such file or directory',
    "(01.90) Error (criu/util.c:642): exited, status=1",
    "(01.97) Error (criu/cr-dump.c:2053): Dumping FAILED.",
  ].join("\n");
  expect(reasonOf(log)).toBe('criu: execvp("iptables-restore", ...) failed: No such file or directory');
});

test("no log, or one without errors: no reason from it", () => {
  expect(logReason(join(dir, "missing.log"))).toBeUndefined();
  expect(reasonOf("(00.01) Version: 3.17.1\n")).toBeUndefined();
});

test("criu's config file: the annotation wins, empty means none", () => {
  expect(criuConfigFile({ "org.criu.config": "/etc/x.conf" })).toBe("/etc/x.conf");
  expect(criuConfigFile({ "org.criu.config": "" })).toBeUndefined();
});
