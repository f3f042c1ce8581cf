// Issue 10 follow-up: an overlay mount whose layer directories are relative.
//
// The attack: config.json mounts `type: overlay` with
// `lowerdir=self/root/etc:self/root/usr`. skiff-init called mount(2) with
// the host's procfs as its cwd (the target was named "self/fd/N" there), and
// overlay resolves relative layers against the caller's cwd during that same
// call: the container saw the host's /etc (through skiff-init's own
// /proc/self/root) merged with the host's /usr. Any /proc entry could be
// named that way (another process's root or cwd, skiff-init's fds).
//
// skiff now makes relative layer directories absolute against the bundle in
// the plan (src/plan/overlay_dirs.ts), makes new filesystems with
// fsopen/fsmount onto the target fd, so no mount that carries a source or
// data runs from the host's /proc, and the container process works from "/"
// while it mounts. Three layers of proof:
//  - through the CLI: the reproduction now mounts the bundle's own
//    self/root/etc, never the host's; the same with the layers hidden behind
//    a comma in one option ("ro,lowerdir=...");
//  - skiff-init alone (a raw plan, in a private mount namespace): a relative
//    lowerdir reaches neither the host's /proc nor the caller's cwd; it
//    means what the absolute path would;
//  - beside Debian's runc 1.1.5: absolute layers give the same view; with
//    relative ones runc resolves against the rootfs directory on the host
//    and follows the image's symlinks there (an image link `hostetc -> /etc`
//    shows runc's container the host's /etc); skiff takes the bundle's, as
//    it does for a relative bind source, and as crun, which runs from the
//    bundle, does.
// Each run works on throwaway bundles and a copy of skiff-init, and checks
// the host after: file hashes, hostname and sysctls, the mount table.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "bun";
import { closeSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import type { Spec } from "../../src/config/types";
import { encodePlan } from "../../src/plan/encode";
import type { Op } from "../../src/plan/ops";
import { socketPair } from "../../src/util/libc";
import { leftovers, uniqueId } from "../integration/skiff";
import { RUNC, needFile, needRoot, needRunc, skipWhy } from "../skip";
import { hostSnapshot, throwawayInit } from "./attacker";

const SKIFF = join(REPO_ROOT, "build/skiff");
const UNSHARE = "/usr/bin/unshare";
afterAll(() => cleanupTempDirs());

/** Mount points outside the temp dir and /run, where tests and services come and go. */
function hostMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const f = line.split(" ");
      return `${f[4]} ${f[f.indexOf("-") + 1]}`;
    })
    .filter((m) => !m.startsWith(tmpdir() + "/") && !m.startsWith("/run/"))
    .sort();
}

const hostState = () => ({ ...hostSnapshot("/etc/passwd"), group: hostSnapshot("/etc/group")["/etc/group"], mounts: hostMounts() });

// ---- through the CLI ----

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function runtime(bin: "skiff" | "runc", args: string[], init: string): Ran {
  const root = tempDir(`skiff-overlay-${bin}-root-`);
  const r = spawnSync([bin === "skiff" ? SKIFF : RUNC, "--root", root, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, SKIFF_INIT: init },
    timeout: 60_000,
    killSignal: "SIGKILL",
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

// The container prints the overlay's marker file and its listing.
const SHOW = "cat /mnt/o/marker 2>/dev/null || echo no-marker; ls /mnt/o";

/**
 * A bundle whose config mounts an overlay at /mnt/o with options; it holds
 * self/root/etc and self/root/usr of its own (a marker "bundle"), "lay" and
 * "lay2" in the bundle (marker "bundle-lay") and in the rootfs (marker
 * "rootfs-lay"), and the image link hostetc -> /etc.
 */
function overlayBundle(options: string[]): string {
  const bundle = makeBundle({
    args: ["/bin/sh", "-c", SHOW],
    mutate: (s: Spec) => {
      s.process!.terminal = false;
      s.mounts!.push({ destination: "/mnt/o", type: "overlay", source: "overlay", options });
    },
  });
  for (const d of ["self/root/etc", "self/root/usr", "lay", "lay2", "rootfs/lay", "rootfs/lay2", "rootfs/mnt/o"]) mkdirSync(join(bundle, d), { recursive: true });
  writeFileSync(join(bundle, "self/root/etc/marker"), "bundle\n");
  writeFileSync(join(bundle, "lay/marker"), "bundle-lay\n");
  writeFileSync(join(bundle, "rootfs/lay/marker"), "rootfs-lay\n");
  symlinkSync("/etc", join(bundle, "rootfs/hostetc"));
  return bundle;
}

/** What the container saw: the marker and whether the host's /etc showed (its os-release). */
function seen(r: Ran): { marker: string; hostEtc: boolean } {
  const lines = r.stdout.split("\n");
  return { marker: lines[0] ?? "", hostEtc: lines.includes("os-release") || lines.includes("passwd") };
}

describe.skipIf(skipWhy("relative overlay layers through the CLI", needRoot()))("an overlay mount with relative layer directories", () => {
  let init = "";
  beforeAll(() => {
    init = throwawayInit();
  });

  test.each([
    ["as the issue gave it", ["lowerdir=self/root/etc:self/root/usr"]],
    ["behind a comma in one option", ["ro,lowerdir=self/root/etc:self/root/usr"]],
  ])("lowerdir=self/root/etc:... %s shows the bundle's directories, never the host's /etc", (_how, options) => {
    const before = hostState();
    const bundle = overlayBundle(options);
    const id = uniqueId("ovl");
    const r = runtime("skiff", ["run", "-b", bundle, id], init);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(seen(r)).toEqual({ marker: "bundle", hostEtc: false });
    expect(leftovers(tempDir("skiff-overlay-none-"), id, bundle)).toEqual([]);
    expect(hostState()).toEqual(before);
  });

  test("an upperdir and workdir given relative are the bundle's too (the container writes there)", () => {
    const before = hostState();
    const bundle = makeBundle({
      args: ["/bin/sh", "-c", "echo written >/mnt/o/new && cat /mnt/o/marker"],
      mutate: (s: Spec) => {
        s.process!.terminal = false;
        s.mounts!.push({ destination: "/mnt/o", type: "overlay", source: "overlay", options: ["lowerdir=lay", "upperdir=up", "workdir=work"] });
      },
    });
    for (const d of ["lay", "up", "work", "rootfs/mnt/o"]) mkdirSync(join(bundle, d), { recursive: true });
    writeFileSync(join(bundle, "lay/marker"), "bundle-lay\n");
    const r = runtime("skiff", ["run", "-b", bundle, uniqueId("ovl")], init);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "bundle-lay\n", stderr: "" });
    expect(readFileSync(join(bundle, "up/new"), "utf8")).toBe("written\n");
    expect(hostState()).toEqual(before);
  });
});

describe.skipIf(skipWhy("relative overlay layers beside runc", needRoot(), needRunc()))("overlay layers under skiff and Debian's runc 1.1.5", () => {
  let init = "";
  beforeAll(() => {
    init = throwawayInit();
  });

  test("absolute layers: both show the same directory", () => {
    const before = hostState();
    const bundle = overlayBundle([]);
    const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as Spec;
    spec.mounts!.at(-1)!.options = [`lowerdir=${bundle}/lay:${bundle}/lay2`];
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
    const skiff = runtime("skiff", ["run", "-b", bundle, uniqueId("ovl")], init);
    const runc = runtime("runc", ["run", "-b", bundle, uniqueId("ovl")], init);
    expect({ code: skiff.code, stdout: skiff.stdout }).toEqual({ code: runc.code, stdout: runc.stdout });
    expect(skiff.stdout).toBe("bundle-lay\nmarker\n");
    expect(hostState()).toEqual(before);
  });

  test("relative layers: skiff takes the bundle's; runc the rootfs directory's, following the image's links on the host", () => {
    const before = hostState();
    const bundle = overlayBundle(["lowerdir=lay:lay2"]);
    const skiff = runtime("skiff", ["run", "-b", bundle, uniqueId("ovl")], init);
    const runc = runtime("runc", ["run", "-b", bundle, uniqueId("ovl")], init);
    expect(seen(skiff).marker).toBe("bundle-lay");
    expect(seen(runc).marker).toBe("rootfs-lay"); // runc init's cwd is the rootfs
    // The image's link hostetc -> /etc: runc shows the host's /etc; skiff
    // looks for the bundle's hostetc, which is not there, and says so.
    const linked = overlayBundle(["lowerdir=hostetc:lay2"]);
    const runcLinked = runtime("runc", ["run", "-b", linked, uniqueId("ovl")], init);
    expect(seen(runcLinked).hostEtc).toBe(true);
    const skiffLinked = runtime("skiff", ["run", "-b", linked, uniqueId("ovl")], init);
    expect(skiffLinked.code).not.toBe(0);
    expect(skiffLinked.stdout).toBe("");
    expect(skiffLinked.stderr).toBe("skiff: mount overlay type overlay on /mnt/o (from /mounts/7): no such file or directory\n");
    expect(hostState()).toEqual(before);
  });
});

// ---- skiff-init alone: whatever the plan says, no mount resolves against /proc or the caller's cwd ----

/** Runs plan in skiff-init in a private mount namespace, from cwd; returns what it said on the sync socket. */
async function runPlan(init: string, plan: Op[], cwd: string): Promise<string> {
  const [ours, theirs] = socketPair();
  const proc = spawn([UNSHARE, "--mount", "--propagation", "private", init, "3"], { cwd, stdio: ["ignore", "ignore", "pipe", theirs] as never, env: {} });
  closeSync(theirs);
  let said = "";
  try {
    const bytes = encodePlan(plan);
    const { writeSync, readSync } = await import("node:fs");
    for (let at = 0; at < bytes.length; ) at += writeSync(ours, bytes, at);
    const buf = Buffer.alloc(4096);
    // The plan ends in wait_go: its point line, or an error line, then skiff-init
    // waits for an answer that closing our end denies it.
    while (!said.includes("\n")) {
      const n = readSync(ours, buf);
      if (n <= 0) break;
      said += buf.subarray(0, n).toString();
    }
  } finally {
    closeSync(ours);
  }
  await proc.exited;
  return said.split("\n")[0]!;
}

describe.skipIf(skipWhy("skiff-init's overlay mounts", needRoot(), needFile(UNSHARE, "util-linux's unshare")))("skiff-init mounting an overlay with relative layers", () => {
  let init = "";
  let rootfs = "";
  let cwd = "";
  let layers = "";
  beforeAll(() => {
    init = throwawayInit();
    rootfs = tempDir("skiff-overlay-rootfs-");
    // Layers under the caller's cwd, and the same ones named from "/".
    cwd = tempDir("skiff-overlay-cwd-");
    for (const d of ["l1", "l2"]) mkdirSync(join(cwd, d));
    layers = `${cwd.slice(1)}/l1:${cwd.slice(1)}/l2`;
  });
  const plan = (lowerdir: string): Op[] => [
    { op: "open_root", path: rootfs, origin: "/root/path" },
    { op: "mkdir", path: "/o", mode: 0o755, origin: "/mounts/0" },
    { op: "mount", source: "overlay", target: "/o", fstype: "overlay", flags: 0, procfs: 0, data: `lowerdir=${lowerdir}`, origin: "/mounts/0" },
    { op: "wait_go", point: "mounted", payload: 0, origin: "" },
  ];

  test("self/root/etc:self/root/usr does not reach the host's procfs", async () => {
    const before = hostState();
    expect(await runPlan(init, plan("self/root/etc:self/root/usr"), cwd)).toBe("error 2 2 mount overlay type overlay on /o\tNo such file or directory");
    expect(hostState()).toEqual(before);
  });

  test("nor does the caller's cwd count: l1:l2 beside skiff-init is not found", async () => {
    expect(await runPlan(init, plan("l1:l2"), cwd)).toBe("error 2 2 mount overlay type overlay on /o\tNo such file or directory");
  });

  test("a relative layer means what the absolute path means (the cwd is /)", async () => {
    const before = hostState();
    expect(await runPlan(init, plan(layers), cwd)).toBe("point mounted");
    expect(hostState()).toEqual(before);
  });
});
