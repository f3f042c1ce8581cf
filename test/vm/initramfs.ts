// The cgroup v2 VM: an initramfs (cpio newc, gzip) holding busybox, skiff
// with its helpers and shared libraries, a busybox rootfs for containers,
// prebuilt bundles and the test scripts. Cached in test/.work/vm and rebuilt
// only when an input changes.
import { spawnSync } from "bun";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO_ROOT, cachedRootfs, findBusybox } from "../bundle";
import { defaultConfig } from "../../src/config/default_config";
import type { Spec } from "../../src/config/types";

export const VM_DIR = join(REPO_ROOT, "test/.work/vm");
const BUILD = join(REPO_ROOT, "build");
const SKIFF_FILES = ["skiff", "skiff-init", "skiff-bpf"];
const SCRIPTS = ["init.sh", "v2_tests.sh"];

function run(argv: string[], what: string, input?: string): string {
  const r = spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: input === undefined ? "ignore" : Buffer.from(input) });
  if (r.exitCode !== 0) throw new Error(`${what}: ${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** The newest /boot/vmlinuz-*-cloud-amd64. */
export function findKernel(): string | undefined {
  const names = existsSync("/boot") ? readdirSync("/boot").filter((n) => /^vmlinuz-.*-cloud-amd64$/.test(n)) : [];
  names.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const last = names.at(-1);
  return last ? join("/boot", last) : undefined;
}

/** Shared objects build/skiff needs (ldd), loader included: absolute paths. */
export function sharedLibraries(binary: string): string[] {
  const out: string[] = [];
  for (const line of run(["ldd", binary], "list shared libraries").split("\n")) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

// Bundles, config.json as `skiff spec` writes it, edited for each test.
const ROOTFS = "/rootfs";
function bundle(id: string, args: string[], edit: (s: Spec) => void = () => {}): Spec {
  const s = defaultConfig({ rootless: false });
  s.process!.terminal = false;
  s.process!.args = args;
  s.root = { path: ROOTFS, readonly: true };
  s.linux!.cgroupsPath = `/skiff-test/${id}`;
  edit(s);
  return s;
}

function resourcesOf(s: Spec): Record<string, unknown> {
  return (s.linux!.resources ??= {}) as Record<string, unknown>;
}

// Prints KEY=ok or KEY=denied:<error> per device access.
const DEVICE_SCRIPT = [
  "t() { if sh -c \"$2\" 2>/tmp/err; then echo \"$1=ok\"; else echo \"$1=denied:$(cat /tmp/err)\"; fi; }",
  "t null-write 'echo x > /dev/null'",
  "t null-read 'head -c1 /dev/zero > /dev/null'",
  "t kmsg-write 'echo skiff-device-test > /kmsg'",
  "t kmsg-read 'head -c1 /kmsg > /dev/null'",
  "[ ! -e /dev/kmsg ] || t dev-kmsg-write 'echo skiff-device-test > /dev/kmsg'",
].join("\n");

export function vmBundles(): Record<string, Spec> {
  return {
    limits: bundle("limits", ["sleep", "1000"], (s) => {
      const r = resourcesOf(s);
      r.memory = { limit: 64 << 20, swap: 96 << 20 };
      r.cpu = { shares: 1024, quota: 50000, period: 100000, cpus: "0", mems: "0" };
      r.pids = { limit: 20 };
      r.blockIO = { weight: 500 };
    }),
    // default rules only: /dev/null yes, c 1:11 no
    devdeny: bundle("devdeny", ["sh", "-c", DEVICE_SCRIPT], (s) => {
      s.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
    }),
    // later rules win: allow c 1:11 rw, then deny w again -> read only
    devread: bundle("devread", ["sh", "-c", DEVICE_SCRIPT], (s) => {
      s.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
      resourcesOf(s).devices = [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 11, access: "rw" },
        { allow: false, type: "c", major: 1, minor: 11, access: "w" },
      ];
    }),
    // a wildcard: every char device of major 1, write only
    devwild: bundle("devwild", ["sh", "-c", DEVICE_SCRIPT], (s) => {
      s.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
      resourcesOf(s).devices = [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, access: "w" }];
    }),
    // linux.devices: made in /dev and allowed rwm
    devlist: bundle("devlist", ["sh", "-c", DEVICE_SCRIPT], (s) => {
      s.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
      s.linux!.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o600, uid: 0, gid: 0 }];
    }),
    // a hole in a wildcard rule: refused, as runc does
    devbad: bundle("devbad", ["true"], (s) => {
      resourcesOf(s).devices = [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, access: "rw" }, { allow: false, type: "c", major: 1, minor: 11, access: "r" }];
    }),
    oom: bundle("oom", ["sh", "-c", "while [ ! -e /go-oom ]; do sleep 0.1; done; exec tail /dev/zero"], (s) => {
      resourcesOf(s).memory = { limit: 16 << 20, swap: 16 << 20 };
    }),
  };
}

function inputsDigest(kernel: string): string {
  const h = createHash("sha256");
  h.update("layout=1\n");
  for (const f of SKIFF_FILES) {
    const st = statSync(join(BUILD, f));
    h.update(`${f} ${st.size} ${st.mtimeMs}\n`);
  }
  for (const f of SCRIPTS) h.update(readFileSync(join(import.meta.dir, f)));
  h.update(readFileSync(import.meta.path));
  h.update(JSON.stringify(vmBundles()));
  const bb = findBusybox();
  h.update(`${bb} ${statSync(bb).size} ${statSync(bb).mtimeMs}\n`);
  const rootfs = cachedRootfs();
  h.update(readFileSync(`${rootfs}.stamp`));
  h.update(`${kernel} ${statSync(kernel).size}\n`);
  return h.digest("hex");
}

/** Builds (or reuses) the initramfs; returns its path. */
export function buildInitramfs(kernel: string): { path: string; cached: boolean } {
  for (const f of SKIFF_FILES) if (!existsSync(join(BUILD, f))) throw new Error(`build initramfs: build/${f} missing (run scripts/build.sh)`);
  const digest = inputsDigest(kernel);
  const out = join(VM_DIR, "initramfs.cpio.gz");
  const stamp = `${out}.stamp`;
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === digest) return { path: out, cached: true };
  mkdirSync(VM_DIR, { recursive: true });
  const stage = join(VM_DIR, `stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  try {
    for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "proc", "sys", "dev", "tmp", "run", "etc", "test/bundles"]) mkdirSync(join(stage, d), { recursive: true });
    // busybox; /init installs the applet links
    copyFileSync(findBusybox(), join(stage, "bin/busybox"));
    chmodSync(join(stage, "bin/busybox"), 0o755);
    symlinkSync("busybox", join(stage, "bin/sh"));
    // /dev/console, so the kernel has one for /init before devtmpfs
    run(["mknod", "-m", "600", join(stage, "dev/console"), "c", "5", "1"], "make /dev/console");
    // skiff and its helpers side by side, and what the dynamic loader needs
    for (const f of SKIFF_FILES) {
      copyFileSync(join(BUILD, f), join(stage, "usr/local/bin", f));
      chmodSync(join(stage, "usr/local/bin", f), 0o755);
    }
    for (const lib of sharedLibraries(join(BUILD, "skiff"))) {
      const dest = join(stage, lib);
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(lib, dest); // follows symlinks: the file itself, at the path ldd named
      chmodSync(dest, 0o755);
    }
    // the container rootfs (busybox, probe)
    run(["cp", "-a", `${cachedRootfs()}/.`, join(stage, "rootfs")], "copy rootfs");
    for (const [name, spec] of Object.entries(vmBundles())) {
      mkdirSync(join(stage, "test/bundles", name));
      writeFileSync(join(stage, "test/bundles", name, "config.json"), JSON.stringify(spec, null, "\t") + "\n");
    }
    copyFileSync(join(import.meta.dir, "init.sh"), join(stage, "init"));
    chmodSync(join(stage, "init"), 0o755);
    copyFileSync(join(import.meta.dir, "v2_tests.sh"), join(stage, "test/v2_tests.sh"));
    chmodSync(join(stage, "test/v2_tests.sh"), 0o755);
    writeFileSync(join(stage, "etc/passwd"), "root:x:0:0:root:/:/bin/sh\n");
    const tmp = `${out}.${process.pid}.tmp`;
    const r = spawnSync(["bash", "-c", 'set -o pipefail; cd "$1" && find . -mindepth 1 | cpio --quiet -o -H newc -R 0:0 | gzip -1 > "$2"', "sh", stage, tmp], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`build initramfs: cpio: ${r.stderr.toString().trim()}`);
    renameSync(tmp, out);
    writeFileSync(stamp, digest);
    return { path: out, cached: false };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
