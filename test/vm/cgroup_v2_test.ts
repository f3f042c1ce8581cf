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
import { needRoot, skipWhy } from "../skip";

const TIMEOUT_S = Number(process.env.SKIFF_VM_TIMEOUT ?? 170);

// Every check v2_tests.sh makes, in its order: each must report once, as
// "ok". A check that did not run (a section that stopped early, a branch
// that printed something else) fails the test like a failed one.
const EXPECTED = [
  // limits
  "create-limits", "memory.max", "memory.swap.max", "cpu.weight-from-shares", "cpu.max", "pids.max", "cpuset.cpus", "cpuset.mems",
  "subtree_control-ancestors", "process-in-cgroup", "start-limits",
  "update", "update-memory.max", "update-pids.max", "update-cpu.max", "update-cpu.weight", "update-cpuset.cpus",
  "update-r", "update-r-memory.max", "update-r-memory.high",
  "pause", "pause-cgroup.freeze", "pause-frozen", "state-paused", "resume", "resume-cgroup.freeze", "state-running",
  "events-stats-memory", "events-stats-pids", "events-stats-memory-limit",
  "kill-limits", "delete-limits", "delete-removes-cgroup",
  // io weight (an optional kernel file: written, or create refuses the config)
  "io-weight",
  // devices (eBPF)
  "devices-default-null-write", "devices-default-zero-read", "devices-default-deny-write", "devices-default-deny-read",
  "devices-later-rule-wins-read", "devices-later-rule-wins-write", "devices-rules-keep-defaults",
  "devices-wildcard-minor-write", "devices-wildcard-access-read",
  "devices-linux-devices-made-not-allowed", "devices-linux-devices-by-number-denied", "devices-hole-in-wildcard-refused", "devices-cleanup",
  // OOM
  "create-oom", "oom-memory.max", "oom-memory.swap.max", "start-oom", "events-oom", "oom-kill-counted", "oom-stopped", "delete-oom", "oom-delete-removes-cgroup",
  "no-cgroup-left",
];

describe.skipIf(skipWhy("cgroup v2 (qemu VM)", needRoot() && "needs root (to read /boot/vmlinuz-* and make device nodes)"))("cgroup v2 (qemu VM)", () => {
  test(
    "skiff's cgroup v2 support inside a VM",
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
      // No other kind of "vmtest:" line (a "skip" would go unreported).
      const known = /^vmtest: (ok \S+|FAIL .+|\d+ passed, \d+ failed|tests took \S+s)$/;
      expect(log.split("\n").filter((l) => l.startsWith("vmtest:") && !known.test(l))).toEqual([]);
      expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.why}`)).toEqual([]);
      expect(results.map((r) => r.name)).toEqual(EXPECTED);
      expect({ passed: Number(summary[1]), failed: Number(summary[2]) }).toEqual({ passed: EXPECTED.length, failed: 0 });
    },
    (TIMEOUT_S + 60) * 1000,
  );
});
