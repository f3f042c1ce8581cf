// What config.json may mount at and inside /proc, skiff beside Debian's runc
// on the same bundles (issue 10 follow-up). runc's rule (checkProcMount): on
// /proc only a proc mount or a bind of a procfs; inside /proc only the files
// lxcfs emulates. skiff used to check only what was procfs when the mount
// was made, so a tmpfs, a host directory, or a bind over /proc/sys went in
// while /proc was still a plain directory of the rootfs.
//
// Refused bundles: both runtimes fail; skiff in one line naming /mounts/N,
// before anything exists (the rootfs, the host's mounts and the source dir
// are as they were, and no state, cgroup or process is left). runc 1.1.5
// checks a tmpfs at /proc by no rule and fails later, at exec, when its init
// finds no /proc/self/fd; runc 1.2 refuses it by the rule, as skiff does.
//
// Accepted bundles: both run, and what the container sees at /proc (file
// system type, /proc/cpuinfo, a sysctl, the mounts at and under /proc) is
// the same under both.
//
// Needs root, /usr/sbin/runc and build/skiff (sh scripts/build.sh).
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Mount, Spec } from "../../src/config/types";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { leftovers, uniqueId } from "../integration/skiff";
import { needFile, needRoot, needRunc, skipWhy } from "../skip";
import { RUNC, SKIFF, runCli, type CliResult, type Runtime } from "./compare";

const ready = !skipWhy("/proc mounts beside runc", needRoot(), needRunc(), needFile(SKIFF, "build it with: sh scripts/build.sh"));
afterAll(() => cleanupTempDirs());

type Ran = CliResult;

const roots: Partial<Record<Runtime, string>> = {};

/** `run` under one runtime with a private --root; output to files (a container inherits them). */
function run(bin: Runtime, bundle: string, id: string): Ran {
  const root = (roots[bin] ??= tempDir(`skiff-procmounts-${bin}-root-`));
  const binary = bin === "skiff" ? SKIFF : RUNC;
  try {
    return runCli([binary, "--root", root, "run", "--bundle", bundle, id], { timeoutMs: 60_000 });
  } finally {
    spawnSync([binary, "--root", root, "delete", "-f", id], { stdout: "ignore", stderr: "ignore" });
  }
}

/** The host's mount points outside the temp dir and /run (where tests and services come and go). */
function hostMounts(): string[] {
  const tmp = tmpdir();
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" ")[4]!)
    .filter((p) => !p.startsWith(tmp + "/") && !p.startsWith("/run/"))
    .sort();
}

/** Every path in a tree with its type and size, sorted: to see that nothing was made or changed. */
function listing(dir: string): string {
  return spawnSync(["find", dir, "-xdev", "-printf", "%P %y %s\n"]).stdout.toString().split("\n").sort().join("\n");
}

/** A host directory to bind (with one file in it) and a file standing in for lxcfs's cpuinfo. */
function hostSources(): { dir: string; cpuinfo: string; root: string } {
  const root = tempDir("skiff-procmounts-src-");
  mkdirSync(join(root, "dir"));
  writeFileSync(join(root, "dir/marker"), "host file\n");
  writeFileSync(join(root, "cpuinfo"), "lxcfs says hello\n");
  return { dir: join(root, "dir"), cpuinfo: join(root, "cpuinfo"), root };
}

/** What the container sees at /proc, one fact a line. */
const VIEW = [
  "echo fs $(stat -f -c %T /proc)",
  "echo cpuinfo $(head -n1 /proc/cpuinfo)",
  "echo ostype $(cat /proc/sys/kernel/ostype 2>&1)",
  "echo marker $(cat /proc/marker 2>&1)",
  // mount point and type of every mount at or under /proc ($(NF-2): the type, after " - ")
  "awk '$5 == \"/proc\" || index($5, \"/proc/\") == 1 { print \"mount\", $5, $(NF-2) }' /proc/self/mountinfo | sort",
].join("; ");

type Edit = (mounts: Mount[], src: ReturnType<typeof hostSources>) => void;

/** The bundle, with the rootfs's links (name -> target) planted. */
function bundleFor(edit: Edit, src: ReturnType<typeof hostSources>, links: Record<string, string> = {}): string {
  const bundle = makeBundle({ args: ["/bin/sh", "-c", VIEW], mutate: (s: Spec) => edit(s.mounts!, src) });
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(bundle, "rootfs", name));
  return bundle;
}

/** Both refuse; skiff in exactly `line`, leaving the rootfs, the sources and the host as they were. */
function bothRefuse(edit: Edit, want: { skiff: RegExp; runc: RegExp; links?: Record<string, string> }): void {
  const src = hostSources();
  const sourcesBefore = listing(src.root);
  const mountsBefore = hostMounts();
  for (const bin of ["runc", "skiff"] as const) {
    const bundle = bundleFor(edit, src, want.links);
    const rootfsBefore = listing(join(bundle, "rootfs"));
    const id = uniqueId(`procmount-${bin}`);
    const r = run(bin, bundle, id);
    expect({ bin, code: r.code === 0 ? 0 : "failed", stdout: r.stdout }).toEqual({ bin, code: "failed", stdout: "" });
    expect(r.stderr).toMatch(want[bin]);
    expect(leftovers(roots[bin]!, id, bundle)).toEqual([]);
    // runc mkdirs targets before its check; skiff refuses before it makes anything.
    if (bin === "skiff") expect(listing(join(bundle, "rootfs"))).toBe(rootfsBefore);
  }
  expect(listing(src.root)).toBe(sourcesBefore);
  expect(hostMounts()).toEqual(mountsBefore);
}

/** Both run; returns the view, which must be the same under both. */
function bothAccept(edit: Edit): string {
  const src = hostSources();
  const views: Partial<Record<Runtime, string>> = {};
  for (const bin of ["runc", "skiff"] as const) {
    const bundle = bundleFor(edit, src);
    const id = uniqueId(`procmount-${bin}`);
    const r = run(bin, bundle, id);
    expect({ bin, code: r.code, stderr: r.stderr }).toEqual({ bin, code: 0, stderr: "" });
    expect(leftovers(roots[bin]!, id, bundle)).toEqual([]);
    views[bin] = r.stdout;
  }
  expect(views.skiff).toBe(views.runc!);
  return views.skiff!;
}

const ONE_LINE = (pointer: string, rest: string) => new RegExp(`^skiff: invalid \\S+/config\\.json: ${pointer}: ${rest}\\n$`);

describe.skipIf(!ready)("mounts at /proc: refused by both", () => {
  test("a tmpfs at /proc, where the proc mount was", () => {
    bothRefuse((m) => (m[0] = { destination: "/proc", type: "tmpfs", source: "tmpfs" }), {
      skiff: ONE_LINE("/mounts/0", "mount tmpfs on /proc: not of type proc \\(only a proc mount or a bind of a procfs may go there\\)"),
      // 1.1.5: no rule for tmpfs, its init fails at exec without procfs; 1.2: the rule.
      runc: /open \/proc\/self\/fd: no such file or directory|cannot be mounted because it is not of type proc/,
    });
  });

  test("a bind of a host directory at /proc, where the proc mount was", () => {
    bothRefuse((m, src) => (m[0] = { destination: "/proc", type: "bind", source: src.dir, options: ["rbind"] }), {
      skiff: ONE_LINE("/mounts/0", "mount \\S+/dir on /proc: the source is not procfs \\(only a procfs may be bound onto /proc\\)"),
      runc: /cannot be mounted because it is not of type proc/,
    });
  });

  test("a bind at /proc/sys before /proc is procfs", () => {
    bothRefuse((m, src) => m.unshift({ destination: "/proc/sys", type: "bind", source: src.dir, options: ["rbind"] }), {
      skiff: ONE_LINE("/mounts/0", "mount bind on /proc/sys: it is inside /proc \\(only the files lxcfs emulates, such as /proc/cpuinfo, may be covered\\)"),
      runc: /cannot be mounted because it is inside \/proc/,
    });
  });

  test("a bind at /data, a link in the image to /proc, before /proc is procfs", () => {
    bothRefuse((m, src) => m.unshift({ destination: "/data", type: "bind", source: src.dir, options: ["rbind"] }), {
      links: { data: "/proc" },
      // resolved in the rootfs, then checked where it landed (skiff-init: native/mount_fd.c in_root_proc)
      skiff: /^skiff: mount \S+\/dir on \/data: the target resolves into \/proc \(from \/mounts\/0\)\n$/,
      runc: /cannot be mounted because it is not of type proc/,
    });
  });

  test("a bind at /data, a dangling link in the image to /proc/x/y: nothing is made there", () => {
    bothRefuse((m, src) => m.unshift({ destination: "/data", type: "bind", source: src.dir, options: ["rbind"] }), {
      links: { data: "/proc/x/y" },
      // skiff-init follows a dangling link to make the target, as runc's MkdirAll; not into /proc
      skiff: /^skiff: mkdir \/proc\/x: a link takes it into \/proc \(from \/mounts\/0\)\n$/,
      runc: /cannot be mounted because it is inside \/proc/,
    });
  });

  test("a bind at /proc/sys with no proc mount at all", () => {
    bothRefuse((m, src) => (m[0] = { destination: "/proc/sys", type: "bind", source: src.dir, options: ["rbind"] }), {
      skiff: ONE_LINE("/mounts/0", "mount bind on /proc/sys: it is inside /proc \\(only the files lxcfs emulates, such as /proc/cpuinfo, may be covered\\)"),
      runc: /cannot be mounted because it is inside \/proc/,
    });
  });
});

describe.skipIf(!ready)("mounts at /proc: accepted by both, and seen alike", () => {
  test("proc at /proc (the default config)", () => {
    const view = bothAccept(() => {});
    expect(view).toContain("fs proc\n");
    expect(view).toContain("ostype Linux\n");
    expect(view).toMatch(/^mount \/proc proc$/m);
    expect(view).not.toContain("lxcfs says hello");
  });

  test("a bind of a file at /proc/cpuinfo, as lxcfs makes", () => {
    const view = bothAccept((m, src) => m.push({ destination: "/proc/cpuinfo", type: "bind", source: src.cpuinfo, options: ["bind", "ro"] }));
    expect(view).toContain("fs proc\n");
    expect(view).toContain("cpuinfo lxcfs says hello\n");
    expect(view).toContain("ostype Linux\n");
    expect(view).toMatch(/^mount \/proc\/cpuinfo \S+$/m);
  });

  test("a bind of the host's procfs onto /proc", () => {
    const view = bothAccept((m) => m.push({ destination: "/proc", type: "bind", source: "/proc", options: ["rbind"] }));
    expect(view).toContain("fs proc\n");
    expect(view).toContain("ostype Linux\n");
    expect(view).not.toContain("host file");
  });
});
