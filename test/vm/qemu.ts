// What the VM tests share: qemu and the cloud kernel (installed with apt
// when missing), booting a kernel + initramfs under TCG with the serial
// console on stdout, and the log cleaned of terminal escapes.
import { spawn, spawnSync } from "bun";
import { chmodSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { findKernel } from "./initramfs";

export const QEMU = "qemu-system-x86_64";

export function which(cmd: string): boolean {
  return spawnSync(["sh", "-c", `command -v ${cmd}`], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

function dpkgInstalled(pkg: string): boolean {
  const r = spawnSync(["dpkg-query", "-W", "-f", "${Status}", pkg], { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 && r.stdout.toString().includes("install ok installed");
}

/**
 * apt-get install, never starting a service on this host: a policy-rc.d
 * that refuses every start is put in place for the install when there is
 * none (dbus's postinst would otherwise start a system bus here).
 */
export function aptInstall(pkgs: string[]): void {
  const policy = "/usr/sbin/policy-rc.d";
  const ours = !existsSync(policy);
  if (ours) {
    writeFileSync(policy, "#!/bin/sh\n# skiff's tests: install packages without starting services\nexit 101\n");
    chmodSync(policy, 0o755);
  }
  try {
    const r = spawnSync(["apt-get", "install", "-y", "--no-install-recommends", ...pkgs], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (r.exitCode !== 0) throw new Error(`install ${pkgs.join(" ")}: apt-get exited ${r.exitCode}: ${r.stderr.toString().trim().slice(-2000)}`);
  } finally {
    if (ours) rmSync(policy, { force: true });
  }
}

/** qemu, cpio, the kernel and `packages`, installed with apt when missing; throws (fails the test) when that is impossible. */
export function ensureTools(packages: string[] = []): string {
  const want: string[] = [];
  if (!which(QEMU)) want.push("qemu-system-x86");
  if (!findKernel()) want.push("linux-image-cloud-amd64");
  if (!which("cpio")) want.push("cpio");
  for (const p of packages) if (!dpkgInstalled(p)) want.push(p);
  if (want.length) aptInstall(want);
  const kernel = findKernel();
  if (!which(QEMU)) throw new Error(`${QEMU} is missing after installing qemu-system-x86`);
  if (!kernel) throw new Error("no /boot/vmlinuz-*-cloud-amd64 after installing linux-image-cloud-amd64");
  return kernel;
}

export interface VmRun {
  /** the serial console, \r and escapes removed, with qemu's stderr appended */
  log: string;
  seconds: number;
  timedOut: boolean;
}

export async function bootVm(kernel: string, initrd: string, o: { append: string; memoryMb: number; timeoutS: number }): Promise<VmRun> {
  const argv = [
    QEMU,
    "-accel", "tcg",
    // Bun's x64 build needs AVX2: qemu's TCG "max" model has it (qemu64 has not)
    "-cpu", "max",
    "-m", String(o.memoryMb),
    "-smp", "2",
    "-kernel", kernel,
    "-initrd", initrd,
    "-append", o.append,
    "-nographic",
    "-no-reboot",
    "-nodefaults",
    "-serial", "stdio",
  ];
  const start = Date.now();
  const proc = spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, o.timeoutS * 1000);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  const raw = out + (err ? `\n[qemu stderr]\n${err}` : "");
  // eslint-disable-next-line no-control-regex
  const log = raw.replace(/\r/g, "").replace(/\x1b(\[[0-9;?]*[A-Za-z]|c)/g, "");
  return { log, seconds: (Date.now() - start) / 1000, timedOut };
}

/** The "vmtest: ok NAME" / "vmtest: FAIL NAME: WHY" lines of a run. */
export function vmResults(log: string): { ok: boolean; name: string; why: string }[] {
  return [...log.matchAll(/^vmtest: (ok|FAIL) (\S+?)(?::\s(.*))?$/gm)].map((m) => ({ ok: m[1] === "ok", name: m[2]!, why: m[3] ?? "" }));
}
