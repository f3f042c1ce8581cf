// skiff's command line as a whole: version, help, errors, spec, features,
// plan, and flags skiff refuses.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import { REPO_ROOT, cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { needRoot, skipWhy } from "../skip";
import { cgroupCandidates, skiff, uniqueId } from "./skiff";

afterAll(() => {
  cleanupTempDirs();
});

function oneLine(stderr: string): string {
  const lines = stderr.split("\n").filter(Boolean);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe("version and help", () => {
  test("--version prints skiff's version, its commit and the spec version, in runc's lines", () => {
    for (const flag of ["--version", "-v"]) {
      const r = skiff([flag]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^skiff version \d+\.\d+\.\d+$/);
      expect(lines[1]).toMatch(/^commit: \S/);
      expect(lines[2]).toBe("spec: 1.3.0");
    }
  });

  const head = spawnSync(["git", "-C", REPO_ROOT, "rev-parse", "HEAD"], { stdout: "pipe", stderr: "pipe" });
  test.skipIf(skipWhy("commit of the build", head.exitCode === 0 ? null : `${REPO_ROOT} is not a git checkout`))(
    "the commit is the checkout's HEAD, baked in by scripts/build.sh (-dirty: tracked files differed)",
    () => {
      const commit = skiff(["--version"]).stdout.split("\n").find((l) => l.startsWith("commit: "));
      const sha = head.stdout.toString().trim();
      // A mismatch means build/skiff is older than HEAD: run sh scripts/build.sh.
      expect(commit).toMatch(new RegExp(`^commit: ${sha}(-dirty)?$`));
    },
  );

  test("run from source (not built), the commit line says it is unknown", () => {
    const r = spawnSync([process.execPath, join(REPO_ROOT, "src/skiff.ts"), "--version"], { stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString().split("\n")[1]).toBe("commit: unknown (not built from a git checkout by scripts/build.sh)");
  });

  test("--help lists every command and the global flags", () => {
    const r = skiff(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    for (const cmd of ["create", "start", "run", "state", "kill", "delete", "list", "spec", "features", "plan"]) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\s`, "m"));
    }
    for (const flag of ["--root", "--log", "--log-format", "--systemd-cgroup"]) expect(r.stdout).toContain(flag);
  });

  test("a command's --help shows its own flags", () => {
    const r = skiff(["kill", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("usage: skiff kill");
    expect(r.stdout).toContain("--all");
  });

  test("no command prints help and fails", () => {
    const r = skiff([]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain("usage: skiff");
  });
});

describe("usage errors", () => {
  test("an unknown command fails with one line naming it", () => {
    const r = skiff(["frobnicate"], { root: tempDir("skiff-cli-root-") });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(oneLine(r.stderr)).toContain("frobnicate");
  });

  test("an unknown flag fails as urfave/cli does", () => {
    const root = tempDir("skiff-cli-root-");
    const cmd = skiff(["list", "--bogus"], { root });
    expect(cmd.code).not.toBe(0);
    expect(oneLine(cmd.stderr)).toContain("flag provided but not defined: --bogus");
    const global = skiff(["--nope", "list"], { root });
    expect(global.code).not.toBe(0);
    expect(oneLine(global.stderr)).toContain("flag provided but not defined: --nope");
    const short = skiff(["delete", "-z", "x"], { root });
    expect(short.code).not.toBe(0);
    expect(oneLine(short.stderr)).toContain("flag provided but not defined: -z");
  });

  test("a missing container id is a usage error", () => {
    const r = skiff(["state"], { root: tempDir("skiff-cli-root-") });
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toContain("container id");
  });

  // The systemd driver itself is tested against a real systemd in
  // test/vm/systemd_test.ts; here, what fails before any unit is asked for.
  test("--systemd-cgroup with no system bus: one line naming the socket, nothing left", () => {
    const root = tempDir("skiff-cli-root-");
    const bundle = makeBundle({ args: ["/probe", "exit", "0"] });
    const id = uniqueId("cli-systemd");
    const socket = join(tempDir("skiff-cli-bus-"), "system_bus_socket");
    const r = skiff(["--systemd-cgroup", "create", "-b", bundle, id], { root, env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` } });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(`skiff: --systemd-cgroup: cannot connect to systemd over D-Bus at ${socket}: connect: no such file or directory`);
    expect(existsSync(join(root, id))).toBe(false);
  });

  test("--systemd-cgroup with a cgroupfs path: one line naming /linux/cgroupsPath, nothing left", () => {
    const root = tempDir("skiff-cli-root-");
    const bundle = makeBundle({ args: ["/probe", "exit", "0"], mutate: (s) => (s.linux!.cgroupsPath = "/skiff/abc") });
    const id = uniqueId("cli-systemd");
    const r = skiff(["--systemd-cgroup", "create", "-b", bundle, id], { root });
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toBe('skiff: invalid config.json: /linux/cgroupsPath: expected "slice:prefix:name" for the systemd cgroup driver (--systemd-cgroup), got "/skiff/abc"');
    expect(existsSync(join(root, id))).toBe(false);
  });
});

describe("spec", () => {
  test("spec writes a runc-style config.json and refuses to overwrite it", () => {
    const dir = tempDir("skiff-cli-spec-");
    const r = skiff(["spec", "-b", dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const text = readFileSync(join(dir, "config.json"), "utf8");
    const spec = JSON.parse(text);
    expect(spec.ociVersion).toBe("1.3.0");
    expect(spec.process.args).toEqual(["sh"]);
    expect(spec.root).toEqual({ path: "rootfs", readonly: true });
    expect(spec.linux.namespaces.map((n: { type: string }) => n.type).sort()).toEqual(["ipc", "mount", "network", "pid", "uts"]);
    expect(spec.linux.namespaces.some((n: { type: string }) => n.type === "user")).toBe(false);

    const again = skiff(["spec", "-b", dir]);
    expect(again.code).not.toBe(0);
    expect(oneLine(again.stderr)).toContain("exists");
    expect(readFileSync(join(dir, "config.json"), "utf8")).toBe(text);
  });

  test("spec writes into the current directory by default", () => {
    const dir = tempDir("skiff-cli-spec-");
    writeFileSync(join(dir, "other"), "x");
    const r = skiff(["spec"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["config.json", "other"]);
  });

  test("spec --rootless adds a user namespace with mappings for this user", () => {
    const dir = tempDir("skiff-cli-spec-");
    const r = skiff(["spec", "--rootless", "-b", dir]);
    expect(r.code).toBe(0);
    const spec = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const types = spec.linux.namespaces.map((n: { type: string }) => n.type);
    expect(types).toContain("user");
    expect(types).not.toContain("network");
    expect(spec.linux.uidMappings).toEqual([{ containerID: 0, hostID: process.getuid!(), size: 1 }]);
    expect(spec.linux.gidMappings).toEqual([{ containerID: 0, hostID: process.getgid!(), size: 1 }]);
    expect(spec.linux.resources).toBeUndefined();
  });
});

describe("features", () => {
  test("features prints the features document as JSON", () => {
    const r = skiff(["features"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const f = JSON.parse(r.stdout);
    expect(f.ociVersionMax).toBe("1.3.0");
    expect(f.ociVersionMin).toMatch(/^1\.0\.\d+$/);
    expect(f.hooks).toEqual(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
    expect(f.linux.namespaces).toContain("pid");
    expect(f.linux.capabilities).toContain("CAP_SYS_ADMIN");
    expect(Array.isArray(f.mountOptions)).toBe(true);
    expect(f.mountOptions).toContain("rbind");
  });
});

describe("plan", () => {
  test("plan prints one op per line and creates nothing", () => {
    const root = tempDir("skiff-cli-root-");
    const bundle = makeBundle({ args: ["/probe", "sleep", "30"], mutate: (s) => (s.hostname = "plan-host") });
    const rootfsBefore = readdirSync(join(bundle, "rootfs")).sort();
    const id = uniqueId("cli-plan");
    const r = skiff(["plan", "--id", id, bundle], { root });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(10);
    lines.forEach((line, i) => expect(line).toMatch(new RegExp(`^\\s*${i} [a-z_]+( |$)`)));
    const ops = lines.map((l) => l.trim().split(" ")[1]);
    expect(ops).toContain("clone");
    expect(ops).toContain("pivot_root");
    expect(ops.at(-1)).toBe("exec");
    expect(lines.find((l) => l.includes(" hostname "))).toContain('"plan-host" (from /hostname)');
    expect(lines.find((l) => l.includes(" exec "))).toContain("/probe sleep 30");
    // Nothing made: no state, no cgroup, no change in the rootfs.
    expect(existsSync(join(root, id))).toBe(false);
    for (const d of cgroupCandidates(id)) expect(existsSync(d)).toBe(false);
    expect(readdirSync(join(bundle, "rootfs")).sort()).toEqual(rootfsBefore);
  });

  test("plan of a broken bundle fails with the origin", () => {
    const bundle = makeBundle({ args: ["/probe"], mutate: (s) => s.linux!.namespaces!.push({ type: "uts" }) });
    const r = skiff(["plan", bundle], { root: tempDir("skiff-cli-root-") });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(oneLine(r.stderr)).toContain("/linux/namespaces/5");
  });
});

// Runs a container: root only (the rest of this file needs no privilege).
describe.skipIf(skipWhy("the caller's directory", needRoot()))("the caller's directory", () => {
  test("a .env or bunfig.toml in the working directory changes nothing", () => {
    const bundle = makeBundle({ args: ["/bin/true"] });
    // Were .env read, skiff would look for skiff-init where it is not.
    writeFileSync(join(bundle, ".env"), "SKIFF_INIT=/nonexistent/skiff-init\n");
    writeFileSync(join(bundle, "bunfig.toml"), "preload = [\"/nonexistent/preload.ts\"]\n");
    const root = tempDir("skiff-cli-env-");
    const r = skiff(["run", uniqueId("envfile")], { root, cwd: bundle });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});
