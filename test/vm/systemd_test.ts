// The systemd cgroup driver (--systemd-cgroup) against a real systemd: this
// host has none as PID 1, so a qemu VM (TCG) boots Debian's cloud kernel
// with /lib/systemd/systemd as its init, from an initramfs made of the
// installed systemd, dbus and util-linux packages (test/vm/systemd_image.ts).
// Inside, test/vm/systemd_tests.sh runs skiff and Debian's runc on the same
// config; each "vmtest:" line is one expectation here, and the scope
// properties both runtimes got ("vmprop:") are compared.
//
// Needs root (reading /boot/vmlinuz-*, mknod). Missing qemu, kernel,
// systemd or dbus: installed with apt without starting any service here;
// if that fails the test fails. SKIFF_VM_TIMEOUT (seconds) bounds the VM run.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { skipWhy, needRoot } from "../skip";
import { bootVm, ensureTools, vmResults } from "./qemu";
import { SYSTEMD_PACKAGES, SYSTEMD_VM_DIR, buildSystemdInitramfs } from "./systemd_image";

const TIMEOUT_S = Number(process.env.SKIFF_VM_TIMEOUT ?? 240);
// Named differently for each runtime, or not a limit: not compared.
const NOT_COMPARED = new Set(["Description", "ControlGroup"]);

/** `systemctl show` lines of one runtime; a list (DeviceAllow: one line per entry) joined sorted. */
function properties(log: string, runtime: string): Map<string, string> {
  const lists = new Map<string, string[]>();
  for (const m of log.matchAll(new RegExp(`^vmprop: ${runtime} ([A-Za-z]+)=(.*)$`, "gm"))) {
    if (!lists.has(m[1]!)) lists.set(m[1]!, []);
    lists.get(m[1]!)!.push(m[2]!);
  }
  return new Map([...lists].map(([k, v]) => [k, v.sort().join(", ")]));
}

// Debian's runc 1.1.5 left /dev/net/tun out of its default device rules;
// runc 1.1.6 put it back, and skiff's defaults have it (src/cgroups/translate.ts).
const TUN = "/dev/char/10:200 rwm";
function comparable(key: string, value: string): string {
  return key === "DeviceAllow" ? value.split(", ").filter((e) => e !== TUN).join(", ") : value;
}

describe.skipIf(skipWhy("the systemd cgroup driver in a VM", needRoot()))("systemd cgroup driver (qemu VM with systemd as PID 1)", () => {
  test(
    "skiff --systemd-cgroup: create/start/exec/update/pause/resume/kill/delete against systemd, beside runc",
    async () => {
      const kernel = ensureTools(SYSTEMD_PACKAGES);
      const built = buildSystemdInitramfs(kernel);
      const vm = await bootVm(kernel, built.path, {
        append: "console=ttyS0 rdinit=/lib/systemd/systemd systemd.unit=multi-user.target systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all panic=-1 quiet systemd.show_status=0",
        memoryMb: 2048,
        timeoutS: TIMEOUT_S,
      });
      const log = vm.log;
      writeFileSync(join(SYSTEMD_VM_DIR, "last-run.log"), log);
      const results = vmResults(log);
      const summary = /^vmtest: (\d+) passed, (\d+) failed$/m.exec(log);
      const up = /^vm: systemd up, tests start at (\S+)s/m.exec(log)?.[1];
      const took = /^vmtest: tests took (\S+)s/m.exec(log)?.[1];
      console.log(
        `vm: ${built.cached ? "cached" : "new"} initramfs, kernel ${kernel}; systemd up and the test unit started at ${up ?? "?"}s (guest uptime), tests ${took ?? "?"}s, whole run ${vm.seconds.toFixed(1)}s; ` +
          (summary ? `${summary[1]} passed, ${summary[2]} failed` : "no summary") +
          ` (log: ${join(SYSTEMD_VM_DIR, "last-run.log")})`,
      );
      for (const m of log.matchAll(/^vm: (create took .*)$/gm)) console.log(`vm: ${m[1]}`);
      for (const r of results.filter((r) => !r.ok)) console.log(`  FAIL ${r.name}: ${r.why}`);
      if (vm.timedOut) throw new Error(`the VM did not power off within ${TIMEOUT_S}s; last output:\n${log.slice(-4000)}`);
      if (!summary) throw new Error(`no "vmtest: N passed, N failed" line in the VM output:\n${log.slice(-4000)}`);
      expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.why}`)).toEqual([]);
      expect(Number(summary[2])).toBe(0);
      expect(Number(summary[1])).toBe(results.length);
      expect(results.length).toBeGreaterThan(40);

      // The differential: the same config's scope under both runtimes.
      const skiff = properties(log, "skiff");
      expect(skiff.size).toBeGreaterThan(15);
      const runc = properties(log, "runc");
      const rows = [...new Set([...skiff.keys(), ...runc.keys()])].map((k) => ({ k, s: skiff.get(k) ?? "(unset)", r: runc.get(k) ?? "(unset)" }));
      console.log("unit property            skiff | runc\n" + rows.map((x) => `  ${x.k.padEnd(22)} ${x.s} | ${x.r}`).join("\n"));
      console.log(`after update: ${/^vmprop: runc-updated (.*)$/m.exec(log)?.[1] ?? "?"} (runc)`);
      const differ = rows.filter((x) => !NOT_COMPARED.has(x.k) && comparable(x.k, x.s) !== comparable(x.k, x.r)).map((x) => `${x.k}: skiff ${x.s}, runc ${x.r}`);
      expect(differ).toEqual([]);
      expect(skiff.get("DeviceAllow")).toContain(TUN);
      // update: runc's unit got what skiff's got (checked in the VM: 128M, 30, 200ms)
      expect(/^vmprop: runc-updated (.*)$/m.exec(log)?.[1]).toBe("MemoryMax=134217728 TasksMax=30 CPUQuotaPerSecUSec=200ms");
    },
    (TIMEOUT_S + 120) * 1000,
  );
});
