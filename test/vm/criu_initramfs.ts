// The checkpoint/restore VM: an initramfs like the cgroup v2 VM's (busybox,
// skiff, a busybox rootfs) plus Debian's criu and runc with their shared
// libraries, the kernel modules criu needs (socket diag for dumping sockets,
// nf_tables for locking the network), recvtty for the terminal case, the
// bundles and test/vm/criu_tests.sh. Cached in test/.work/vm-criu.
import { spawnSync } from "bun";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { REPO_ROOT, cachedRootfs, findBusybox } from "../bundle";
import { buildTool } from "../tty/tools";
import { sharedLibraries } from "./initramfs";
import { defaultConfig } from "../../src/config/default_config";
import type { Spec } from "../../src/config/types";

export const CRIU_VM_DIR = join(REPO_ROOT, "test/.work/vm-criu");
export const CRIU = "/usr/sbin/criu";
export const RUNC = "/usr/sbin/runc";
const TAR = "/usr/bin/tar";
const IP = "/bin/ip";
const BUILD = join(REPO_ROOT, "build");
const SKIFF_FILES = ["skiff", "skiff-init", "skiff-bpf"];
const SCRIPTS = ["criu_init.sh", "criu_tests.sh"];
/**
 * In load order (dependencies first); each under /lib/modules/VERSION/kernel/.
 * The conntrack ones because criu dumps a container's network namespace's
 * connection tracking over nfnetlink, which answers EINVAL without them.
 */
export const MODULES = [
  "libcrc32c", "nfnetlink", "nf_tables", "inet_diag", "tcp_diag", "udp_diag", "unix_diag", "netlink_diag", "af_packet_diag",
  "nf_defrag_ipv4", "nf_defrag_ipv6", "nf_conntrack", "nf_conntrack_netlink",
];

function run(argv: string[], what: string): string {
  const r = spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${what}: ${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** "6.1.0-57-cloud-amd64" from /boot/vmlinuz-6.1.0-57-cloud-amd64 */
export function kernelVersion(kernel: string): string {
  return basename(kernel).replace(/^vmlinuz-/, "");
}

/** The module files for the kernel, found under its /lib/modules tree; throws naming what is missing. */
export function moduleFiles(kernel: string): string[] {
  const dir = `/lib/modules/${kernelVersion(kernel)}/kernel`;
  const all = run(["find", dir, "-name", "*.ko*"], `list modules of ${dir}`).split("\n").filter(Boolean);
  return MODULES.map((m) => {
    const f = all.find((p) => basename(p).replace(/\.ko(\.\w+)?$/, "") === m);
    if (!f) throw new Error(`build criu initramfs: module ${m} not found under ${dir}`);
    if (!f.endsWith(".ko")) throw new Error(`build criu initramfs: ${f} is compressed (busybox insmod takes plain .ko)`);
    return f;
  });
}

// Bundles: the counting loop writes its count to /data/count, a bind of a
// VM directory (the bind-mount case); its stdio is the container's own
// /dev/null, since criu cannot dump an fd of a file outside the container.
const ROOTFS = "/rootfs";
// (written aside and renamed: a reader never sees the file empty)
const COUNT = "i=0; while :; do i=$((i+1)); echo $i > /data/count.new; mv /data/count.new /data/count; sleep 0.2; done";
function bundle(name: string, edit: (s: Spec) => void): Spec {
  const s = defaultConfig({ rootless: false });
  s.process!.terminal = false;
  s.process!.args = ["sh", "-c", `exec </dev/null >/dev/null 2>&1; ${COUNT}`];
  s.root = { path: ROOTFS, readonly: true };
  s.linux!.cgroupsPath = `/criu-test/${name}`;
  s.mounts!.push({ destination: "/data", type: "bind", source: `/test/data/${name}`, options: ["rbind", "rw"] });
  edit(s);
  return s;
}

export function criuBundles(): Record<string, Spec> {
  return {
    count: bundle("count", () => {}),
    // the count also goes to the terminal, which recvtty copies to a file
    tty: bundle("tty", (s) => {
      s.process!.terminal = true;
      s.process!.args = ["sh", "-c", COUNT.replace("/data/count;", "/data/count; echo tick $i;")];
    }),
    // prestart and createRuntime hooks run at restore too, with the restored pid
    hook: bundle("hook", (s) => {
      const save = (name: string) => ({ path: "/bin/sh", args: ["sh", "-c", `cat > /test/data/hook/${name}.json`] });
      s.hooks = { prestart: [save("prestart")], createRuntime: [save("createRuntime")] };
    }),
    // stdio stays the pipes the runtime was given: restore hands in new ones
    pipe: bundle("pipe", (s) => {
      s.process!.args = ["sh", "-c", COUNT.replace("/data/count;", "/data/count; echo tick $i;")];
    }),
  };
}

function inputsDigest(kernel: string, tools: string[]): string {
  const h = createHash("sha256");
  h.update("criu-layout=1\n");
  for (const f of [...SKIFF_FILES.map((f) => join(BUILD, f)), CRIU, RUNC, TAR, IP, findBusybox(), ...tools]) {
    const st = statSync(f);
    h.update(`${f} ${st.size} ${st.mtimeMs}\n`);
  }
  for (const f of SCRIPTS) h.update(readFileSync(join(import.meta.dir, f)));
  h.update(readFileSync(import.meta.path));
  h.update(JSON.stringify(criuBundles()));
  h.update(readFileSync(`${cachedRootfs()}.stamp`));
  h.update(`${kernel} ${statSync(kernel).size}\n`);
  return h.digest("hex");
}

function copyWithLibraries(stage: string, binary: string, dest: string): void {
  mkdirSync(dirname(join(stage, dest)), { recursive: true });
  copyFileSync(binary, join(stage, dest));
  chmodSync(join(stage, dest), 0o755);
  for (const lib of sharedLibraries(binary)) {
    const to = join(stage, lib);
    if (existsSync(to)) continue;
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(lib, to);
    chmodSync(to, 0o755);
  }
}

/** Builds (or reuses) the initramfs; returns its path. */
export function buildCriuInitramfs(kernel: string): { path: string; cached: boolean } {
  for (const f of SKIFF_FILES) if (!existsSync(join(BUILD, f))) throw new Error(`build criu initramfs: build/${f} missing (run scripts/build.sh)`);
  for (const f of [CRIU, RUNC]) if (!existsSync(f)) throw new Error(`build criu initramfs: ${f} missing`);
  const recvtty = buildTool("recvtty");
  const modules = moduleFiles(kernel);
  const digest = inputsDigest(kernel, [recvtty]);
  const out = join(CRIU_VM_DIR, "initramfs.cpio.gz");
  const stamp = `${out}.stamp`;
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === digest) return { path: out, cached: true };
  mkdirSync(CRIU_VM_DIR, { recursive: true });
  const stage = join(CRIU_VM_DIR, `stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  try {
    for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "proc", "sys", "dev", "tmp", "run", "etc", "test/bundles", "test/data", "modules"]) mkdirSync(join(stage, d), { recursive: true });
    copyFileSync(findBusybox(), join(stage, "bin/busybox"));
    chmodSync(join(stage, "bin/busybox"), 0o755);
    symlinkSync("busybox", join(stage, "bin/sh"));
    run(["mknod", "-m", "600", join(stage, "dev/console"), "c", "5", "1"], "make /dev/console");
    for (const f of SKIFF_FILES) {
      copyFileSync(join(BUILD, f), join(stage, "usr/local/bin", f));
      chmodSync(join(stage, "usr/local/bin", f), 0o755);
    }
    copyWithLibraries(stage, join(BUILD, "skiff"), "usr/local/bin/skiff");
    copyWithLibraries(stage, CRIU, "usr/sbin/criu");
    copyWithLibraries(stage, RUNC, "usr/sbin/runc");
    // criu dumps and restores tmpfs content with GNU tar (busybox's lacks its options)
    copyWithLibraries(stage, TAR, "usr/bin/tar");
    // and saves and restores a network namespace's addresses and routes with iproute2's ip
    copyWithLibraries(stage, IP, "usr/sbin/ip");
    copyFileSync(recvtty, join(stage, "usr/local/bin/recvtty"));
    chmodSync(join(stage, "usr/local/bin/recvtty"), 0o755);
    modules.forEach((m, i) => copyFileSync(m, join(stage, "modules", `${String(i).padStart(2, "0")}-${basename(m)}`)));
    run(["cp", "-a", `${cachedRootfs()}/.`, join(stage, "rootfs")], "copy rootfs");
    for (const [name, spec] of Object.entries(criuBundles())) {
      mkdirSync(join(stage, "test/bundles", name));
      mkdirSync(join(stage, "test/data", name));
      writeFileSync(join(stage, "test/bundles", name, "config.json"), JSON.stringify(spec, null, "\t") + "\n");
    }
    copyFileSync(join(import.meta.dir, "criu_init.sh"), join(stage, "init"));
    chmodSync(join(stage, "init"), 0o755);
    copyFileSync(join(import.meta.dir, "criu_tests.sh"), join(stage, "test/criu_tests.sh"));
    writeFileSync(join(stage, "etc/passwd"), "root:x:0:0:root:/:/bin/sh\n");
    writeFileSync(join(stage, "etc/group"), "root:x:0:\ntty:x:5:\n");
    // criu 3.17 locks the network with iptables-restore by default; the VM
    // has nf_tables instead. skiff asks for nftables itself where
    // iptables-restore is missing; runc 1.1 does not, and passing a config
    // file over RPC (/etc/criu/runc.conf) crashes criu 3.17 (SIGSEGV): runc
    // gets criu's default config file.
    mkdirSync(join(stage, "etc/criu"));
    writeFileSync(join(stage, "etc/criu/default.conf"), "network-lock nftables\n");
    const tmp = `${out}.${process.pid}.tmp`;
    const r = spawnSync(["bash", "-c", 'set -o pipefail; cd "$1" && find . -mindepth 1 | cpio --quiet -o -H newc -R 0:0 | gzip -1 > "$2"', "sh", stage, tmp], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`build criu initramfs: cpio: ${r.stderr.toString().trim()}`);
    renameSync(tmp, out);
    writeFileSync(stamp, digest);
    return { path: out, cached: false };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
