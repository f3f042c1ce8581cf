// checkpoint and restore in a VM: Debian's criu 3.17 fails on this host's
// kernel (vDSO), but works on Debian's 6.1 cloud kernel under qemu (TCG,
// -cpu max). test/vm/criu_initramfs.ts builds the initramfs (criu, runc,
// skiff, the modules criu needs); test/vm/criu_tests.sh runs the same steps
// under skiff and runc inside. Every "vmtest: ok" / "vmtest: FAIL" line
// becomes one expectation; the checkpoint and restore times of both are
// printed from the same run.
//
// Needs root (reading /boot/vmlinuz-*, mknod in the initramfs), qemu and a
// cloud kernel (scripts/test.sh installs them): skipped, saying which, where
// they are missing. SKIFF_VM_TIMEOUT (seconds) bounds the VM run.
import { describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findKernel } from "./initramfs";
import { CRIU, CRIU_VM_DIR, RUNC, buildCriuInitramfs } from "./criu_initramfs";
import { needRoot, skipWhy } from "../skip";

const QEMU = "qemu-system-x86_64";
const TIMEOUT_S = Number(process.env.SKIFF_VM_TIMEOUT ?? 400);
const kernel = findKernel();
const skip = skipWhy(
  "checkpoint/restore VM",
  needRoot(),
  Bun.which(QEMU) ? null : `${QEMU} is not installed (apt-get install qemu-system-x86)`,
  kernel ? null : "no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)",
  existsSync(CRIU) ? null : `${CRIU} is not installed (apt-get install criu)`,
  existsSync(RUNC) ? null : `${RUNC} is not installed (apt-get install runc)`,
);

async function bootVm(initrd: string): Promise<{ output: string; seconds: number; timedOut: boolean }> {
  const argv = [
    QEMU, "-accel", "tcg", "-cpu", "max", "-m", "1024", "-smp", "2",
    "-kernel", kernel!, "-initrd", initrd,
    "-append", "console=ttyS0 cgroup_no_v1=all panic=-1 quiet",
    "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
  ];
  const start = Date.now();
  const proc = spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, TIMEOUT_S * 1000);
  // The serial console goes to a file as it comes, to follow a long run.
  const live = join(CRIU_VM_DIR, "live.log");
  writeFileSync(live, "");
  const follow = async (stream: ReadableStream<Uint8Array>): Promise<string> => {
    const dec = new TextDecoder();
    let text = "";
    for await (const chunk of stream) {
      const piece = dec.decode(chunk, { stream: true });
      text += piece;
      appendFileSync(live, piece);
    }
    return text;
  };
  const [out, err] = await Promise.all([follow(proc.stdout), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  return { output: out + (err ? `\n[qemu stderr]\n${err}` : ""), seconds: (Date.now() - start) / 1000, timedOut };
}

describe.skipIf(skip)("checkpoint and restore (qemu VM, criu on Debian's cloud kernel)", () => {
  test(
    "a counting container, --leave-running, pre-dump, a terminal, pipes, attached, a bind mount, a new id: under skiff and runc",
    async () => {
      const built = buildCriuInitramfs(kernel!);
      const vm = await bootVm(built.path);
      // eslint-disable-next-line no-control-regex
      const log = vm.output.replace(/\r/g, "").replace(/\x1b(\[[0-9;?]*[A-Za-z]|c)/g, "");
      writeFileSync(join(CRIU_VM_DIR, "last-run.log"), log);
      const results = [...log.matchAll(/^vmtest: (ok|FAIL) (\S+?)(?::\s(.*))?$/gm)].map((m) => ({ ok: m[1] === "ok", name: m[2]!, why: m[3] ?? "" }));
      const summary = /^vmtest: (\d+) passed, (\d+) failed$/m.exec(log);
      const times = [...log.matchAll(/^vmtime: (\S+) (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}s`);
      console.log(
        `criu vm: ${built.cached ? "cached" : "new"} initramfs, kernel ${kernel}, whole run ${vm.seconds.toFixed(1)}s; ` +
          (summary ? `${summary[1]} passed, ${summary[2]} failed` : "no summary") +
          ` (log: ${join(CRIU_VM_DIR, "last-run.log")})`,
      );
      console.log(`criu vm times (qemu TCG, same run): ${times.join(", ")}`);
      // the alternating rounds: each runtime's samples and their median
      const bench = new Map<string, number[]>();
      for (const m of log.matchAll(/^vmtime: (\S+) (bench-\S+) (\S+)$/gm)) {
        const key = `${m[1]} ${m[2]!.slice("bench-".length)}`;
        bench.set(key, [...(bench.get(key) ?? []), Number(m[3])]);
      }
      for (const [key, xs] of bench) {
        const sorted = [...xs].sort((a, b) => a - b);
        console.log(`criu vm bench: ${key}: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}s of ${xs.map((x) => x.toFixed(2)).join(", ")}`);
      }
      for (const r of results.filter((r) => !r.ok)) console.log(`  FAIL ${r.name}: ${r.why}`);
      if (vm.timedOut) throw new Error(`the VM did not power off within ${TIMEOUT_S}s; last output:\n${log.slice(-3000)}`);
      if (!summary) throw new Error(`no "vmtest: N passed, N failed" line in the VM output:\n${log.slice(-3000)}`);
      expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.why}`)).toEqual([]);
      expect(Number(summary[1])).toBe(results.length);
      expect(results.length).toBeGreaterThan(120);
    },
    (TIMEOUT_S + 120) * 1000,
  );
});
