// --no-pivot must not expose a bare /proc. With MS_MOVE + chroot the host's
// mounts stay in the container's mount namespace, hidden under the root.
// The kernel lets a new user namespace mount procfs only while one is fully
// visible in its mount namespace; the container's own /proc is masked, the
// host's is not, so `unshare -mrpf mount -t proc none /proc` inside the
// container used to get a new, unmasked procfs. skiff now detaches the
// host's mounts before the move (covering a locked procfs or sysfs with an
// empty tmpfs). The attacker tries the mount for real; runc (Debian's
// 1.1.5) runs the same bundles beside skiff.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { dirname } from "node:path";
import { cleanupTempDirs } from "../bundle";
import type { Spec } from "../../src/config/types";
import { deleteCreated, resetRoots, runBoth, type DiffCase, type RunResult } from "../differential/compare";
import { leftovers } from "../integration/skiff";
import { needRoot, needRunc, skipWhy } from "../skip";
import { buildAttacker, hostSnapshot, plantAttacker, throwawayInit } from "./attacker";

/** The attacker's nested user namespace maps root: that takes CAP_SETFCAP. */
function withSetfcap(s: Spec): void {
  const caps = s.process!.capabilities!;
  for (const set of ["bounding", "effective", "permitted"] as const) caps[set] = [...(caps[set] ?? []), "CAP_SETFCAP"];
}

function procmountCase(opts: { noPivot: boolean; mutate?: (s: Spec) => void }): DiffCase {
  return {
    probe: [],
    args: ["/attacker", "procmount"],
    noPivot: opts.noPivot,
    prepareRootfs: (rootfs) => {
      plantAttacker(rootfs);
      chmodSync(dirname(rootfs), 0o755); // the bundle: root of a user namespace (host uid 100000) must reach the rootfs
    },
    mutate: (s) => {
      withSetfcap(s);
      opts.mutate?.(s);
    },
  };
}

/** What the attacker printed, or the whole failure when it did not run. */
function outcome(r: RunResult): string {
  const line = r.stdout.split("\n").find((l) => l.startsWith("procmount="));
  return r.exitCode === 0 && line ? line : `exit ${r.exitCode}: ${r.stdout.trim()} ${r.stderr.trim()}`;
}

describe.skipIf(skipWhy("--no-pivot procfs attack", needRoot(), needRunc()))("mount -t proc in a nested user namespace", () => {
  let init = "";
  let before: Record<string, string> = {};
  beforeAll(() => {
    buildAttacker();
    init = throwawayInit();
    before = hostSnapshot(init);
  });
  afterEach(async () => {
    await deleteCreated();
  });
  afterAll(() => {
    expect(hostSnapshot(init)).toEqual(before);
    cleanupTempDirs();
    resetRoots();
  });

  async function both(label: string, c: DiffCase) {
    const r = await runBoth({ ...c, env: { SKIFF_INIT: init } }, label);
    // skiff left nothing behind (runc's state is its own)
    expect(leftovers(r.skiff.root, r.skiff.id, r.skiff.bundle)).toEqual([]);
    return { runc: outcome(r.runc), skiff: outcome(r.skiff) };
  }

  test("control: with nothing masked, the attacker's procfs mount succeeds (the attack works)", async () => {
    // No masked or read-only paths: the container's own /proc is fully visible.
    const bare = (s: Spec) => {
      s.linux!.maskedPaths = [];
      s.linux!.readonlyPaths = [];
    };
    const r = await both("bare", procmountCase({ noPivot: false, mutate: bare }));
    expect(r).toEqual({ runc: "procmount=mounted", skiff: "procmount=mounted" });
  }, 60_000);

  test("pivot_root: refused, the only procfs in view is masked", async () => {
    const r = await both("pivot", procmountCase({ noPivot: false }));
    expect(r).toEqual({ runc: "procmount=EPERM", skiff: "procmount=EPERM" });
  }, 60_000);

  test("--no-pivot: refused, the host's /proc is detached before the chroot (as runc does)", async () => {
    const r = await both("nopivot", procmountCase({ noPivot: true }));
    expect(r).toEqual({ runc: "procmount=EPERM", skiff: "procmount=EPERM" });
  }, 60_000);

  test("--no-pivot in a user namespace: refused, the host's locked /proc and /sys are covered", async () => {
    const userns = (s: Spec) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      // sysfs and cgroupfs need a network and cgroup namespace owned by the user namespace
      s.mounts = s.mounts!.filter((m) => m.destination !== "/sys" && m.destination !== "/sys/fs/cgroup");
    };
    const r = await both("nopivot-userns", procmountCase({ noPivot: true, mutate: userns }));
    expect(r).toEqual({ runc: "procmount=EPERM", skiff: "procmount=EPERM" });
  }, 60_000);
});
