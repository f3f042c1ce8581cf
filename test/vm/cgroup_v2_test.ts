// cgroup v2, in a VM: this host mounts cgroup v1 controllers (a hybrid
// layout), so skiff's cgroup v2 code runs inside qemu (TCG) on Debian's
// cloud kernel with cgroup_no_v1=all. test/vm/initramfs.ts builds the
// initramfs; test/vm/v2_tests.sh is what runs inside. Every "vmtest: ok" /
// "vmtest: FAIL" line becomes one expectation here.
//
// Needs root (reading /boot/vmlinuz-*, mknod in the initramfs). Missing
// qemu or kernel: installed with apt-get; if that fails the test fails
// (never a silent skip). SKIFF_VM_TIMEOUT (seconds) bounds the VM run.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { VM_DIR, buildInitramfs } from "./initramfs";
import { bootVm, ensureTools, vmResults } from "./qemu";

const isRoot = process.getuid?.() === 0;
const TIMEOUT_S = Number(process.env.SKIFF_VM_TIMEOUT ?? 170);

describe("cgroup v2 (qemu VM)", () => {
  // Not root: skipped, and the name says why.
  const vmTest = isRoot ? test : test.skip;
  vmTest(
    isRoot ? "skiff's cgroup v2 support inside a VM" : "skiff's cgroup v2 support inside a VM (skipped: needs root to read /boot/vmlinuz-* and make device nodes)",
    async () => {
      const kernel = ensureTools();
      const built = buildInitramfs(kernel);
      const vm = await bootVm(kernel, built.path, { append: "console=ttyS0 cgroup_no_v1=all panic=-1 quiet", memoryMb: 1024, timeoutS: TIMEOUT_S });
      const log = vm.log;
      writeFileSync(join(VM_DIR, "last-run.log"), log);
      const results = vmResults(log);
      const summary = /^vmtest: (\d+) passed, (\d+) failed$/m.exec(log);
      const booted = /^vm: booted in (\S+)s/m.exec(log)?.[1];
      console.log(
        `vm: ${built.cached ? "cached" : "new"} initramfs, kernel ${kernel}, boot ${booted ?? "?"}s (guest uptime), whole run ${vm.seconds.toFixed(1)}s; ` +
          (summary ? `${summary[1]} passed, ${summary[2]} failed` : "no summary") +
          ` (log: ${join(VM_DIR, "last-run.log")})`,
      );
      for (const r of results.filter((r) => !r.ok)) console.log(`  FAIL ${r.name}: ${r.why}`);
      if (vm.timedOut) throw new Error(`the VM did not power off within ${TIMEOUT_S}s; last output:\n${log.slice(-3000)}`);
      if (!summary) throw new Error(`no "vmtest: N passed, N failed" line in the VM output:\n${log.slice(-3000)}`);
      expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.why}`)).toEqual([]);
      expect(Number(summary[2])).toBe(0);
      expect(Number(summary[1])).toBe(results.length);
      expect(results.length).toBeGreaterThan(30);
    },
    (TIMEOUT_S + 60) * 1000,
  );
});
