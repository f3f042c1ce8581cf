// CVE-2025-52881 class: mount targets that resolve into procfs, and paths
// that skiff-init names through the container's /proc after pivot_root.
//
// The attack (issue 10): the image has `data -> /proc/self`; config.json
// binds a volume at /data whose files are symlinks (fd/8 -> /proc/sys/kernel,
// fd/9 -> /mnt/kern, fd/4 -> a file, oom_score_adj -> a file...). Once the
// volume covers skiff-init's own /proc entry, every "/proc/self/fd/N" it
// names later is the attacker's link: with a terminal, /proc/sys/kernel was
// bound read-write at /mnt/kern (core_pattern writable); without one, the
// root.readonly remount landed on /dev/shm, oom_score_adj's value went into
// /etc/owned, and the process started without `start`.
//
// skiff refuses a mount whose resolved target is on procfs (outside the
// spec's own /proc mounts), and never names its fds through the container's
// /proc: the same symlink farm, put over skiff-init's /proc entry by a
// createContainer hook (standing in for any process that gets a mount there
// before the container starts), changes nothing. /proc and /sys must be
// ordinary directories in the rootfs.
//
// Each case runs the attack for real as root on throwaway copies (the
// bundle, the volume, a copy of skiff-init), and checks the host after:
// hostname, sysctls, mount table, host files. The attacker never writes a
// sysctl: it opens core_pattern for writing without writing, which is
// enough to tell. Where Debian's runc (1.1.5) refuses before mounting, it
// runs the same bundle beside skiff.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { createHash } from "node:crypto";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import type { Spec } from "../../src/config/types";
import { alive, leftovers, procExe, uniqueId, waitFor } from "../integration/skiff";
import { RUNC, needRoot, needRunc, skipWhy } from "../skip";

const SKIFF = join(REPO_ROOT, "build/skiff");
const ROOT = process.getuid?.() === 0;
afterAll(() => cleanupTempDirs());

// A throwaway copy of skiff-init: an attack that reached it could not touch build/.
let initCopy = "";
function skiffInit(): string {
  if (!initCopy) {
    initCopy = join(tempDir("skiff-procredir-init-"), "skiff-init");
    copyFileSync(join(REPO_ROOT, "build/skiff-init"), initCopy);
  }
  return initCopy;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run skiff or runc with a private --root, output to files (a created container inherits it). */
function runtime(bin: "skiff" | "runc", root: string, args: string[]): Ran {
  const io = tempDir("skiff-procredir-io-");
  const paths = { in: join(io, "in"), out: join(io, "out"), err: join(io, "err") };
  writeFileSync(paths.in, "");
  const fds = [openSync(paths.in, "r"), openSync(paths.out, "w"), openSync(paths.err, "w")];
  try {
    const r = spawnSync([bin === "skiff" ? SKIFF : RUNC, "--root", root, ...args], {
      stdin: fds[0],
      stdout: fds[1],
      stderr: fds[2],
      env: { ...process.env, SKIFF_INIT: skiffInit() },
      timeout: 60_000,
      killSignal: "SIGKILL",
    });
    return { code: r.exitCode ?? -1, stdout: readFileSync(paths.out, "utf8"), stderr: readFileSync(paths.err, "utf8") };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

function remove(bin: "skiff" | "runc", root: string, id: string): void {
  runtime(bin, root, ["delete", "-f", id]);
}

// ---- the host, before and after ----

const SYSCTLS = ["kernel/core_pattern", "kernel/hostname", "kernel/domainname", "kernel/modprobe", "kernel/sysrq", "vm/overcommit_memory", "fs/suid_dumpable"];
const HOST_FILES = ["/etc/passwd", "/etc/hostname", "/etc/hosts", join(REPO_ROOT, "build/skiff-init")];

/** Mount points outside the temp dir and /run (where tests and services come and go). */
function hostMounts(): string[] {
  const tmp = tmpdir();
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const f = line.split(" ");
      const sep = f.indexOf("-");
      return `${f[4]} ${f[5]} ${f[sep + 1]}`;
    })
    .filter((m) => !m.startsWith(tmp + "/") && !m.startsWith("/run/"))
    .sort();
}

function hostState() {
  return {
    sysctls: SYSCTLS.map((k) => `${k}=${existsSync(`/proc/sys/${k}`) ? readFileSync(`/proc/sys/${k}`, "utf8").trim() : "-"}`),
    files: HOST_FILES.map((f) => `${f} ${createHash("sha256").update(readFileSync(f)).digest("hex")}`),
    mounts: hostMounts(),
  };
}

/** Runs body and checks that the host looks the same after it. */
function hostUnchanged(body: () => void): void {
  const before = hostState();
  body();
  expect(hostState()).toEqual(before);
}

// ---- the attacker's image and volume ----

/** The report the container's script writes to /out, with one ATTACK line per effect seen. */
const ATTACKER = `
r=/out/report
[ "$(stat -f -c %T /mnt/kern 2>/dev/null)" = proc ] && echo "ATTACK: procfs at /mnt/kern" >>$r
grep -q ' /mnt/kern ' /proc/mounts && echo "ATTACK: a mount at /mnt/kern" >>$r
if [ "$(stat -f -c %T /mnt/kern 2>/dev/null)" = proc ] && ( : >>/mnt/kern/core_pattern ) 2>/dev/null; then echo "ATTACK: core_pattern writable" >>$r; fi
if [ -e /etc/readonly-expected ] && ( : >>/etc/probe ) 2>/dev/null; then echo "ATTACK: /etc writable under root.readonly" >>$r; fi
[ -s /etc/owned ] && echo "ATTACK: oom_score_adj went to /etc/owned" >>$r
[ -s /etc/started ] && echo "ATTACK: the fifo was a file: started without start" >>$r
echo ran >>$r
`;

interface Attack {
  bundle: string;
  rootfs: string;
  volume: string;
  out: string;
  /** rootfs entries and volume links as they were before the run */
  snapshot: () => string;
}

/**
 * A bundle with the issue's symlink farm: a volume whose fd/N are links
 * (fd/8 -> /proc/sys/kernel, fd/9 -> /mnt/kern, fd/10 -> /dev, fd/4 ->
 * /dev/console with a terminal or /etc/started without, fd/6 -> /dev/shm,
 * the rest -> /) and whose oom_score_adj is a link to /etc/owned.
 */
function attackBundle(opts: { terminal: boolean; linkInImage: boolean; hook: boolean }): Attack {
  const volume = tempDir("skiff-procredir-vol-");
  mkdirSync(join(volume, "fd"));
  const special: Record<number, string> = opts.terminal
    ? { 8: "/proc/sys/kernel", 9: "/mnt/kern", 10: "/dev", 4: "/dev/console" }
    : { 4: "/etc/started", 6: "/dev/shm" };
  for (let n = 0; n < 64; n++) symlinkSync(special[n] ?? "/", join(volume, "fd", String(n)));
  symlinkSync("/etc/owned", join(volume, "oom_score_adj"));
  const out = tempDir("skiff-procredir-out-");
  const bundle = makeBundle({
    args: ["/bin/sh", "-c", ATTACKER],
    mutate: (s: Spec) => {
      s.process!.terminal = opts.terminal;
      s.mounts!.push({ destination: "/out", type: "bind", source: out, options: ["rbind"] });
      if (opts.linkInImage) s.mounts!.push({ destination: "/data", type: "bind", source: volume, options: ["rbind"] });
      if (!opts.terminal) {
        s.root!.readonly = true;
        s.process!.oomScoreAdj = 500;
      }
    },
  });
  const rootfs = join(bundle, "rootfs");
  if (opts.linkInImage) symlinkSync("/proc/self", join(rootfs, "data"));
  mkdirSync(join(rootfs, "mnt/kern"), { recursive: true });
  mkdirSync(join(rootfs, "out"));
  writeFileSync(join(rootfs, "etc/owned"), "");
  writeFileSync(join(rootfs, "etc/started"), "");
  if (!opts.terminal) writeFileSync(join(rootfs, "etc/readonly-expected"), "");
  if (opts.hook) {
    // A process with a mount over the init's /proc entry before the
    // container starts: the container's procfs is at rootfs/proc in the
    // hook's view, and the init is pid 1 there.
    const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as Spec;
    spec.hooks = { createContainer: [{ path: "/bin/busybox", args: ["busybox", "mount", "--bind", volume, join(rootfs, "proc/1")] }] };
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec, null, "\t"));
  }
  const snapshot = () =>
    [
      ...["etc/owned", "etc/started", "etc/probe", "mnt/kern/core_pattern"].map((f) => `${f}: ${existsSync(join(rootfs, f)) ? readFileSync(join(rootfs, f), "utf8") : "absent"}`),
      ...readdirSync(volume).sort(),
      `fd links: ${readdirSync(join(volume, "fd")).length}`,
    ].join("\n");
  return { bundle, rootfs, volume, out, snapshot };
}

function report(a: Attack): string {
  const p = join(a.out, "report");
  return existsSync(p) ? readFileSync(p, "utf8") : "";
}

const REFUSED = /^skiff: mount \S+ on \/data: the target resolves into procfs \(from \/mounts\/\d+\)\n$/;

describe.skipIf(skipWhy("procfs redirection attacks", needRoot()))("a volume over /proc/self through a link in the image", () => {
  const root = ROOT ? tempDir("skiff-procredir-root-") : "";

  test("with a terminal: refused before anything is mounted, /proc/sys/kernel never appears at /mnt/kern", () => {
    const a = attackBundle({ terminal: true, linkInImage: true, hook: false });
    const before = a.snapshot();
    const id = uniqueId("procredir-tty");
    hostUnchanged(() => {
      const r = runtime("skiff", root, ["run", "-b", a.bundle, id]);
      remove("skiff", root, id);
      expect(r.stderr).toMatch(REFUSED);
      expect(r.code).not.toBe(0);
      expect(report(a)).toBe(""); // the attacker's process never ran
      expect(a.snapshot()).toBe(before);
      expect(leftovers(root, id, a.bundle)).toEqual([]);
    });
  });

  test("without a terminal (root.readonly, oomScoreAdj): refused; no file written, nothing started, nothing left", () => {
    const a = attackBundle({ terminal: false, linkInImage: true, hook: false });
    const before = a.snapshot();
    const id = uniqueId("procredir-notty");
    hostUnchanged(() => {
      const r = runtime("skiff", root, ["create", "-b", a.bundle, id]);
      remove("skiff", root, id);
      expect(r.stderr).toMatch(REFUSED);
      expect(r.code).not.toBe(0);
      expect(report(a)).toBe("");
      expect(a.snapshot()).toBe(before);
      expect(leftovers(root, id, a.bundle)).toEqual([]);
    });
  });

  test.skipIf(skipWhy("runc beside skiff", needRunc()))("runc refuses the same bundle too (its checkProcMount sees /proc/<pid>)", () => {
    // Safe under runc 1.1.5: it resolves /data to rootfs/proc/<pid> and
    // refuses before mounting; its oom_score_adj is written from outside.
    const a = attackBundle({ terminal: false, linkInImage: true, hook: false });
    const before = a.snapshot();
    const runcRoot = tempDir("skiff-procredir-runc-");
    const id = uniqueId("procredir-runc");
    hostUnchanged(() => {
      const r = runtime("runc", runcRoot, ["create", "--bundle", a.bundle, id]);
      remove("runc", runcRoot, id);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("cannot be mounted because it is inside /proc");
      expect(report(a)).toBe("");
      expect(a.snapshot()).toBe(before);
      expect(leftovers(runcRoot, id, a.bundle)).toEqual([]);
    });
  });
});

describe.skipIf(skipWhy("procfs redirection attacks", needRoot()))("the symlink farm over the init's own /proc entry (a createContainer hook mounts it)", () => {
  const root = ROOT ? tempDir("skiff-procredir-root-") : "";
  // Not under runc: 1.1.5 reopens exec.fifo by /proc/self/fd after
  // pivot_root, so its behaviour here is not a reference.

  test("with a terminal: the console is bound from the pty's fd, /mnt/kern stays an empty directory", () => {
    const a = attackBundle({ terminal: true, linkInImage: false, hook: true });
    const id = uniqueId("procredir-hook-tty");
    hostUnchanged(() => {
      const r = runtime("skiff", root, ["run", "-b", a.bundle, id]);
      remove("skiff", root, id);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(report(a)).toBe("ran\n");
      expect(readdirSync(join(a.rootfs, "mnt/kern"))).toEqual([]);
      expect(leftovers(root, id, a.bundle)).toEqual([]);
    });
  });

  test("without a terminal: waits for start, oom_score_adj on the process itself, root read-only", () => {
    const a = attackBundle({ terminal: false, linkInImage: false, hook: true });
    const id = uniqueId("procredir-hook");
    hostUnchanged(() => {
      const c = runtime("skiff", root, ["create", "-b", a.bundle, id]);
      expect(c.stderr).toBe("");
      expect(c.code).toBe(0);
      const state = JSON.parse(runtime("skiff", root, ["state", id]).stdout);
      // Created, not started: still skiff-init, blocked on exec.fifo.
      expect(state.status).toBe("created");
      expect(alive(state.pid)).toBe(true);
      expect(procExe(state.pid)).not.toContain("busybox");
      expect(readFileSync(`/proc/${state.pid}/oom_score_adj`, "utf8").trim()).toBe("500");
      expect(report(a)).toBe("");
      expect(readFileSync(join(a.rootfs, "etc/started"), "utf8")).toBe("");
      expect(runtime("skiff", root, ["start", id]).code).toBe(0);
      expect(waitFor(() => !alive(state.pid), 10_000)).toBe(true);
      remove("skiff", root, id);
      expect(report(a)).toBe("ran\n");
      expect(readFileSync(join(a.rootfs, "etc/owned"), "utf8")).toBe("");
      expect(leftovers(root, id, a.bundle)).toEqual([]);
    });
  });
});

describe.skipIf(skipWhy("mount destinations inside /proc", needRoot()))("mount destinations inside /proc", () => {
  const root = ROOT ? tempDir("skiff-procredir-root-") : "";
  const runcRoot = ROOT ? tempDir("skiff-procredir-runc-") : "";
  const haveRunc = needRunc() === null;

  /** Runs the bundle under skiff (and runc, when installed); returns both results. */
  function both(mutate: (s: Spec, host: string) => void, args: string[]) {
    const host = tempDir("skiff-procredir-src-");
    writeFileSync(join(host, "cpuinfo"), "lxcfs says hello\n");
    mkdirSync(join(host, "dir"));
    const runs: Partial<Record<"skiff" | "runc", Ran>> = {};
    for (const bin of haveRunc ? (["skiff", "runc"] as const) : (["skiff"] as const)) {
      const bundle = makeBundle({ args, mutate: (s) => mutate(s, host) });
      const id = uniqueId(`procdest-${bin}`);
      const r = bin === "skiff" ? root : runcRoot;
      runs[bin] = runtime(bin, r, ["run", ...(bin === "runc" ? ["--bundle"] : ["-b"]), bundle, id]);
      remove(bin, r, id);
      expect(leftovers(r, id, bundle)).toEqual([]);
    }
    expect(readdirSync(host).sort()).toEqual(["cpuinfo", "dir"]);
    return runs;
  }

  test("a bind over a procfs directory (/proc/sys/kernel) is refused", () => {
    hostUnchanged(() => {
      const runs = both((s, host) => s.mounts!.push({ destination: "/proc/sys/kernel", type: "bind", source: join(host, "dir"), options: ["rbind"] }), ["true"]);
      // Refused by its destination, in validation, before anything exists.
      expect(runs.skiff!.stderr).toMatch(/^skiff: invalid \S+config\.json: \/mounts\/\d+: mount bind on \/proc\/sys\/kernel: it is inside \/proc \(only the files lxcfs emulates, such as \/proc\/cpuinfo, may be covered\)\n$/);
      expect(runs.skiff!.code).not.toBe(0);
      if (runs.runc) {
        expect(runs.runc.code).not.toBe(0);
        expect(runs.runc.stderr).toContain("cannot be mounted because it is inside /proc");
      }
    });
  });

  test("a bind over a file lxcfs emulates (/proc/cpuinfo) is allowed, as in runc", () => {
    const runs = both((s, host) => s.mounts!.push({ destination: "/proc/cpuinfo", type: "bind", source: join(host, "cpuinfo"), options: ["bind", "ro"] }), ["cat", "/proc/cpuinfo"]);
    for (const r of Object.values(runs)) {
      expect(r!.stderr).toBe("");
      expect(r!.stdout).toBe("lxcfs says hello\n");
      expect(r!.code).toBe(0);
    }
  });

  test("a bind of a plain directory onto /proc is refused: only procfs goes there", () => {
    const runs = both((s, host) => s.mounts!.push({ destination: "/proc", type: "bind", source: join(host, "dir"), options: ["rbind"] }), ["true"]);
    // Refused by its source's file system, before anything exists.
    expect(runs.skiff!.stderr).toMatch(/^skiff: invalid \S+config\.json: \/mounts\/\d+: mount \S+ on \/proc: the source is not procfs \(only a procfs may be bound onto \/proc\)\n$/);
    expect(runs.skiff!.code).not.toBe(0);
    if (runs.runc) {
      expect(runs.runc.code).not.toBe(0);
      expect(runs.runc.stderr).toContain("cannot be mounted because it is not of type proc");
    }
  });
});

describe.skipIf(skipWhy("symlinked /proc and /sys", needRoot()))("/proc and /sys must be ordinary directories", () => {
  const root = ROOT ? tempDir("skiff-procredir-root-") : "";
  const runcRoot = ROOT ? tempDir("skiff-procredir-runc-") : "";
  const haveRunc = needRunc() === null;

  /** The rootfs's `name` replaced by what plant makes; both runtimes refuse, and the rootfs is as it was. */
  function refused(name: "proc" | "sys", plant: (path: string) => void, origin: string) {
    for (const bin of haveRunc ? (["skiff", "runc"] as const) : (["skiff"] as const)) {
      const bundle = makeBundle({ args: ["true"] });
      const rootfs = join(bundle, "rootfs");
      rmSync(join(rootfs, name), { recursive: true });
      plant(join(rootfs, name));
      const listing = () => spawnSync(["find", rootfs, "-xdev"]).stdout.toString().split("\n").sort().join("\n");
      const before = listing();
      const id = uniqueId(`plain-${name}-${bin}`);
      const r = bin === "skiff" ? root : runcRoot;
      hostUnchanged(() => {
        const ran = runtime(bin, r, ["create", ...(bin === "runc" ? ["--bundle"] : ["-b"]), bundle, id]);
        remove(bin, r, id);
        expect(ran.code).not.toBe(0);
        if (bin === "skiff") expect(ran.stderr).toBe(`skiff: /${name} must be mounted on an ordinary directory (from ${origin})\n`);
        else expect(ran.stderr).toContain("must be mounted on ordinary directory");
        expect(listing()).toBe(before); // nothing made where the link points
        expect(leftovers(r, id, bundle)).toEqual([]);
      });
    }
  }

  test("a /proc that links to a directory the image controls", () => {
    refused("proc", (p) => symlinkSync("/tmp/fakeproc", p), "/mounts/0");
  });

  test("a /proc that links out of the rootfs", () => {
    refused("proc", (p) => symlinkSync("../../../../../../../../../etc", p), "/mounts/0");
  });

  test("a /proc that is a regular file", () => {
    refused("proc", (p) => writeFileSync(p, "not a directory\n"), "/mounts/0");
  });

  test("a /sys that links elsewhere", () => {
    refused("sys", (p) => symlinkSync("/tmp/fakesys", p), "/mounts/5");
  });

  test("an ordinary /proc that is missing is made", () => {
    const bundle = makeBundle({ args: ["/bin/sh", "-c", "test -r /proc/self/status"] });
    rmSync(join(bundle, "rootfs/proc"), { recursive: true });
    const id = uniqueId("plain-missing");
    const ran = runtime("skiff", root, ["run", "-b", bundle, id]);
    remove("skiff", root, id);
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(0);
    expect(statSync(join(bundle, "rootfs/proc")).isDirectory()).toBe(true);
  });
});
