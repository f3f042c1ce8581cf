import { beforeAll, describe, expect, test } from "bun:test";
import Ajv, { type ValidateFunction } from "ajv";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SpecError, type SpecIssue } from "../errors";
import { needShared, SHARED, skipWhy } from "../../test/skip";
import { defaultConfig } from "./default_config";
import { loadSpec } from "./load";
import { pointerTo, toDottedSysctl, validateSpec } from "./validate";

const SCHEMA_DIR = join(SHARED, "oci-runtime-spec/schema");
const NON_LINUX = /^(freebsd|zos|windows|solaris|vm)-/;
const noSchemas = skipWhy("checks against the official config schema", needShared("oci-runtime-spec/schema"));

// The official schemas are draft-04; ajv 8 reads them as draft-07, which
// means the same for every keyword they use. defs.json carries one ref
// without its slash ("#definitions/uint32"); repair it in memory.
function compileSchema(main: string) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const f of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith(".json"))) {
    const text = readFileSync(`${SCHEMA_DIR}/${f}`, "utf8").replaceAll('"#definitions/', '"#/definitions/');
    const schema = JSON.parse(text);
    delete schema.$schema;
    ajv.addSchema(schema, f);
  }
  const validate = ajv.getSchema(main);
  if (!validate) throw new Error(`compile ${main}: not found`);
  return validate;
}

const readJson = (file: string): unknown => JSON.parse(readFileSync(file, "utf8"));
const pointers = (issues: SpecIssue[]) => issues.map((i) => i.pointer);
/** The official examples of one kind; none when ../shared is absent (the describe is skipped, but its body still runs to collect). */
const examples = (kind: "good" | "bad") => (noSchemas ? [] : readdirSync(`${SCHEMA_DIR}/test/config/${kind}`).filter((f) => !NON_LINUX.test(f))); // other platforms: their process rules differ (no process.user)

describe.skipIf(noSchemas)("against the official config schema", () => {
  let schemaValid: ValidateFunction;
  beforeAll(() => {
    schemaValid = compileSchema("config-schema.json");
  });

  // ---- official examples ------------------------------------------------------

  for (const f of examples("good")) {
    test(`good/${f} has no issues`, () => {
      expect(validateSpec(readJson(`${SCHEMA_DIR}/test/config/good/${f}`))).toEqual([]);
    });
  }

  // invalid-json.json is no JSON at all: nothing to validate; the loader
  // must refuse it with one parse error at the root.
  const UNPARSABLE = ["invalid-json.json"];

  for (const f of examples("bad")) {
    test(`bad/${f} is rejected at the schema's pointer`, () => {
      const text = readFileSync(`${SCHEMA_DIR}/test/config/bad/${f}`, "utf8");
      if (UNPARSABLE.includes(f)) {
        expect(() => JSON.parse(text)).toThrow(SyntaxError);
        const bundle = mkdtempSync(join(tmpdir(), "skiff-validate-"));
        try {
          writeFileSync(join(bundle, "config.json"), text);
          let err: unknown;
          try {
            loadSpec(bundle);
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(SpecError);
          expect((err as SpecError).issues.map((i) => [i.pointer, i.message.split(":")[0]])).toEqual([["", "parse json"]]);
        } finally {
          rmSync(bundle, { recursive: true, force: true });
        }
      } else {
        const value: unknown = JSON.parse(text);
        expect(schemaValid(value)).toBe(false);
        const expected = (schemaValid.errors ?? []).map((e) => e.instancePath);
        const issues = validateSpec(value);
        expect(issues.length).toBeGreaterThan(0);
        expect(pointers(issues)).toEqual(expect.arrayContaining(expected));
      }
    });
  }

  // ---- cross-check against the schema -----------------------------------------
  // Every node of two realistic configs is replaced by values of other types
  // and every object key is deleted; whenever ajv calls the result invalid,
  // validateSpec must report at least one issue.

  type Path = (string | number)[];

  function walk(v: unknown, path: Path, visit: (path: Path, v: unknown) => void): void {
    visit(path, v);
    if (Array.isArray(v)) v.forEach((e, i) => walk(e, [...path, i], visit));
    else if (v && typeof v === "object") for (const [k, e] of Object.entries(v)) walk(e, [...path, k], visit);
  }

  function mutate(base: unknown, path: Path, value: unknown): unknown {
    const copy = structuredClone(base) as Record<string | number, unknown>;
    let node = copy;
    for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
    const last = path[path.length - 1]!;
    if (value === DELETE) {
      if (Array.isArray(node)) node.splice(last as number, 1);
      else delete node[last];
    } else node[last] = value;
    return copy;
  }

  const DELETE = Symbol("delete");
  const REPLACEMENTS: unknown[] = [DELETE, null, "x", "", 1.5, -1, 0, 2 ** 40, true, {}, [], ["x"], [1], { x: 1 }];

  for (const [name, makeBase] of [
    ["spec-example.json", () => readJson(`${SCHEMA_DIR}/test/config/good/spec-example.json`)],
    ["runc default", () => defaultConfig({ rootless: false })],
    ["runc rootless default", () => defaultConfig({ rootless: true })],
  ] as const) {
    test(`every schema-invalid mutation of ${name} has an issue`, () => {
      const base = makeBase();
      let checked = 0;
      const misses: string[] = [];
      walk(base, [], (path) => {
        if (path.length === 0) return;
        for (const r of REPLACEMENTS) {
          const value = mutate(base, path, r);
          if (schemaValid(value)) continue;
          checked++;
          if (validateSpec(value).length === 0) misses.push(`${path.join("/")} = ${String(r === DELETE ? "<deleted>" : JSON.stringify(r))}`);
        }
      });
      expect(misses).toEqual([]);
      expect(checked).toBeGreaterThan(100);
    });
  }

  const TARGETED: [string, Path, unknown][] = [
    ["rlimit type pattern", ["process", "rlimits", 0, "type"], "RLIMIT_nofile"],
    ["ioPriority class", ["process", "ioPriority"], { class: "IOPRIO_CLASS_NONE", priority: 0 }],
    ["scheduler policy", ["process", "scheduler"], { policy: "SCHED_FAST" }],
    ["scheduler flag", ["process", "scheduler"], { policy: "SCHED_OTHER", flags: ["SCHED_FLAG_X"] }],
    ["cpu affinity", ["process", "execCPUAffinity"], { initial: "abc" }],
    ["personality domain", ["linux", "personality"], { domain: "LINUX64" }],
    ["device type", ["linux", "devices", 0, "type"], "x"],
    ["device file mode", ["linux", "devices", 0, "fileMode"], 512],
    ["hugepage size", ["linux", "resources", "hugepageLimits", 0, "pageSize"], "2mb"],
    ["memBwSchema", ["linux", "intelRdt"], { memBwSchema: "L3:0=ff" }],
    ["seccomp arch", ["linux", "seccomp", "architectures", 0], "SCMP_ARCH_VAX"],
    ["seccomp action", ["linux", "seccomp", "syscalls", 0, "action"], "SCMP_ACT_MAYBE"],
    ["seccomp names empty", ["linux", "seccomp", "syscalls", 0, "names"], []],
    ["seccomp flag", ["linux", "seccomp", "flags"], ["SECCOMP_FILTER_FLAG_X"]],
    ["memory policy", ["linux", "memoryPolicy"], { mode: "MPOL_X" }],
    ["rootfs propagation", ["linux", "rootfsPropagation"], "none"],
    ["namespace type", ["linux", "namespaces", 0, "type"], "net"],
    ["uid too large", ["process", "user", "uid"], 2 ** 32],
    ["weight too large", ["linux", "resources", "blockIO", "weight"], 65536],
    ["timeout zero", ["hooks", "poststart", 0, "timeout"], 0],
    ["nanosecs negative", ["linux", "timeOffsets", "monotonic", "nanosecs"], -1],
    ["annotation value", ["annotations", "k"], 1],
  ];

  test("targeted schema-invalid values have issues", () => {
    const base = readJson(`${SCHEMA_DIR}/test/config/good/spec-example.json`);
    for (const [what, path, value] of TARGETED) {
      const mutated = mutate(base, path, value);
      expect({ what, schemaValid: schemaValid(mutated) }).toEqual({ what, schemaValid: false });
      expect({ what, issues: validateSpec(mutated).length > 0 }).toEqual({ what, issues: true });
    }
  });
});

test("runc's default configs have no issues", () => {
  expect(validateSpec(defaultConfig({ rootless: false }))).toEqual([]);
  expect(validateSpec(defaultConfig({ rootless: true }))).toEqual([]);
});

// ---- rules beyond the schema -------------------------------------------------

function linuxConfig(extra: Record<string, unknown> = {}, linux: Record<string, unknown> = {}) {
  return {
    ociVersion: "1.3.0",
    root: { path: "rootfs" },
    process: { cwd: "/", args: ["sh"], user: { uid: 0, gid: 0 } },
    ...extra,
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "uts" }, { type: "ipc" }, { type: "network" }], ...linux },
  };
}

const issuesOf = (v: unknown, opts = {}) => validateSpec(v, opts).map((i) => `${i.pointer}: ${i.message}`);

test("a clean config has no issues", () => {
  expect(issuesOf(linuxConfig())).toEqual([]);
});

test("namespaces: duplicates and unknown types", () => {
  const c = linuxConfig({}, { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "pid" }, { type: "net" }] });
  expect(issuesOf(c)).toEqual(['/linux/namespaces/3/type: unknown namespace type "net"', '/linux/namespaces/2: duplicate namespace type "pid"']);
});

test("user namespace and mappings go together", () => {
  const maps = { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] };
  expect(issuesOf(linuxConfig({}, maps))).toEqual([
    "/linux/uidMappings: user namespace mappings specified, but user namespace isn't enabled in the config",
    "/linux/gidMappings: user namespace mappings specified, but user namespace isn't enabled in the config",
  ]);
  expect(issuesOf(linuxConfig({}, { ...maps, namespaces: [{ type: "mount" }, { type: "user" }] }))).toEqual([]);
  expect(issuesOf(linuxConfig({}, { namespaces: [{ type: "mount" }, { type: "user" }] }))).toEqual([
    "/linux/namespaces/1: user namespace enabled, but no uidMappings to apply and no path to join",
    "/linux/namespaces/1: user namespace enabled, but no gidMappings to apply and no path to join",
  ]);
  expect(issuesOf(linuxConfig({}, { namespaces: [{ type: "mount" }, { type: "user", path: "/proc/1/ns/user" }] }))).toEqual([]);
  const zero = { ...maps, uidMappings: [{ containerID: 0, hostID: 0, size: 0 }], namespaces: [{ type: "user" }] };
  expect(issuesOf(linuxConfig({}, zero))).toEqual(["/linux/uidMappings/0/size: must be greater than 0"]);
});

test("time offsets need a time namespace", () => {
  const offsets = { timeOffsets: { monotonic: { secs: 1 } } };
  expect(issuesOf(linuxConfig({}, offsets))).toEqual([
    "/linux/timeOffsets: time namespace offsets specified, but time namespace isn't enabled in the config",
  ]);
  expect(issuesOf(linuxConfig({}, { ...offsets, namespaces: [{ type: "time" }] }))).toEqual([]);
  expect(issuesOf(linuxConfig({}, { timeOffsets: { realtime: {} }, namespaces: [{ type: "time" }] }))).toEqual([
    '/linux/timeOffsets/realtime: unknown key "realtime"',
  ]);
});

test("hostname and domainname need a uts namespace", () => {
  const c = linuxConfig({ hostname: "h", domainname: "d" }, { namespaces: [{ type: "mount" }] });
  expect(issuesOf(c)).toEqual([
    "/hostname: unable to set hostname without a private UTS namespace",
    "/domainname: unable to set domainname without a private UTS namespace",
  ]);
  expect(issuesOf(linuxConfig({ hostname: "x".repeat(65) }))).toEqual(["/hostname: hostname longer than 64 bytes"]);
});

test("masked and readonly paths need a mount namespace and absolute paths", () => {
  const c = linuxConfig({}, { namespaces: [{ type: "pid" }], maskedPaths: ["/proc/kcore"], readonlyPaths: ["proc/sys"] });
  expect(issuesOf(c)).toEqual([
    '/linux/readonlyPaths/0: must be an absolute path, got "proc/sys"',
    "/linux/maskedPaths: unable to restrict sys entries without a private MNT namespace",
    "/linux/readonlyPaths: unable to restrict sys entries without a private MNT namespace",
  ]);
});

test("sysctl follows runc's namespace rules", () => {
  const sysctl = {
    "net.ipv4.ip_forward": "1",
    "net/ipv4/conf/eth0.100/rp_filter": "1",
    "kernel.shmmax": "1",
    "fs.mqueue.msg_max": "10",
    "kernel.domainname": "x",
    "kernel.hostname": "x",
    "vm.swappiness": "1",
  };
  expect(issuesOf(linuxConfig({}, { sysctl }))).toEqual([
    '/linux/sysctl/kernel.hostname: sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field',
    '/linux/sysctl/vm.swappiness: sysctl "vm.swappiness" is not in a separate kernel namespace',
  ]);
  expect(issuesOf(linuxConfig({}, { sysctl, namespaces: [{ type: "mount" }] }))).toEqual([
    '/linux/sysctl/net.ipv4.ip_forward: sysctl "net.ipv4.ip_forward" not allowed in host network namespace',
    '/linux/sysctl/net~1ipv4~1conf~1eth0.100~1rp_filter: sysctl "net.ipv4.conf.eth0/100.rp_filter" not allowed in host network namespace',
    '/linux/sysctl/kernel.shmmax: sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace',
    '/linux/sysctl/fs.mqueue.msg_max: sysctl "fs.mqueue.msg_max" is not allowed in the hosts ipc namespace',
    '/linux/sysctl/kernel.domainname: sysctl "kernel.domainname" is not in a separate kernel namespace',
    '/linux/sysctl/kernel.hostname: sysctl "kernel.hostname" is not in a separate kernel namespace',
    '/linux/sysctl/vm.swappiness: sysctl "vm.swappiness" is not in a separate kernel namespace',
  ]);
  // a joined network namespace is accepted: telling it from the host's needs a stat
  expect(issuesOf(linuxConfig({}, { sysctl: { "net.core.somaxconn": "1" }, namespaces: [{ type: "network", path: "/run/netns/a" }] }))).toEqual(
    [],
  );
});

test("toDottedSysctl swaps separators only for slash-separated keys", () => {
  expect(toDottedSysctl("net.ipv4.ip_forward")).toBe("net.ipv4.ip_forward");
  expect(toDottedSysctl("net/ipv4/conf/eno2.100/rp_filter")).toBe("net.ipv4.conf.eno2/100.rp_filter");
  expect(toDottedSysctl("")).toBe("");
});

test("rlimits: known types, no duplicates, soft <= hard", () => {
  const rlimits = [
    { type: "RLIMIT_NOFILE", soft: 2048, hard: 1024 },
    { type: "RLIMIT_NOFILE", soft: 1, hard: 1 },
    { type: "RLIMIT_FOO", soft: 1, hard: 1 },
    { type: "RLIMIT_CORE", soft: 1 },
  ];
  const c = linuxConfig({ process: { cwd: "/", user: { uid: 0, gid: 0 }, rlimits } });
  expect(issuesOf(c)).toEqual([
    '/process/rlimits/2/type: unknown rlimit type "RLIMIT_FOO"',
    "/process/rlimits/3/hard: is required",
    "/process/rlimits/0/soft: soft limit 2048 exceeds hard limit 1024 for RLIMIT_NOFILE",
    '/process/rlimits/1: duplicate rlimit type "RLIMIT_NOFILE"',
  ]);
});

test("capabilities: unknown names in any of the five sets", () => {
  const capabilities = {
    bounding: ["CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"],
    effective: ["CAP_FOO"],
    inheritable: ["cap_chown"],
    permitted: [1],
    ambient: ["CAP_BPF", "CAP_NOPE"],
  };
  const c = linuxConfig({ process: { cwd: "/", user: { uid: 0, gid: 0 }, capabilities } });
  expect(issuesOf(c)).toEqual([
    '/process/capabilities/effective/0: unknown capability "CAP_FOO"',
    '/process/capabilities/inheritable/0: unknown capability "cap_chown"',
    "/process/capabilities/permitted/0: must be a string",
    '/process/capabilities/ambient/1: unknown capability "CAP_NOPE"',
  ]);
});

test("devices: type and major/minor", () => {
  const devices = [
    { type: "c", path: "/dev/fuse", major: 10, minor: 229 },
    { type: "b", path: "/dev/sda" },
    { type: "p", path: "/dev/fifo" },
    { type: "x", path: "dev/x" },
  ];
  expect(issuesOf(linuxConfig({}, { devices }))).toEqual([
    '/linux/devices/3/type: unknown device type "x"',
    '/linux/devices/3/path: must be an absolute path, got "dev/x"',
    '/linux/devices/1/major: is required for device type "b"',
    '/linux/devices/1/minor: is required for device type "b"',
  ]);
});

test("process: cwd, user, args, env, ioPriority, scheduler, personality", () => {
  const process = {
    cwd: "tmp",
    user: { uid: "0" },
    args: [],
    env: ["A=1", "B", "=x"],
    ioPriority: { class: "IOPRIO_CLASS_BE", priority: 8 },
    scheduler: { policy: "SCHED_OTHER", priority: 5, runtime: 1, nice: 20 },
  };
  const c = linuxConfig({ process }, { personality: { domain: "LINUX32" } });
  expect(issuesOf(c)).toEqual([
    '/process/cwd: must be an absolute path, got "tmp"',
    "/process/env/1: invalid environment variable: missing '='",
    "/process/env/2: invalid environment variable: name cannot be empty",
    "/process/user/gid: is required",
    "/process/user/uid: must be an integer",
    "/process/ioPriority/priority: must be an integer between 0 and 7, got 8",
    "/process/scheduler/nice: must be an integer between -20 and 19, got 20",
    "/process/args: must have at least one entry",
    "/process/scheduler/priority: scheduler.priority can only be specified for SCHED_FIFO or SCHED_RR policy",
    "/process/scheduler/runtime: scheduler runtime/deadline/period can only be specified for SCHED_DEADLINE policy",
  ]);
});

test("requireProcess asks for a process with args", () => {
  const { process: _p, ...bare } = linuxConfig();
  expect(issuesOf(bare, { requireProcess: true })).toEqual(["/process: is required"]);
  expect(issuesOf(bare)).toEqual([]);
  expect(issuesOf(linuxConfig({ process: { cwd: "/", user: { uid: 0, gid: 0 } } }), { requireProcess: true })).toEqual([
    "/process/args: is required",
  ]);
});

test("root and ociVersion are required; the document must be an object", () => {
  expect(issuesOf({})).toEqual(["/ociVersion: is required", "/root: is required"]);
  expect(issuesOf([])).toEqual([": must be an object"]);
  expect(issuesOf(null)).toEqual([": must be an object"]);
});

test("mounts: unsupported options and idmapped mounts", () => {
  const one = [{ containerID: 0, hostID: 1, size: 1 }];
  const mounts = [
    { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "tmpcopyup", "size=1m"] },
    { destination: "/data", source: "/srv", options: ["rbind", "ridmap"], uidMappings: one, gidMappings: one },
    { destination: "relative/ok", type: "tmpfs" },
    { source: "x" },
    { destination: "/t", type: "tmpfs", options: ["idmap"], uidMappings: one, gidMappings: one },
    { destination: "/u", source: "/srv", options: ["bind"], uidMappings: one },
    { destination: "/v", source: "/srv", options: ["bind", "idmap"] },
    { destination: "/w", source: "/srv", type: "bind", uidMappings: [{ containerID: 0, hostID: 1, size: 0 }, ...one], gidMappings: [{ containerID: 9, hostID: 0, size: 5 }, { containerID: 20, hostID: 4, size: 1 }] },
  ];
  expect(issuesOf(linuxConfig({ mounts }))).toEqual([
    "/mounts/3/destination: is required",
    '/mounts/0/options/1: mount option "tmpcopyup" is not supported',
    "/mounts/4/options/0: idmapped mounts are only supported for bind mounts (options bind or rbind)",
    "/mounts/5/gidMappings: uidMappings and gidMappings must be given together",
    "/mounts/6/options/1: idmap without uidMappings and gidMappings uses the container's user namespace, but there is none",
    "/mounts/7/uidMappings/0/size: must be greater than 0",
    "/mounts/7/gidMappings/1: hostID range overlaps that of /mounts/7/gidMappings/0",
  ]);
  // with a user namespace, "idmap" alone takes its mappings
  const userns = linuxConfig({ mounts: [mounts[6]] }, { namespaces: [{ type: "mount" }, { type: "user" }], uidMappings: one, gidMappings: one });
  expect(issuesOf(userns)).toEqual([]);
});

test("strings that reach the kernel cannot hold NUL bytes", () => {
  const c = linuxConfig({ process: { cwd: "/", user: { uid: 0, gid: 0 }, args: ["a\0b"] } });
  expect(issuesOf(c)).toEqual(["/process/args/0: must not contain a NUL byte"]);
});

test("seccomp notify needs a listener path", () => {
  const seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mount"], action: "SCMP_ACT_NOTIFY" }] };
  expect(issuesOf(linuxConfig({}, { seccomp }))).toEqual(["/linux/seccomp/listenerPath: is required when an action is SCMP_ACT_NOTIFY"]);
});

test("rootfsPropagation takes runc's recursive forms too", () => {
  for (const v of ["private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"]) {
    expect(issuesOf(linuxConfig({}, { rootfsPropagation: v }))).toEqual([]);
  }
});

test("annotations: string values, non-empty keys", () => {
  expect(issuesOf(linuxConfig({ annotations: { "": "x", "a/b": 1 } }))).toEqual(["/annotations/a~1b: must be a string", "/annotations/: annotation key must not be empty"]);
});

test("pointerTo escapes ~ and /", () => {
  expect(pointerTo("/linux/sysctl", "a/b~c")).toBe("/linux/sysctl/a~1b~0c");
  expect(pointerTo("", 3)).toBe("/3");
});

test("every issue is reported, not just the first", () => {
  const c = { ociVersion: 1, root: { path: 2 }, process: { cwd: 3, user: { uid: -1, gid: 0 } }, mounts: {}, hostname: 4 };
  expect(pointers(validateSpec(c))).toEqual(["/ociVersion", "/hostname", "/mounts", "/root/path", "/process/cwd", "/process/user/uid"]);
});
