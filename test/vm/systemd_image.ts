// The systemd VM's initramfs: a minimal Debian system made of the files of
// the installed systemd, dbus and util-linux packages (dpkg -L) plus their
// shared libraries (ldd), busybox for the shell tools, skiff, Debian's runc,
// a busybox rootfs, bundles and the test script run by a oneshot unit in
// multi-user.target. The kernel boots /lib/systemd/systemd as rdinit.
// Cached in test/.work/vm-systemd and rebuilt only when an input changes.
import { spawnSync } from "bun";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { REPO_ROOT, cachedRootfs, findBusybox } from "../bundle";
import { defaultConfig } from "../../src/config/default_config";
import type { Spec } from "../../src/config/types";
import { SKIFF_FILES, packCpio, run, stageSkiff } from "./initramfs";

export const SYSTEMD_VM_DIR = join(REPO_ROOT, "test/.work/vm-systemd");
/** What the image is made of; the test installs the missing ones with apt (services never started here). */
export const SYSTEMD_PACKAGES = ["systemd", "libsystemd-shared", "dbus", "libdbus-1-3", "util-linux", "mount", "runc"];
// dbus is split into these in Debian 12; taken where installed.
const OPTIONAL_PACKAGES = ["dbus-bin", "dbus-daemon", "dbus-system-bus-common"];
const SCRIPTS = ["systemd_tests.sh", "vmtest_lib.sh"];
// Never needed to boot or test, and most of the size.
const SKIP = /^\/usr\/share\/(doc|man|locale|bash-completion|zsh|fish|lintian|bug|polkit-1|info)\//;

function installed(pkg: string): boolean {
  const r = spawnSync(["dpkg-query", "-W", "-f", "${Status}", pkg], { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 && r.stdout.toString().includes("install ok installed");
}

function packages(): string[] {
  return [...SYSTEMD_PACKAGES, ...OPTIONAL_PACKAGES.filter(installed)];
}

// One config for both runtimes: only the cgroupsPath's prefix differs.
const SCOPE_ROOTFS = "/rootfs";
export function systemdBundles(): Record<string, Spec> {
  const make = (path: string, args: string[]) => {
    const s = defaultConfig({ rootless: false });
    s.process!.terminal = false;
    s.process!.args = args;
    s.root = { path: SCOPE_ROOTFS, readonly: true };
    s.linux!.cgroupsPath = path;
    s.linux!.resources = {
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20 },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0", mems: "0" },
      pids: { limit: 20 },
      blockIO: { weight: 500 },
      devices: [{ allow: false, access: "rwm" }],
    };
    return s;
  };
  return {
    skiff: make("system.slice:skiff:sd1", ["sleep", "1000"]),
    runc: make("system.slice:runc:sd1", ["sleep", "1000"]),
    // a slice that does not exist yet: systemd makes it as the parent
    newslice: make("testpods-burst.slice:skiff:sd2", ["sleep", "1000"]),
    cgroup: make("system.slice:skiff:sd4", ["cat", "/proc/self/cgroup"]),
    hookfail: (() => {
      const s = make("system.slice:skiff:sd5", ["sleep", "1000"]);
      s.hooks = { createRuntime: [{ path: "/bin/false" }] };
      return s;
    })(),
  };
}

/** Where `path` really is on this host (/bin/mount -> /usr/bin/mount), its own last component kept. */
function hostRealPath(path: string): string {
  try {
    return join(realpathSync(dirname(path)), basename(path));
  } catch {
    return path;
  }
}

function isElf(path: string): boolean {
  try {
    const fd = Bun.file(path);
    return fd.size > 4 && readFileSync(path).subarray(0, 4).toString("latin1") === "\x7fELF";
  } catch {
    return false;
  }
}

function copyInto(stage: string, path: string): void {
  const dest = join(stage, path);
  if (existsSync(dest) || isLink(dest)) return;
  mkdirSync(dirname(dest), { recursive: true });
  const st = lstatSync(path);
  if (st.isSymbolicLink()) symlinkSync(readlinkSync(path), dest);
  else {
    copyFileSync(path, dest);
    chmodSync(dest, st.mode & 0o7777);
  }
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Every library the ELF files need, at the path ldd names (the file itself, not the link). */
function libraryClosure(files: string[]): Set<string> {
  const libs = new Set<string>();
  // One ldd run for many files: it prints "file:" headers, then the libraries.
  for (let i = 0; i < files.length; i += 100) {
    const r = spawnSync(["ldd", ...files.slice(i, i + 100)], { stdout: "pipe", stderr: "ignore" });
    for (const line of r.stdout.toString().split("\n")) {
      const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
      if (m) libs.add(m[1]!);
    }
  }
  return libs;
}

function packageFiles(): string[] {
  const out: string[] = [];
  for (const pkg of packages()) {
    for (const path of run(["dpkg", "-L", pkg], `list the files of ${pkg}`).split("\n")) {
      if (!path.startsWith("/") || SKIP.test(path)) continue;
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue; // a conffile removed, a diverted file
      }
      if (st.isDirectory()) continue;
      out.push(hostRealPath(path));
    }
  }
  return out;
}

const UNIT = `[Unit]
Description=skiff systemd driver tests
Requires=dbus.socket
After=dbus.socket basic.target

[Service]
Type=oneshot
ExecStart=/bin/sh /test/systemd_tests.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
`;

function inputsDigest(kernel: string): string {
  const h = createHash("sha256");
  h.update("layout=1\n");
  for (const f of SKIFF_FILES) {
    const st = statSync(join(REPO_ROOT, "build", f));
    h.update(`${f} ${st.size} ${st.mtimeMs}\n`);
  }
  for (const f of SCRIPTS) h.update(readFileSync(join(import.meta.dir, f)));
  h.update(readFileSync(import.meta.path));
  h.update(readFileSync(join(import.meta.dir, "initramfs.ts")));
  h.update(JSON.stringify(systemdBundles()));
  h.update(run(["dpkg-query", "-W", ...packages()], "package versions"));
  const bb = findBusybox();
  h.update(`${bb} ${statSync(bb).size} ${statSync(bb).mtimeMs}\n`);
  h.update(readFileSync(`${cachedRootfs()}.stamp`));
  h.update(`${kernel} ${statSync(kernel).size}\n`);
  return h.digest("hex");
}

export function buildSystemdInitramfs(kernel: string): { path: string; cached: boolean } {
  const out = join(SYSTEMD_VM_DIR, "initramfs.cpio.gz");
  const stamp = `${out}.stamp`;
  const digest = inputsDigest(kernel);
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === digest) return { path: out, cached: true };
  mkdirSync(SYSTEMD_VM_DIR, { recursive: true });
  const stage = join(SYSTEMD_VM_DIR, `stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  try {
    // Debian's merged /usr: /bin, /sbin, /lib, /lib64 are links into /usr.
    for (const d of ["usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc/systemd/system", "proc", "sys", "dev", "run", "tmp", "var/lib", "var/log", "var/tmp", "root", "test/bundles"]) {
      mkdirSync(join(stage, d), { recursive: true });
    }
    for (const d of ["bin", "sbin", "lib", "lib64"]) symlinkSync(`usr/${d}`, join(stage, d));
    run(["mknod", "-m", "600", join(stage, "dev/console"), "c", "5", "1"], "make /dev/console");
    const files = packageFiles();
    for (const f of files) copyInto(stage, f);
    const elves = files.filter((f) => !isLink(f) && isElf(f));
    for (const lib of libraryClosure(elves)) {
      const dest = join(stage, lib);
      if (existsSync(dest)) continue;
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(lib, dest);
      chmodSync(dest, 0o755);
    }
    // busybox for the shell and the tools the packages above lack
    copyFileSync(findBusybox(), join(stage, "usr/bin/busybox"));
    chmodSync(join(stage, "usr/bin/busybox"), 0o755);
    for (const applet of run([findBusybox(), "--list"], "list busybox applets").split("\n").filter(Boolean)) {
      if (!existsSync(join(stage, "usr/bin", applet)) && !existsSync(join(stage, "usr/sbin", applet))) symlinkSync("busybox", join(stage, "usr/bin", applet));
    }
    stageSkiff(stage);
    // The rootfs inside the VM is the initramfs itself: pivot_root cannot
    // leave it, so both runtimes run with --no-pivot (see systemd_tests.sh).
    writeFileSync(join(stage, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nmessagebus:x:100:101::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
    writeFileSync(join(stage, "etc/group"), "root:x:0:\ntty:x:5:\nmessagebus:x:101:\nsystemd-journal:x:102:\nnogroup:x:65534:\n");
    writeFileSync(join(stage, "etc/machine-id"), ""); // systemd makes a transient one
    writeFileSync(join(stage, "etc/hostname"), "skiff-systemd-vm\n");
    for (const f of ["/etc/os-release", "/usr/lib/os-release", "/etc/nsswitch.conf"]) if (existsSync(f)) copyInto(stage, hostRealPath(f));
    const sys = join(stage, "etc/systemd/system");
    for (const [dir, unit, target] of [
      ["sockets.target.wants", "dbus.socket", "/lib/systemd/system/dbus.socket"],
      ["multi-user.target.wants", "vm-tests.service", "/etc/systemd/system/vm-tests.service"],
    ] as const) {
      mkdirSync(join(sys, dir), { recursive: true });
      symlinkSync(target, join(sys, dir, unit));
    }
    writeFileSync(join(sys, "vm-tests.service"), UNIT);
    // No logins on the console: the tests own it.
    for (const u of ["serial-getty@.service", "getty@.service", "console-getty.service"]) symlinkSync("/dev/null", join(sys, u));
    for (const [name, spec] of Object.entries(systemdBundles())) {
      mkdirSync(join(stage, "test/bundles", name));
      writeFileSync(join(stage, "test/bundles", name, "config.json"), JSON.stringify(spec, null, "\t") + "\n");
    }
    for (const f of SCRIPTS) copyFileSync(join(import.meta.dir, f), join(stage, "test", f));
    packCpio(stage, out);
    writeFileSync(stamp, digest);
    return { path: out, cached: false };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
