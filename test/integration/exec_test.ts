// `skiff exec` as root on this host: namespaces, cgroup, user, env, cwd,
// exit codes, --detach, state errors, --process; and a differential test
// against runc exec on the same bundle.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, needRunc, RUNC, skipWhy } from "../skip";
import type { Spec } from "../../src/config/types";
import { compileExecPlan } from "../../src/plan/compile_exec";
import { readInRoot, secureJoin } from "../../src/container/process_json";
import { SKIFF, SKIFF_INIT_EXE, alive, allPids, procCmdline, forceDelete, procExe, procStatus, skiff, uniqueId, waitFor } from "./skiff";

describe.skipIf(skipWhy("test/integration/exec_test.ts", needRoot()))("exec", () => {
  const T = 30_000;
  const SLEEP = ["/probe", "sleep", "120"];
  let root = "";
  const made: { root: string; id: string; bin: string }[] = [];

  function readState(id: string, r = root): { pid: number; cgroup: { paths: Record<string, string>; freezer?: string } } {
    return JSON.parse(readFileSync(join(r, id, "state.json"), "utf8"));
  }

  /** create + start a container running args; returns its id and init pid. */
  function startContainer(prefix: string, args = SLEEP, mutate?: (s: Spec) => void): { id: string; pid: number; bundle: string } {
    const id = uniqueId(prefix);
    const bundle = makeBundle({ args, mutate });
    chmodSync(bundle, 0o755); // a user namespace's root must reach the rootfs
    made.push({ root, id, bin: SKIFF });
    const c = skiff(["create", "-b", bundle, id], { root });
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    const s = skiff(["start", id], { root });
    expect(s.code).toBe(0);
    return { id, pid: readState(id).pid, bundle };
  }

  /** `skiff exec ARGS...` (flags, id, command), its last output line parsed. */
  function execJson(args: string[]): any {
    const r = skiff(["exec", ...args], { root });
    if (r.code !== 0) throw new Error(`exec ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
  }

  const nsInode = (pid: number | "self", name: string) => statSync(`/proc/${pid}/ns/${name}`).ino;

  let main = { id: "", pid: 0, bundle: "" };

  beforeAll(() => {
    root = tempDir("skiff-exec-root-");
    main = startContainer("exec-main");
  });

  afterAll(() => {
    for (const m of made.splice(0)) {
      if (m.bin === SKIFF) forceDelete(m.root, m.id);
      else spawnSync([m.bin, "--root", m.root, "delete", "-f", m.id], { stdout: "ignore", stderr: "ignore" });
    }
    cleanupTempDirs();
  });

  describe("exec joins the container", () => {
    test(
      "namespaces are the init's",
      () => {
        const ns = execJson([main.id, "/probe", "ns"]);
        for (const name of ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"]) {
          // a kind this kernel lacks: the probe reports null for it
          const want = existsSync(`/proc/self/ns/${name}`) ? nsInode(main.pid, name) : null;
          expect({ name, ino: ns[name] }).toEqual({ name, ino: want });
        }
        // and the namespaces the bundle asks for are really the container's own
        for (const name of ["ipc", "mnt", "net", "pid", "uts"]) expect(ns[name]).not.toBe(nsInode("self", name));
      },
      T,
    );

    test(
      "the process is in the container's cgroups",
      () => {
        const cg = execJson([main.id, "/probe", "cgroup"]).cgroup as { hierarchy: number; path: string }[];
        const init = new Map<number, string>();
        for (const line of readFileSync(`/proc/${main.pid}/cgroup`, "utf8").split("\n").filter(Boolean)) {
          const [h, , ...path] = line.split(":");
          init.set(Number(h), path.join(":"));
        }
        expect(cg.length).toBe(init.size);
        for (const c of cg) expect({ h: c.hierarchy, path: c.path }).toEqual({ h: c.hierarchy, path: init.get(c.hierarchy)! });
      },
      T,
    );

    test(
      "--cgroup joins an existing sub-cgroup, and a missing one is an error",
      () => {
        const missing = skiff(["exec", "--cgroup", "nosuch", main.id, "/probe", "cgroup"], { root });
        expect(missing.code).toBe(255);
        expect(missing.stderr).toContain("does not exist");
        const dirs = Object.values(readState(main.id).cgroup.paths).map((d) => join(d, "sub"));
        for (const d of dirs) {
          mkdirSync(d);
          // a new v1 cpuset takes no task before it has cpus and mems
          for (const f of ["cpuset.cpus", "cpuset.mems"]) {
            if (existsSync(join(d, f))) writeFileSync(join(d, f), readFileSync(join(d, "..", f), "utf8").trim());
          }
        }
        try {
          const cg = execJson(["--cgroup", "sub", main.id, "/probe", "cgroup"]).cgroup as { path: string }[];
          for (const c of cg) expect(c.path.endsWith("/sub")).toBe(true);
        } finally {
          for (const d of dirs) waitFor(() => {
            try {
              rmdirSync(d);
              return true;
            } catch {
              return false;
            }
          });
        }
      },
      T,
    );

    test(
      "only stdio reaches the process",
      () => {
        const fds = execJson([main.id, "/probe", "fds"]).fds as { fd: number }[];
        expect(fds.map((f) => f.fd)).toEqual([0, 1, 2]);
      },
      T,
    );

    test(
      "capabilities, rlimits and no_new_privs come from the config; --cap adds",
      () => {
        const caps = execJson([main.id, "/probe", "caps"]);
        expect(caps.bounding).toBe("0000000020000420"); // AUDIT_WRITE KILL NET_BIND_SERVICE
        expect(caps.no_new_privs).toBe(1);
        const more = execJson(["--cap", "CAP_SYS_ADMIN", main.id, "/probe", "caps"]);
        expect(more.bounding).toBe("0000000020200420");
        expect(more.effective).toBe("0000000020200420");
        const rl = execJson([main.id, "/probe", "rlimits"]);
        expect(rl.RLIMIT_NOFILE).toEqual({ soft: 1024, hard: 1024 });
      },
      T,
    );
  });

  describe("exec's process", () => {
    test(
      "-u uid:gid, a user name, a name with a group, and -g",
      () => {
        const n = execJson(["-u", "1000:1000", main.id, "/probe", "ids"]);
        expect(n).toMatchObject({ uid: 1000, gid: 1000, euid: 1000, egid: 1000, groups: [] });
        const byName = execJson(["-u", "tester", main.id, "/probe", "ids"]);
        expect(byName).toMatchObject({ uid: 1000, gid: 1000, groups: [1001] });
        const withGroup = execJson(["-u", "tester:extra", "-g", "5", main.id, "/probe", "ids"]);
        expect(withGroup).toMatchObject({ uid: 1000, gid: 1001, groups: [5] });
        const bad = skiff(["exec", "-u", "nosuchuser", main.id, "/probe", "ids"], { root });
        expect(bad.code).toBe(255);
        expect(bad.stderr).toContain("unable to find user nosuchuser");
      },
      T,
    );

    test(
      "-e overrides and extends the config's env; HOME follows the user; --cwd",
      () => {
        const env = execJson(["-e", "FOO=bar baz", "-e", "TERM=dumb", main.id, "/probe", "env"]).env as string[];
        expect(env).toContain("FOO=bar baz");
        expect(env.filter((e) => e.startsWith("TERM="))).toEqual(["TERM=dumb"]);
        expect(env).toContain("HOME=/root");
        const tester = execJson(["-u", "1000", main.id, "/probe", "env"]).env as string[];
        expect(tester).toContain("HOME=/home/tester");
        expect(execJson([main.id, "/probe", "cwd"]).cwd).toBe("/");
        expect(execJson(["--cwd", "/tmp", main.id, "/probe", "cwd"]).cwd).toBe("/tmp");
      },
      T,
    );

    test(
      "the command's own flags are not skiff's",
      () => {
        const r = skiff(["exec", main.id, "/bin/sh", "-c", "echo -e hi; echo $0"], { root });
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe("hi\n/bin/sh\n");
      },
      T,
    );

    test(
      "exit status: the process's, and 128+n for signal n",
      () => {
        expect(skiff(["exec", main.id, "/probe", "exit", "5"], { root }).code).toBe(5);
        expect(skiff(["exec", main.id, "/probe", "exit", "0"], { root }).code).toBe(0);
        expect(skiff(["exec", main.id, "/bin/sh", "-c", "kill -9 $$"], { root }).code).toBe(137);
        const missing = skiff(["exec", main.id, "nosuchprogram"], { root });
        expect(missing.code).toBe(255);
        expect(missing.stderr).toContain('exec: "nosuchprogram": executable file not found in $PATH');
      },
      T,
    );

    test(
      "--detach --pid-file returns at once with a live pid in the container; nothing of skiff stays",
      () => {
        const pidFile = join(tempDir("skiff-exec-pid-"), "pid");
        const t0 = Date.now();
        const r = skiff(["exec", "-d", "--pid-file", pidFile, main.id, "/probe", "sleep", "30"], { root });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(Date.now() - t0).toBeLessThan(10_000);
        const pid = Number(readFileSync(pidFile, "utf8"));
        try {
          expect(alive(pid)).toBe(true);
          expect(nsInode(pid, "pid")).toBe(nsInode(main.pid, "pid"));
          const ppid = Number(procStatus(pid)!.get("PPid"));
          expect(procExe(ppid)).not.toBe(SKIFF_INIT_EXE);
          expect(procExe(ppid)).not.toBe(SKIFF);
          const helpers = allPids().filter((p) => alive(p) && procExe(p) === SKIFF_INIT_EXE && Number(procStatus(p)?.get("PPid")) === r.pid);
          expect(helpers).toEqual([]);
        } finally {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // gone
          }
        }
      },
      T,
    );

    test(
      "-p process.json, and terminal: true in it needs a console socket to detach",
      () => {
        const dir = tempDir("skiff-exec-proc-");
        const file = join(dir, "process.json");
        writeFileSync(
          file,
          JSON.stringify({ terminal: false, user: { uid: 1000, gid: 1001, additionalGids: [7] }, args: ["/probe", "all"], cwd: "/tmp", env: ["PATH=/bin", "X=1"] }),
        );
        const all = execJson(["-p", file, main.id]);
        expect(all.ids).toMatchObject({ uid: 1000, gid: 1001, groups: [7] });
        expect(all.cwd.cwd).toBe("/tmp");
        expect(all.env.env).toEqual(["HOME=/home/tester", "PATH=/bin", "X=1"]);
        expect(all.rlimits.RLIMIT_NOFILE).toEqual({ soft: 1024, hard: 1024 }); // the container's: the file has none
        writeFileSync(file, JSON.stringify({ terminal: true, user: { uid: 0, gid: 0 }, args: ["/probe", "ids"], cwd: "/" }));
        const tty = skiff(["exec", "-d", "-p", file, main.id], { root });
        expect(tty.code).toBe(255);
        expect(tty.stderr).toContain("cannot allocate tty if skiff will detach without setting console socket");
        writeFileSync(file, JSON.stringify({ user: { uid: 0, gid: 0 }, args: [], cwd: "relative" }));
        const bad = skiff(["exec", "-p", file, main.id], { root });
        expect(bad.code).toBe(255);
        expect(bad.stderr).toContain(file);
      },
      T,
    );

    test(
      "flags that cannot be honoured yet fail clearly",
      () => {
        const tty = skiff(["exec", "-t", "-d", main.id, "/probe", "ids"], { root });
        expect(tty.code).toBe(255);
        expect(tty.stderr).toContain("cannot allocate tty if skiff will detach without setting console socket");
        const sock = skiff(["exec", "--console-socket", "/tmp/x.sock", main.id, "/probe", "ids"], { root });
        expect(sock.code).toBe(255);
        expect(sock.stderr).toContain("cannot use console socket if skiff will not detach or allocate tty");
        // skiff applies no LSM yet: where the host has the module it says so,
        // elsewhere it says the host lacks it. Either way exec fails, naming the flag.
        const hasAppArmor = existsSync("/sys/kernel/security/apparmor");
        const aa = skiff(["exec", "--apparmor", "docker-default", main.id, "/probe", "ids"], { root });
        expect(aa.code).toBe(255);
        expect(aa.stderr).toContain(hasAppArmor ? "apparmor profiles are not supported yet (from --apparmor)" : "apparmor is not enabled on this host (from --apparmor)");
        const hasSELinux = existsSync("/sys/fs/selinux/enforce");
        const se = skiff(["exec", "--process-label", "system_u:system_r:container_t:s0", main.id, "/probe", "ids"], { root });
        expect(se.code).toBe(255);
        expect(se.stderr).toContain(hasSELinux ? "selinux labels are not supported yet (from --process-label)" : "selinux is not enabled on this host (from --process-label)");
      },
      T,
    );
  });

  describe("exec and the container's state", () => {
    test(
      "a stopped or missing container is an error of exec's own: exit 255, as runc",
      () => {
        const stopped = startContainer("exec-stopped", ["/probe", "exit", "0"]);
        expect(waitFor(() => !alive(stopped.pid), 5000)).toBe(true);
        const r = skiff(["exec", stopped.id, "/probe", "ids"], { root });
        expect(r.code).toBe(255);
        expect(r.stderr).toContain("cannot exec in a stopped container");

        const none = skiff(["exec", "no-such-container", "/probe", "ids"], { root });
        expect(none.code).toBe(255);
        expect(none.stderr).toContain("does not exist");
      },
      T,
    );

    test(
      "a created container may be exec'd into, as runc allows; it stays created and starts after",
      () => {
        const id = uniqueId("exec-created");
        made.push({ root, id, bin: SKIFF });
        expect(skiff(["create", "-b", makeBundle({ args: ["/probe", "exit", "7"] }), id], { root }).code).toBe(0);
        const initPid = readState(id).pid;
        const ns = execJson([id, "/probe", "ns"]);
        expect(ns.pid).toBe(nsInode(initPid, "pid"));
        expect(ns.mnt).toBe(nsInode(initPid, "mnt"));
        expect(JSON.parse(skiff(["state", id], { root }).stdout).status).toBe("created");
        expect(skiff(["start", id], { root }).code).toBe(0);
        expect(waitFor(() => !alive(initPid), 5000)).toBe(true);
      },
      T,
    );

    test(
      "a paused container needs --ignore-paused; refused, exec exits 255",
      () => {
        // skiff pause: the v1 freezer or cgroup v2's cgroup.freeze, whichever the host has
        expect(skiff(["pause", main.id], { root }).code).toBe(0);
        try {
          expect(JSON.parse(skiff(["state", main.id], { root }).stdout).status).toBe("paused");
          const r = skiff(["exec", main.id, "/probe", "ids"], { root });
          expect(r.code).toBe(255);
          expect(r.stderr).toContain("cannot exec in a paused container (use --ignore-paused to override)");
        } finally {
          expect(skiff(["resume", main.id], { root }).code).toBe(0);
        }
        expect(JSON.parse(skiff(["state", main.id], { root }).stdout).status).toBe("running");
        expect(execJson(["--ignore-paused", main.id, "/probe", "exit", "0"])).toEqual({ exit: 0 });
      },
      T,
    );
  });

  describe("exec into a container with its own user, time and cgroup namespaces", () => {
    test(
      "joins them all; ids and caps as asked",
      () => {
        const c = startContainer("exec-userns", SLEEP, (s) => {
          s.linux!.namespaces!.push({ type: "user" }, { type: "time" }, { type: "cgroup" });
          s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          s.linux!.timeOffsets = { monotonic: { secs: 1000, nanosecs: 0 } };
          // sysfs and cgroupfs need a network namespace and cgroup ns owned by the user ns
          s.mounts = s.mounts!.filter((m) => m.destination !== "/sys" && m.destination !== "/sys/fs/cgroup");
        });
        const ns = execJson([c.id, "/probe", "ns"]);
        for (const name of ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"]) {
          expect({ name, ino: ns[name] }).toEqual({ name, ino: nsInode(c.pid, name) });
        }
        expect(ns.user).not.toBe(nsInode("self", "user"));
        expect(execJson(["-u", "1000:1000", "-g", "1001", c.id, "/probe", "ids"])).toMatchObject({ uid: 1000, gid: 1000, groups: [1001] });
        expect(execJson([c.id, "/probe", "caps"]).effective).toBe("0000000020000420");
        // the cgroup namespace's root is the container's cgroup
        for (const g of execJson([c.id, "/probe", "cgroup"]).cgroup as { path: string }[]) expect(g.path).toBe("/");
      },
      T,
    );
  });

  describe("signals", () => {
    test(
      "an attached exec passes SIGTERM on and returns 128+15",
      async () => {
        const io = tempDir("skiff-exec-sig-");
        const out = openSync(join(io, "out"), "w");
        const proc = Bun.spawn([SKIFF, "--root", root, "exec", main.id, "/probe", "sleep", "30"], { stdin: "ignore", stdout: out, stderr: out });
        closeSync(out);
        // the probe is running once a sleeping /probe with skiff-init as parent shows up
        const running = () =>
          allPids().some((p) => procCmdline(p).join(" ") === "/probe sleep 30" && procExe(Number(procStatus(p)?.get("PPid"))) === SKIFF_INIT_EXE);
        expect(waitFor(running, 10_000)).toBe(true);
        proc.kill("SIGTERM");
        expect(await proc.exited).toBe(143);
      },
      T,
    );
  });

  describe("pure parts", () => {
    test("the plan: attributes and setns before clone, mnt last, no mounts or fifo", () => {
      const proc = { user: { uid: 1, gid: 2, additionalGids: [3] }, args: ["/x"], cwd: "/w", env: ["PATH=/bin"], rlimits: [{ type: "RLIMIT_NOFILE", soft: 10, hard: 20 }] };
      const join = { user: "/proc/9/ns/user", mnt: "/proc/9/ns/mnt", time: "/proc/9/ns/time", net: "/proc/9/ns/net" };
      const names = (userFirst: boolean) => compileExecPlan(proc, { id: "c", join, foreground: true, userFirst }).map((o) => (o.op === "setns" ? `setns:${o.path.split("/").pop()}` : o.op));
      expect(names(false)).toEqual([
        "rlimit", "setns:net", "setns:time", "setns:user", "setns:mnt", "clone", "setsid", "session_keyring", "umask", "close_fds",
        "bounding", "chdir", "identity", "capset", "chdir", "find_exec", "exec",
      ]);
      expect(names(true).slice(1, 5)).toEqual(["setns:user", "setns:net", "setns:time", "setns:mnt"]);
      const clone = compileExecPlan(proc, { id: "c", join: {}, foreground: false }).find((o) => o.op === "clone")!;
      expect(clone).toMatchObject({ flags: 0, wait: 0 });
    });

    test("user files are read inside the rootfs: symlinks cannot leave it", () => {
      const r = tempDir("skiff-exec-sj-");
      mkdirSync(join(r, "etc"));
      mkdirSync(join(r, "real"));
      writeFileSync(join(r, "real/passwd"), "inside\n");
      symlinkSync("/../../../../real/passwd", join(r, "etc/passwd"));
      expect(secureJoin(r, "/etc/passwd")).toBe(join(r, "real/passwd"));
      expect(readInRoot(r, "/etc/passwd")).toBe("inside\n");
      unlinkSync(join(r, "etc/passwd"));
      symlinkSync("../../../../../../etc/hostname", join(r, "etc/passwd"));
      expect(secureJoin(r, "/etc/passwd")).toBe(join(r, "etc/hostname"));
      expect(readInRoot(r, "/etc/passwd")).toBe("");
      unlinkSync(join(r, "etc/passwd"));
      symlinkSync("/etc/passwd", join(r, "etc/passwd"));
      expect(readInRoot(r, "/etc/passwd")).toBe(""); // a loop, not the host's file
    });
  });

  // ---- differential: runc exec and skiff exec on the same bundle ---------------

  /** Run a runtime with stdio on files (a detached container keeps them open). */
  function runtime(bin: string, r: string, args: string[]): { code: number; stdout: string; stderr: string } {
    const io = mkdtempSync(join(tmpdir(), "skiff-exec-io-"));
    try {
      const fds = [openSync("/dev/null", "r"), openSync(join(io, "out"), "w"), openSync(join(io, "err"), "w")] as const;
      let res;
      try {
        res = spawnSync([bin, "--root", r, ...args], { stdin: fds[0], stdout: fds[1], stderr: fds[2], timeout: T, killSignal: "SIGKILL" });
      } finally {
        for (const fd of fds) closeSync(fd);
      }
      return { code: res.exitCode ?? -1, stdout: readFileSync(join(io, "out"), "utf8"), stderr: readFileSync(join(io, "err"), "utf8") };
    } finally {
      rmSync(io, { recursive: true, force: true });
    }
  }

  describe.skipIf(skipWhy("differential: runc exec", needRunc()))("differential: runc exec", () => {
    test(
      "ids, caps and env of an exec'd process match runc's",
      () => {
        const ids: Record<string, string> = {};
        const roots: Record<string, string> = {};
        for (const [name, bin] of [["runc", RUNC], ["skiff", SKIFF]] as const) {
          roots[name] = tempDir(`skiff-exec-diff-${name}-`);
          ids[name] = uniqueId(`exec-diff-${name}`);
          const bundle = makeBundle({ args: SLEEP, busybox: false, mutate: (s) => (s.process!.user.additionalGids = [5]) });
          made.push({ root: roots[name]!, id: ids[name]!, bin });
          const r = runtime(bin, roots[name]!, ["run", "-d", "-b", bundle, ids[name]!]);
          expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: "" });
        }
        const cases: string[][] = [
          ["ids"],
          ["caps"],
          ["env"],
          ["-u", "1000:1000", "-g", "1001", "ids"],
          ["-u", "1000:1000", "--cap", "CAP_SYS_ADMIN", "--cap", "CAP_CHOWN", "caps"],
          ["--cap", "CAP_SYS_ADMIN", "--no-new-privs", "caps"],
          ["-u", "1000", "-e", "FOO=bar", "-e", "TERM=dumb", "-e", "EMPTY=", "env"],
        ];
        for (const c of cases) {
          const flags = c.slice(0, -1);
          const probe = c[c.length - 1]!;
          const out: Record<string, unknown> = {};
          for (const [name, bin] of [["runc", RUNC], ["skiff", SKIFF]] as const) {
            const r = runtime(bin, roots[name]!, ["exec", ...flags, ids[name]!, "/probe", probe]);
            expect({ name, c, code: r.code, stderr: r.stderr }).toEqual({ name, c, code: 0, stderr: "" });
            out[name] = JSON.parse(r.stdout.trim());
          }
          expect({ c, view: out.skiff }).toEqual({ c, view: out.runc });
        }
      },
      60_000,
    );
  });

  describe("exec under the container's seccomp filter", () => {
    // Deny mkdir with EPERM (x86_64 numbers come from the profile's names).
    const profile = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
    };
    for (const nnp of [false, true]) {
      test(
        `an exec'd process gets the filter too (noNewPrivileges ${nnp})`,
        () => {
          const c = startContainer(`exec-sc-${nnp}`, SLEEP, (s) => {
            s.root!.readonly = false;
            s.process!.noNewPrivileges = nnp;
            s.linux!.seccomp = profile;
          });
          const caps = execJson([c.id, "/probe", "caps"]);
          expect(caps.seccomp).toBe(2);
          const r = skiff(["exec", c.id, "/bin/mkdir", "/tmp/denied"], { root });
          expect(r.code).not.toBe(0);
          expect(r.stderr + r.stdout).toMatch(/not permitted/i);
          expect(skiff(["exec", c.id, "/bin/touch", "/tmp/allowed"], { root }).code).toBe(0);
        },
        T,
      );
    }
  });
});
