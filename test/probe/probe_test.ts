// Runs the probe on the host (no root needed) to check that every
// subcommand prints one parseable JSON object with the documented keys.
// Inside containers the values differ; the shape must not.

import { describe, expect, test, afterAll } from "bun:test";
import { spawnSync } from "bun";
import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { buildProbe, cleanupTempDirs, isStaticElf, makeBundle, tempDir } from "../bundle";
import { needRoot, needRunc, RUNC, skipWhy } from "../skip";

const probe = buildProbe();
afterAll(cleanupTempDirs);

function runProbe(...args: string[]): { code: number | null; out: any; stdout: string } {
  const r = spawnSync([probe, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, PROBE_TEST: "a\"b\\c\n" } });
  const stdout = r.stdout.toString();
  return { code: r.exitCode, out: stdout.trim() ? JSON.parse(stdout) : undefined, stdout };
}

function expectKeys(obj: unknown, keys: string[]): void {
  expect(Object.keys(obj as object).sort()).toEqual([...keys].sort());
}

const RLIMITS = ["CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"].map((n) => `RLIMIT_${n}`);

describe("probe", () => {
  test("is static and prints exactly one line", () => {
    expect(isStaticElf(probe)).toBe(true);
    const { stdout, code } = runProbe("pid");
    expect(code).toBe(0);
    expect(stdout.endsWith("\n")).toBe(true);
    expect(stdout.trim().includes("\n")).toBe(false);
  });

  test("caps", () => {
    const { out } = runProbe("caps");
    expectKeys(out, ["inheritable", "permitted", "effective", "bounding", "ambient", "no_new_privs", "seccomp", "seccomp_filters"]);
    for (const set of ["inheritable", "permitted", "effective", "bounding", "ambient"]) expect(out[set]).toMatch(/^[0-9a-f]{16}$/);
    expect([0, 1]).toContain(out.no_new_privs);
    expect([0, 1, 2]).toContain(out.seccomp);
  });

  test("ids", () => {
    const { out } = runProbe("ids");
    expectKeys(out, ["uid", "gid", "euid", "egid", "suid", "sgid", "groups", "umask"]);
    expect(out.uid).toBe(process.getuid!());
    expect(out.gid).toBe(process.getgid!());
    expect(Array.isArray(out.groups)).toBe(true);
    expect(out.umask).toMatch(/^0[0-7]{3}$/);
  });

  test("mounts", () => {
    const { out } = runProbe("mounts");
    expect(out.mounts.length).toBeGreaterThan(0);
    for (const m of out.mounts) {
      expectKeys(m, ["id", "parent", "dev", "root", "mount_point", "fs_type", "source", "options", "super_options", "propagation"]);
      expect(Array.isArray(m.options) && Array.isArray(m.super_options) && Array.isArray(m.propagation)).toBe(true);
    }
    expect(out.mounts.some((m: any) => m.mount_point === "/proc" && m.fs_type === "proc")).toBe(true);
    // kernel order is kept: the same order as mountinfo itself
    const points = readFileSync("/proc/self/mountinfo", "utf8").trim().split("\n").map((l) => l.split(" ")[4]);
    expect(out.mounts.map((m: any) => m.mount_point.replace(/ /g, "\\040"))).toEqual(points);
  });

  test("ns", () => {
    const { out } = runProbe("ns");
    for (const ns of ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"]) expect(typeof out[ns]).toBe("number");
    expect(out.mnt).toBe(Number(readlinkSync("/proc/self/ns/mnt").match(/\[(\d+)\]/)![1]));
  });

  test("rlimits", () => {
    const { out } = runProbe("rlimits");
    expectKeys(out, RLIMITS);
    for (const name of RLIMITS) {
      expectKeys(out[name], ["soft", "hard"]);
      expect(out[name].soft).toBeGreaterThanOrEqual(-1);
    }
  });

  test("hostname", () => {
    const { out } = runProbe("hostname");
    expectKeys(out, ["hostname", "domainname"]);
    expect(out.hostname).toBe(readFileSync("/proc/sys/kernel/hostname", "utf8").trim());
  });

  test("cwd", () => {
    const r = spawnSync([probe, "cwd"], { cwd: "/tmp", stdout: "pipe" });
    expect(JSON.parse(r.stdout.toString())).toEqual({ cwd: "/tmp" });
  });

  test("env is sorted and escaped", () => {
    const { out } = runProbe("env");
    expect(out.env).toEqual([...out.env].sort());
    expect(out.env).toContain("PROBE_TEST=a\"b\\c\n");
  });

  test("fds", () => {
    const { out } = runProbe("fds");
    expect(out.fds.map((f: any) => f.fd).slice(0, 3)).toEqual([0, 1, 2]);
    for (const f of out.fds) expectKeys(f, ["fd", "target"]);
  });

  test("devices", () => {
    const { out } = runProbe("devices");
    const dnull = out.devices.find((d: any) => d.name === "null");
    expect(dnull).toEqual({ name: "null", type: "char", major: 1, minor: 3, mode: "0666", uid: 0, gid: 0, target: null });
    for (const d of out.devices) expectKeys(d, ["name", "type", "major", "minor", "mode", "uid", "gid", "target"]);
    // /dev/fd as this host has it: a link is listed with its target, anything else not as a link
    const hostLink = existsSync("/dev/fd") && lstatSync("/dev/fd").isSymbolicLink() ? readlinkSync("/dev/fd") : null;
    const fd = out.devices.find((d: any) => d.name === "fd");
    expect(fd?.type === "link" ? fd.target : null).toBe(hostLink);
  });

  test("devices DIR lists another tree", () => {
    const dir = tempDir("skiff-probe-");
    const { out } = runProbe("devices", dir);
    expect(out).toEqual({ devices: [] });
  });

  test("paths", () => {
    const { out } = runProbe("paths", "/dev/null", "/nonexistent", "/proc/self/status", "/");
    const [dnull, missing, status, root] = out.paths;
    expect(dnull).toEqual({ path: "/dev/null", exists: true, type: "char", readable: true, writable: true, empty: true, read_error: null, write_error: null });
    expect(missing).toMatchObject({ exists: false, type: null, readable: false, writable: false, empty: null, read_error: "ENOENT" });
    expect(status).toMatchObject({ exists: true, type: "file", readable: true, empty: false });
    expect(root).toMatchObject({ exists: true, type: "dir", readable: true, empty: false });
  });

  test("cgroup", () => {
    const { out } = runProbe("cgroup");
    expect(out.cgroup.length).toBeGreaterThan(0);
    for (const c of out.cgroup) {
      expectKeys(c, ["hierarchy", "controllers", "path"]);
      expect(c.path.startsWith("/")).toBe(true);
    }
  });

  test("oom", () => {
    const { out } = runProbe("oom");
    expect(out.oom_score_adj).toBe(Number(readFileSync("/proc/self/oom_score_adj", "utf8")));
  });

  test("personality", () => {
    const { out } = runProbe("personality");
    expectKeys(out, ["personality", "hex"]);
    expect(out.hex).toBe(`0x${out.personality.toString(16)}`);
  });

  test("sysctl", () => {
    const { out } = runProbe("sysctl", "kernel.ostype", "no.such.key");
    expect(out.sysctl["kernel.ostype"]).toEqual({ value: "Linux", error: null });
    expect(out.sysctl["no.such.key"]).toEqual({ value: null, error: "ENOENT" });
  });

  test("exit", () => {
    const r = runProbe("exit", "42");
    expect(r.code).toBe(42);
    expect(r.out).toEqual({ exit: 42 });
  });

  test("sleep prints its line before sleeping, and exits 0 when done", async () => {
    // A long sleep: the line must arrive while the process sleeps. Where it
    // is, the kernel tells (/proc/PID/syscall: nanosleep 35 or
    // clock_nanosleep 230 on x86_64); no clock decides the verdict.
    const proc = Bun.spawn([probe, "sleep", "600"], { stdout: "pipe" });
    try {
      const first = await proc.stdout.getReader().read();
      expect(JSON.parse(new TextDecoder().decode(first.value))).toEqual({ pid: proc.pid, sleep: "600" });
      const inSleep = () => ["35", "230"].includes(readFileSync(`/proc/${proc.pid}/syscall`, "utf8").split(" ")[0]!);
      for (let i = 0; i < 1000 && !inSleep(); i++) await Bun.sleep(10);
      expect(inSleep()).toBe(true);
      expect(proc.exitCode).toBe(null);
    } finally {
      proc.kill(9);
    }
    expect(await proc.exited).toBe(137);
    const short = runProbe("sleep", "0.01");
    expect(short.code).toBe(0);
    expect(short.out).toEqual({ pid: expect.any(Number), sleep: "0.01" });
  });

  test("pid", () => {
    const { out } = runProbe("pid");
    expectKeys(out, ["pid", "ppid"]);
    expect(out.ppid).toBe(process.pid);
  });

  test("all nests caps ids ns rlimits hostname cwd env", () => {
    const { out } = runProbe("all");
    expectKeys(out, ["caps", "ids", "ns", "rlimits", "hostname", "cwd", "env"]);
    expect(out.caps).toEqual(runProbe("caps").out);
    expect(out.rlimits).toEqual(runProbe("rlimits").out);
  });

  test("usage errors exit 2 with nothing on stdout", () => {
    for (const args of [[], ["nope"], ["caps", "extra"]]) {
      const r = runProbe(...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
    }
  });

  test("failures print {error} and exit 1", () => {
    const { code, out } = runProbe("devices", "/nonexistent");
    expect(code).toBe(1);
    expect(out.error).toContain("/nonexistent");
  });
});

describe("bundle helpers", () => {

  test("makeBundle writes a runc-shaped config and a rootfs with probe and busybox", () => {
    const dir = makeBundle({ args: ["/probe", "all"], mutate: (s) => void (s.hostname = "probe") });
    const spec = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(spec.process.terminal).toBe(false);
    expect(spec.process.args).toEqual(["/probe", "all"]);
    expect(spec.hostname).toBe("probe");
    expect(spec.root).toEqual({ path: "rootfs", readonly: true });
    const rootfs = join(dir, "rootfs");
    expect(isStaticElf(join(rootfs, "probe"))).toBe(true);
    expect(isStaticElf(join(rootfs, "bin/busybox"))).toBe(true);
    expect(readlinkSync(join(rootfs, "bin/sh"))).toBe("/bin/busybox");
    expect(readFileSync(join(rootfs, "etc/passwd"), "utf8")).toContain("tester:x:1000:1000:");
    expect(readFileSync(join(rootfs, "etc/group"), "utf8")).toContain("extra:x:1001:tester");
    for (const d of ["proc", "sys", "dev", "tmp"]) expect(lstatSync(join(rootfs, d)).isDirectory()).toBe(true);
  });

  test("makeBundle without busybox and with a shared rootfs", () => {
    const own = makeBundle({ args: ["/probe", "ids"], busybox: false });
    expect(existsSync(join(own, "rootfs/bin/busybox"))).toBe(false);
    expect(existsSync(join(own, "rootfs/probe"))).toBe(true);
    const shared = makeBundle({ args: ["/probe", "ids"], rootfsDir: join(own, "rootfs") });
    expect(JSON.parse(readFileSync(join(shared, "config.json"), "utf8")).root.path).toBe(join(own, "rootfs"));
    expect(existsSync(join(shared, "rootfs"))).toBe(false);
  });

  // Proves the bundles are runnable as written, independent of skiff.
  test.skipIf(skipWhy("runc runs the probe in a bundle", needRoot(), needRunc()))("runc runs the probe in a bundle", () => {
    const dir = makeBundle({ args: ["/probe", "all"] });
    const root = tempDir("skiff-runc-root-");
    const id = `skiff-probe-${process.pid}`;
    const r = spawnSync([RUNC, "--root", root, "run", "--bundle", dir, id], { stdout: "pipe", stderr: "pipe" });
    spawnSync([RUNC, "--root", root, "delete", "-f", id]);
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout.toString());
    expect(out.hostname.hostname).toBe("runc");
    expect(out.cwd.cwd).toBe("/");
    expect(out.caps.bounding).toBe("0000000020000420"); // AUDIT_WRITE KILL NET_BIND_SERVICE
    expect(out.caps.no_new_privs).toBe(1);
    expect(out.rlimits.RLIMIT_NOFILE).toEqual({ soft: 1024, hard: 1024 });
  });
});
