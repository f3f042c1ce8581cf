// Differential tests: the same bundle under Debian's runc and under skiff;
// what the probe reports must match, except for the differences noted per
// case (`deliberate`: skiff is better on purpose; `knownDifference`: an
// accepted gap). Each case also checks a few values against the config, so
// that both runtimes agreeing on a wrong answer still fails.
//
// Needs root, /usr/sbin/runc and build/skiff (bash scripts/build.sh).

import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/config/types";
import { baseConfig, buildProbe, cleanupTempDirs, tempDir } from "../bundle";
import { needFile, needRoot, needRunc, skipWhy } from "../skip";
import {
  RUNC,
  SKIFF,
  applyDifferences,
  deleteCreated,
  deliberate,
  dropMounts,
  expectProbeOk,
  knownDifference,
  mountAt,
  normalizeMounts,
  resetRoots,
  runBoth,
  sideBySide,
  type DiffCase,
  type Difference,
  type NormalMount,
  type RunResult,
  type Runtime,
} from "./compare";

const ready = !skipWhy("differential tests", needRoot(), needRunc(), needFile(SKIFF, "build it with: bash scripts/build.sh"));
const dtest = ready ? test : test.skip;
const TIMEOUT = 60_000;

if (ready) buildProbe();

afterEach(async () => {
  await deleteCreated();
});
afterAll(async () => {
  await deleteCreated();
  cleanupTempDirs();
  resetRoots();
});

// ---- shared normalisation ---------------------------------------------------

/** Namespace inodes as "host" (same as the test process) or "new". */
function normalizeNs(ns: Record<string, number | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, ino] of Object.entries(ns)) {
    let host: number | null = null;
    try {
      host = statSync(`/proc/self/ns/${name}`).ino;
    } catch {
      host = null;
    }
    out[name] = ino === null ? "missing" : ino === host ? "host" : "new";
  }
  return out;
}

/** The probe's `all` object with namespace inodes replaced by host/new. */
function normalizeAll(json: any): any {
  return { ...json, ns: normalizeNs(json.ns) };
}

// On a cgroup v1 (hybrid) host both runtimes mount a tmpfs on
// /sys/fs/cgroup holding one mount per hierarchy, and these differences
// occur; on a cgroup v2 host /sys/fs/cgroup is one cgroup2 mount and none do.
const HYBRID = existsSync("/sys/fs/cgroup/unified/cgroup.controllers") && existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes");
const CGROUP_DIFFS: Difference[] = !HYBRID ? [] : [
  deliberate(
    "skiff remounts the /sys/fs/cgroup tmpfs read-only when the cgroup mount says ro; runc 1.1 leaves that tmpfs rw (only the hierarchies under it are ro)",
    (v) => {
      const s = mountAt(v.skiff, "/sys/fs/cgroup");
      const r = mountAt(v.runc, "/sys/fs/cgroup");
      if (!s || !r || s.fs_type !== "tmpfs" || !s.options.includes("ro") || r.options.includes("ro")) return false;
      s.options = r.options;
      s.super_options = r.super_options;
      return true;
    },
  ),
  deliberate(
    "skiff also binds the hybrid host's cgroup2 hierarchy at /sys/fs/cgroup/unified (the container's own cgroup, ro); runc 1.1 omits it",
    (v) => dropMounts(v.skiff, (m: NormalMount) => m.mount_point === "/sys/fs/cgroup/unified") &&
      !v.runc.some((m: NormalMount) => m.mount_point === "/sys/fs/cgroup/unified"),
  ),
];

function compareMounts(label: string, r: Record<Runtime, RunResult>, extra: Difference[] = []): Record<Runtime, NormalMount[]> {
  const views = {
    runc: normalizeMounts(r.runc, expectProbeOk(r.runc)),
    skiff: normalizeMounts(r.skiff, expectProbeOk(r.skiff)),
  };
  applyDifferences(label, views, [...CGROUP_DIFFS, ...extra]);
  expect(views.skiff).toEqual(views.runc);
  return views;
}

async function both(label: string, c: DiffCase): Promise<Record<Runtime, RunResult>> {
  return runBoth(c, label);
}

function okBoth(r: Record<Runtime, RunResult>): Record<Runtime, any> {
  return { runc: expectProbeOk(r.runc), skiff: expectProbeOk(r.skiff) };
}

// ---- cases ---------------------------------------------------------------------

const DEFAULT_CAPS = "0000000020000420"; // CAP_KILL 5, CAP_NET_BIND_SERVICE 10, CAP_AUDIT_WRITE 29

const DOMAINNAME_DIFF = deliberate(
  "runc 1.1 ignores the config's domainname (the kernel keeps \"(none)\"); skiff sets it with setdomainname",
  (v) => {
    // Either the `hostname` object itself or `all` holding it.
    const r = typeof v.runc.hostname === "object" ? v.runc.hostname : v.runc;
    const s = typeof v.skiff.hostname === "object" ? v.skiff.hostname : v.skiff;
    if (r.domainname !== "(none)" || s.domainname === "(none)") return false;
    r.domainname = s.domainname;
    return true;
  },
);

describe("differential: runc vs skiff", () => {
  dtest(
    "default config (runc spec), probe all",
    async () => {
      const r = await both("default-all", { probe: ["all"] });
      const v = okBoth(r);
      const views = { runc: normalizeAll(v.runc), skiff: normalizeAll(v.skiff) };
      expect(views.skiff).toEqual(views.runc);
      // Against the config, so that agreeing on a wrong answer fails too.
      expect(views.skiff.hostname.hostname).toBe("runc");
      expect(views.skiff.caps.bounding).toBe(DEFAULT_CAPS);
      expect(views.skiff.caps.effective).toBe(DEFAULT_CAPS);
      expect(views.skiff.caps.no_new_privs).toBe(1);
      expect(views.skiff.rlimits.RLIMIT_NOFILE).toEqual({ soft: 1024, hard: 1024 });
      expect(views.skiff.cwd.cwd).toBe("/");
      for (const ns of ["pid", "net", "ipc", "uts", "mnt"]) expect(views.skiff.ns[ns]).toBe("new");
      expect(views.skiff.ns.user).toBe("host");
    },
    TIMEOUT,
  );

  dtest(
    "mounts of the default config",
    async () => {
      const r = await both("default-mounts", { probe: ["mounts"] });
      const m = compareMounts("default-mounts", r);
      const root = mountAt(m.skiff, "/")!;
      expect(root.root).toBe("<rootfs>");
      expect(root.options).toContain("ro");
      expect(mountAt(m.skiff, "/proc/sys")!.options).toContain("ro");
      expect(mountAt(m.skiff, "/sys/firmware")!.fs_type).toBe("tmpfs");
    },
    TIMEOUT,
  );

  dtest(
    "devices: /dev listing",
    async () => {
      const r = await both("devices", { probe: ["devices"] });
      const v = okBoth(r);
      expect(v.skiff.devices).toEqual(v.runc.devices);
      const byName = new Map<string, any>(v.skiff.devices.map((d: any) => [d.name, d]));
      expect(byName.get("null")).toMatchObject({ type: "char", major: 1, minor: 3, mode: "0666", uid: 0, gid: 0 });
      expect(byName.get("ptmx")).toMatchObject({ type: "link", target: "pts/ptmx" });
      expect(byName.get("fd")).toMatchObject({ type: "link", target: "/proc/self/fd" });
    },
    TIMEOUT,
  );

  dtest(
    "maskedPaths and readonlyPaths of the default config",
    async () => {
      const linux = baseConfig().linux!;
      const paths = [...linux.maskedPaths!, ...linux.readonlyPaths!];
      const r = await both("paths", { probe: ["paths", ...paths] });
      const v = okBoth(r);
      expect(v.skiff.paths).toEqual(v.runc.paths);
      const byPath = new Map<string, any>(v.skiff.paths.map((p: any) => [p.path, p]));
      for (const p of linux.maskedPaths!) {
        const e = byPath.get(p);
        if (e.exists && e.readable) expect(e.empty).toBe(true);
      }
      for (const p of linux.readonlyPaths!) expect(byPath.get(p).writable).toBe(false);
      // (/proc/kcore is absent on this kernel; keys and timer_list exist.)
      expect(byPath.get("/proc/keys")).toMatchObject({ exists: true, readable: true, empty: true });
      expect(byPath.get("/proc/timer_list")).toMatchObject({ exists: true, readable: true, empty: true });
    },
    TIMEOUT,
  );

  dtest(
    "rlimits",
    async () => {
      const c: DiffCase = {
        probe: ["rlimits"],
        mutate: (s) => {
          s.process!.rlimits = [
            { type: "RLIMIT_NOFILE", hard: 1024, soft: 512 },
            { type: "RLIMIT_CORE", hard: 0, soft: 0 },
            { type: "RLIMIT_NPROC", hard: 4096, soft: 2048 },
          ];
        },
      };
      const r = await both("rlimits", c);
      const v = okBoth(r);
      expect(v.skiff).toEqual(v.runc);
      expect(v.skiff.RLIMIT_NOFILE).toEqual({ soft: 512, hard: 1024 });
      expect(v.skiff.RLIMIT_NPROC).toEqual({ soft: 2048, hard: 4096 });
      expect(v.skiff.RLIMIT_CORE).toEqual({ soft: 0, hard: 0 });
    },
    TIMEOUT,
  );

  dtest(
    "caps: default set",
    async () => {
      const r = await both("caps-default", { probe: ["caps"] });
      const v = okBoth(r);
      expect(v.skiff).toEqual(v.runc);
      expect(v.skiff.permitted).toBe(DEFAULT_CAPS);
      // The default ambient set is dropped: no inheritable caps.
      expect(v.skiff.ambient).toBe("0000000000000000");
    },
    TIMEOUT,
  );

  const customCaps = (s: Spec) => {
    s.process!.capabilities = {
      bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_ADMIN"],
      effective: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN"],
      permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_NET_RAW"],
      inheritable: ["CAP_KILL", "CAP_NET_ADMIN", "CAP_NET_RAW"],
      ambient: ["CAP_KILL", "CAP_NET_ADMIN"],
    };
  };
  // CAP_CHOWN 0, CAP_KILL 5, CAP_NET_ADMIN 12, CAP_NET_RAW 13, CAP_SYS_ADMIN 21
  const bit = (...n: number[]) => n.reduce((m, b) => m | (1n << BigInt(b)), 0n).toString(16).padStart(16, "0");

  dtest(
    "caps: custom set with ambient and inheritable, root",
    async () => {
      const r = await both("caps-custom-root", { probe: ["caps"], mutate: customCaps });
      const v = okBoth(r);
      expect(v.skiff).toEqual(v.runc);
      expect(v.skiff.bounding).toBe(bit(0, 5, 12, 13, 21));
      expect(v.skiff.inheritable).toBe(bit(5, 12, 13));
      expect(v.skiff.ambient).toBe(bit(5, 12));
    },
    TIMEOUT,
  );

  dtest(
    "caps: custom set with ambient and inheritable, uid 1000",
    async () => {
      const r = await both("caps-custom-user", {
        probe: ["caps"],
        mutate: (s) => {
          customCaps(s);
          s.process!.user = { uid: 1000, gid: 1000 };
        },
      });
      const v = okBoth(r);
      expect(v.skiff).toEqual(v.runc);
      // A non-root execve keeps only the ambient caps (permitted = effective = ambient).
      expect(v.skiff.ambient).toBe(bit(5, 12));
      expect(v.skiff.permitted).toBe(bit(5, 12));
      expect(v.skiff.effective).toBe(bit(5, 12));
    },
    TIMEOUT,
  );

  dtest(
    "ids: user 1000:1000, additionalGids, umask 0077",
    async () => {
      const r = await both("ids", {
        probe: ["ids"],
        mutate: (s) => {
          s.process!.user = { uid: 1000, gid: 1000, additionalGids: [1001, 2000], umask: 0o077 };
        },
      });
      const v = okBoth(r);
      expect(v.skiff).toEqual(v.runc);
      expect(v.skiff).toMatchObject({ uid: 1000, gid: 1000, euid: 1000, egid: 1000, suid: 1000, sgid: 1000, umask: "0077" });
      // Exactly additionalGids: neither runtime adds the primary gid or /etc/group's groups.
      expect([...v.skiff.groups].sort()).toEqual([1001, 2000]);
    },
    TIMEOUT,
  );

  dtest(
    "cwd missing from the rootfs is created",
    async () => {
      const cwd = "/work/deep/new";
      const r = await both("cwd", { probe: ["cwd"], mutate: (s) => (s.process!.cwd = cwd) });
      const v = okBoth(r);
      expect(v.skiff).toEqual(v.runc);
      expect(v.skiff.cwd).toBe(cwd);
      for (const rt of ["runc", "skiff"] as const) {
        const st = statSync(join(r[rt].rootfs, cwd));
        expect(st.isDirectory()).toBe(true);
      }
      expect(statSync(join(r.skiff.rootfs, cwd)).mode & 0o7777).toBe(statSync(join(r.runc.rootfs, cwd)).mode & 0o7777);
    },
    TIMEOUT,
  );

  dtest(
    "env",
    async () => {
      const env = ["PATH=/usr/bin:/bin", "TERM=xterm", "FOO=bar baz", "EMPTY=", "DUP=1", "UTF=ä€"];
      const r = await both("env", { probe: ["env"], mutate: (s) => (s.process!.env = env) });
      const v = okBoth(r);
      const views = { runc: v.runc.env as string[], skiff: v.skiff.env as string[] };
      expect(views.skiff).toEqual(views.runc);
      for (const e of env) expect(views.skiff).toContain(e);
    },
    TIMEOUT,
  );

  dtest(
    "hostname and domainname",
    async () => {
      const r = await both("hostname", {
        probe: ["hostname"],
        mutate: (s) => {
          s.hostname = "diff-host";
          s.domainname = "example.test";
        },
      });
      const v = okBoth(r);
      expect(v.skiff).toEqual({ hostname: "diff-host", domainname: "example.test" });
      applyDifferences("hostname", v, [DOMAINNAME_DIFF]);
      expect(v.skiff).toEqual(v.runc);
    },
    TIMEOUT,
  );

  for (const readonly of [true, false]) {
    dtest(
      `root.readonly ${readonly}`,
      async () => {
        const paths = ["/", "/etc", "/etc/passwd", "/tmp", "/probe"];
        const label = `readonly-${readonly}`;
        const r = await both(label, {
          args: ["/probe", "paths", ...paths],
          probe: [],
          mutate: (s) => (s.root!.readonly = readonly),
        });
        const v = okBoth(r);
        expect(v.skiff.paths).toEqual(v.runc.paths);
        const byPath = new Map<string, any>(v.skiff.paths.map((p: any) => [p.path, p]));
        for (const p of ["/etc", "/etc/passwd", "/tmp"]) expect(byPath.get(p).writable).toBe(!readonly);
        if (readonly) expect(byPath.get("/tmp").write_error).toBe("EROFS");
      },
      TIMEOUT,
    );
  }

  dtest(
    "bind mount (ro, nosuid) of a host temp dir",
    async () => {
      const host = tempDir("skiff-diff-bind-");
      chmodSync(host, 0o755);
      writeFileSync(join(host, "file"), "hello\n");
      mkdirSync(join(host, "sub"));
      const c: DiffCase = {
        probe: ["mounts"],
        mutate: (s) => {
          s.mounts!.push({ destination: "/mnt/host", type: "bind", source: host, options: ["bind", "ro", "nosuid"] });
        },
      };
      const r = await both("bind", c);
      const m = compareMounts("bind", r);
      const b = mountAt(m.skiff, "/mnt/host")!;
      expect(b).toBeDefined();
      expect(b.options).toContain("ro");
      expect(b.options).toContain("nosuid");
      expect(b.root.endsWith(host) || b.root === host).toBe(true);

      const p = await both("bind-paths", { ...c, probe: ["paths", "/mnt/host", "/mnt/host/file", "/mnt/host/sub"] });
      const pv = okBoth(p);
      expect(pv.skiff.paths).toEqual(pv.runc.paths);
      expect(pv.skiff.paths.map((x: any) => [x.path, x.exists, x.writable])).toEqual([
        ["/mnt/host", true, false],
        ["/mnt/host/file", true, false],
        ["/mnt/host/sub", true, false],
      ]);
    },
    TIMEOUT,
  );

  dtest(
    "tmpfs mount with size=1m,mode=1777",
    async () => {
      const c: DiffCase = {
        probe: ["mounts"],
        mutate: (s) => {
          s.mounts!.push({ destination: "/mnt/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1m", "mode=1777"] });
        },
      };
      const r = await both("tmpfs", c);
      const m = compareMounts("tmpfs", r);
      const t = mountAt(m.skiff, "/mnt/scratch")!;
      expect(t.fs_type).toBe("tmpfs");
      expect(t.super_options).toContain("size=1024k");
      expect(t.options).toContain("nodev");
      expect(t.options).toContain("nosuid");
      // tmpfs shows no mode= when it is the default 1777: look at the directory.
      const d = await both("tmpfs-mode", { ...c, probe: ["devices", "/mnt"] });
      const dv = okBoth(d);
      expect(dv.skiff.devices).toEqual(dv.runc.devices);
      expect(dv.skiff.devices.find((x: any) => x.name === "scratch")).toMatchObject({ type: "dir", mode: "1777", uid: 0, gid: 0 });
    },
    TIMEOUT,
  );

  for (const prop of [undefined, "private", "rslave", "shared"] as const) {
    dtest(
      `rootfsPropagation ${prop ?? "(default)"}`,
      async () => {
        const label = `prop-${prop ?? "default"}`;
        const r = await both(label, {
          probe: ["mounts"],
          mutate: (s) => {
            if (prop) s.linux!.rootfsPropagation = prop;
          },
        });
        const m = compareMounts(label, r);
        const root = mountAt(m.skiff, "/")!;
        // This host's mounts are private, so no case shows peers; runc 1.1
        // makes a shared parent of the rootfs private, so "shared" shows none either.
        if (prop === "private" || prop === "shared") expect(root.propagation).toEqual([]);
        expect(root.root).toBe("<rootfs>");
      },
      TIMEOUT,
    );
  }

  const userns = (s: Spec) => {
    s.linux!.namespaces!.push({ type: "user" });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };
  const chownRootfs = (rootfs: string) => {
    // The bundle dir is a mkdtemp 0700: the container's root (host uid 100000) must pass it.
    chmodSync(join(rootfs, ".."), 0o755);
    const r = spawnSync(["chown", "-R", "100000:100000", rootfs], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`chown rootfs: ${r.stderr.toString()}`);
    // tester's home keeps its owner, shifted.
    spawnSync(["chown", "101000:101000", join(rootfs, "home/tester")]);
  };

  dtest(
    "user namespace 0 -> 100000 (65536), probe all",
    async () => {
      const r = await both("userns-all", { probe: ["all"], mutate: userns, prepareRootfs: chownRootfs });
      const v = okBoth(r);
      const views = { runc: normalizeAll(v.runc), skiff: normalizeAll(v.skiff) };
      expect(views.skiff).toEqual(views.runc);
      expect(views.skiff.ns.user).toBe("new");
      expect(views.skiff.ids).toMatchObject({ uid: 0, gid: 0 });
    },
    TIMEOUT,
  );

  dtest(
    "user namespace 0 -> 100000 (65536), mounts and devices",
    async () => {
      const r = await both("userns-mounts", { probe: ["mounts"], mutate: userns, prepareRootfs: chownRootfs });
      compareMounts("userns-mounts", r);
      const d = await both("userns-devices", { probe: ["devices"], mutate: userns, prepareRootfs: chownRootfs });
      const v = okBoth(d);
      const views = { runc: v.runc.devices as any[], skiff: v.skiff.devices as any[] };
      applyDifferences("userns-devices", views, [
        knownDifference(
          "/dev/mqueue's root is owned by the overflow uid 65534 under skiff, by the container's root under runc: the kernel makes an ipc namespace's mqueue superblock when the namespace is created, owned by the creator's fsuid; runc creates the ipc namespace after becoming root in the new user namespace, skiff creates all namespaces in one clone as host root",
          (x) => {
            const r = x.runc.find((e: any) => e.name === "mqueue");
            const s = x.skiff.find((e: any) => e.name === "mqueue");
            if (!r || !s || r.uid !== 0 || s.uid !== 65534) return false;
            s.uid = r.uid;
            s.gid = r.gid;
            return true;
          },
        ),
      ]);
      expect(views.skiff).toEqual(views.runc);
      const nul = v.skiff.devices.find((x: any) => x.name === "null");
      expect(nul).toMatchObject({ type: "char", major: 1, minor: 3 });
    },
    TIMEOUT,
  );

  dtest(
    "oomScoreAdj",
    async () => {
      const r = await both("oom", { probe: ["oom"], mutate: (s) => (s.process!.oomScoreAdj = 123) });
      const v = okBoth(r);
      expect(v.skiff).toEqual(v.runc);
      expect(v.skiff.oom_score_adj).toBe(123);
    },
    TIMEOUT,
  );

  dtest(
    "sysctl net.ipv4.ip_forward=1 in a network namespace",
    async () => {
      const r = await both("sysctl", {
        probe: ["sysctl", "net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"],
        mutate: (s) => (s.linux!.sysctl = { "net.ipv4.ip_forward": "1" }),
      });
      const v = okBoth(r);
      expect(v.skiff).toEqual(v.runc);
      expect(v.skiff.sysctl["net.ipv4.ip_forward"]).toEqual({ value: "1", error: null });
    },
    TIMEOUT,
  );

  dtest(
    "--no-pivot: probe all",
    async () => {
      const r = await both("nopivot-all", { probe: ["all"], noPivot: true });
      const v = okBoth(r);
      const views = { runc: normalizeAll(v.runc), skiff: normalizeAll(v.skiff) };
      expect(views.skiff).toEqual(views.runc);
      expect(views.skiff.cwd.cwd).toBe("/");
    },
    TIMEOUT,
  );

  dtest(
    "--no-pivot: mounts",
    async () => {
      const r = await both("nopivot-mounts", { probe: ["mounts"], noPivot: true });
      const m = compareMounts("nopivot-mounts", r);
      expect(mountAt(m.skiff, "/")!.root).toBe("<rootfs>");
    },
    TIMEOUT,
  );

  dtest(
    "negative control: a config difference between the two runs is detected",
    async () => {
      // The same pipeline as the cases above, with skiff's config changed:
      // if this passed as equal, normalisation would be hiding differences.
      const r = await both("control", {
        probe: ["all"],
        mutate: (s) => (s.hostname = "runc"),
        mutateFor: { skiff: (s) => (s.hostname = "not-runc") },
      });
      const v = okBoth(r);
      const views = { runc: normalizeAll(v.runc), skiff: normalizeAll(v.skiff) };
      expect(views.skiff).not.toEqual(views.runc);
      expect(views.skiff.hostname.hostname).toBe("not-runc");
      views.skiff.hostname.hostname = "runc";
      expect(views.skiff).toEqual(views.runc);

      const m = await both("control-mounts", {
        probe: ["mounts"],
        mutateFor: { skiff: (s) => s.mounts!.push({ destination: "/mnt/extra", type: "tmpfs", source: "tmpfs", options: ["size=1m"] }) },
      });
      // It fails for the extra mount, not for another reason.
      expect(() => compareMounts("control-mounts", m)).toThrow("/mnt/extra");
    },
    TIMEOUT,
  );

  dtest(
    "exit code 3",
    async () => {
      const r = await both("exit3", { probe: ["exit", "3"] });
      expect(r.runc.exitCode).toBe(3);
      expect(r.skiff.exitCode).toBe(r.runc.exitCode);
      expect(r.skiff.json).toEqual(r.runc.json);
      expect(r.skiff.json).toEqual({ exit: 3 });
    },
    TIMEOUT,
  );

  dtest(
    "missing executable",
    async () => {
      const r = await both("noexec", { probe: [], args: ["/does-not-exist", "x"] });
      console.log(
        "[missing executable] exit codes: runc %d, skiff %d\n%s",
        r.runc.exitCode,
        r.skiff.exitCode,
        sideBySide({ title: "runc stderr", text: r.runc.stderr }, { title: "skiff stderr", text: r.skiff.stderr }),
      );
      // Both fail `run` with status 1 and name the executable; the process never ran.
      expect({ runc: r.runc.exitCode, skiff: r.skiff.exitCode }).toEqual({ runc: 1, skiff: 1 });
      for (const rt of ["runc", "skiff"] as const) {
        expect(r[rt].stderr).toContain("/does-not-exist");
        expect(r[rt].stdout).toBe("");
      }
      // Neither left a container behind.
      for (const rt of ["runc", "skiff"] as const) {
        const dir = r[rt].root;
        const left = existsSync(dir) ? readdirSync(dir).filter((n) => n === r[rt].id) : [];
        expect(left).toEqual([]);
      }
    },
    TIMEOUT,
  );
});
