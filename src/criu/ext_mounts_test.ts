// restore makes the config's mount points inside the rootfs before criu
// runs. The rootfs may be shared with a running process (another container,
// a hook), which can put a symlink where a mount point is about to be made:
// a file mount point made by name would then truncate the link's target, a
// host file. This races such a process for real and checks the host file.
import { afterAll, expect, test } from "bun:test";
import { spawn } from "bun";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Spec } from "../config/types";
import { makeMountPoints } from "./ext_mounts";

const dir = mkdtempSync(join(tmpdir(), "skiff-extmounts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a file mount point swapped for a link to a host file never truncates that file (3,000 tries against a racing process)", async () => {
  const rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "etc"), { recursive: true });
  const victim = join(dir, "host-secret");
  writeFileSync(victim, "host secret\n");
  const source = join(dir, "source-file");
  writeFileSync(source, "x\n");
  const spec = { mounts: [{ destination: "/etc/target", type: "bind", source, options: ["rbind"] }] } as Spec;
  // The racer keeps making the mount point a link to the host file, and
  // removing it again, so that skiff sees it missing, then a link.
  const target = join(rootfs, "etc/target");
  const racer = spawn(["sh", "-c", `while :; do ln -s '${victim}' '${target}' 2>/dev/null; rm -f '${target}'; done`], { stdout: "ignore", stderr: "ignore" });
  let made = 0;
  let refused = 0;
  try {
    for (let i = 0; i < 3000; i++) {
      try {
        makeMountPoints(spec, { rootfs, bundle: dir });
        made++;
      } catch (e) {
        // a link seen where the mount point goes: refused in one line
        expect((e as Error).message).toMatch(/^restore mount point \/etc\/target \(from \/mounts\/0\): /);
        refused++;
      }
      try {
        if (!lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) unlinkSync(target);
      } catch {
        // the racer removed it first
      }
      expect({ i, victim: readFileSync(victim, "utf8") }).toEqual({ i, victim: "host secret\n" });
    }
  } finally {
    racer.kill("SIGKILL");
    await racer.exited;
  }
  console.log(`mount point made ${made} times, refused ${refused} times against the racer`);
}, 120_000);
