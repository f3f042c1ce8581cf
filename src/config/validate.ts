// Hand-written validator for config.json (runtime-spec v1.3, Linux). Two
// layers: a declarative type layer mirroring config-schema.json (so every
// value skiff reads has the type the code assumes), then the spec's MUST
// rules and runc's cross-field rules. It reports every issue it finds, each
// at its JSON pointer, and never throws; ajv stays out of the create path.

import type { SpecIssue } from "../errors";
import { checkMountOption } from "./mount_options";
import { checkProcDestinations } from "./proc_mounts";
import { CAPABILITIES, NAMESPACE_TYPES, RLIMITS } from "./tables";

export interface ValidateOptions {
  /** `create` needs a process; a bare bundle (state, plan of nothing) may omit it. */
  requireProcess?: boolean;
}

type Obj = Record<string, unknown>;
type Checker = (out: SpecIssue[], v: unknown, p: string) => boolean;

/** Validate a parsed config.json; returns every issue found (empty when valid). */
export function validateSpec(value: unknown, opts: ValidateOptions = {}): SpecIssue[] {
  const out: SpecIssue[] = [];
  if (!checkConfig(out, value, "")) return out;
  const spec = value as Obj;
  if (opts.requireProcess) checkProcessPresent(out, spec);
  checkNamespaceRules(out, spec);
  checkProcessRules(out, obj(spec.process));
  checkMountRules(out, spec);
  checkLinuxRules(out, obj(spec.linux));
  return out;
}

// ---- what is read before validation ----------------------------------------
// Both edit the freshly parsed JSON in place, so everything after validation
// sees one shape.

/**
 * A member whose value is `null` is read as left out, as runc, crun and
 * youki read it: engines written in Go emit `"args": null` (containers-common's
 * seccomp profile). For config.json and process.json alike; a required
 * member that is null is then reported missing.
 */
export function dropNullMembers(v: unknown): unknown {
  if (Array.isArray(v)) v.forEach(dropNullMembers);
  else if (isObj(v)) {
    for (const [k, e] of Object.entries(v)) {
      if (e === null) delete v[k];
      else dropNullMembers(e);
    }
  }
  return v;
}

/**
 * Device cgroup rules whose access has letters besides r, w and m ("rwa"):
 * runc takes the rule and writes it with the known letters only ("rw").
 * Does the same and returns a warning per rule, at its pointer. An access
 * with none of them is left for the validator to refuse (runc fails on it too).
 */
export function dropUnknownDeviceAccess(spec: unknown): SpecIssue[] {
  const warnings: SpecIssue[] = [];
  list(obj(obj(obj(spec).linux).resources).devices).forEach((d, i) => {
    if (!isObj(d) || typeof d.access !== "string" || /^[rwm]*$/.test(d.access)) return;
    const known = ["r", "w", "m"].filter((c) => (d.access as string).includes(c)).join("");
    if (!known) return;
    warnings.push({
      pointer: `/linux/resources/devices/${i}/access`,
      message: `device access ${JSON.stringify(d.access)} has letters other than r, w and m: they are ignored, as by runc (the rule is ${JSON.stringify(known)})`,
    });
    d.access = known;
  });
  return warnings;
}

// ---- type layer -------------------------------------------------------------

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** JSON pointer of `key` under `base` (RFC 6901 escaping: sysctl and annotation keys hold "/"). */
export function pointerTo(base: string, key: string | number): string {
  return `${base}/${String(key).replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

const str: Checker = (out, v, p) => {
  if (typeof v === "string") return true;
  out.push({ pointer: p, message: "must be a string" });
  return false;
};

// Strings that reach a syscall or execve cannot carry a NUL byte.
const cstr: Checker = (out, v, p) => {
  if (!str(out, v, p)) return false;
  if (!(v as string).includes("\0")) return true;
  out.push({ pointer: p, message: "must not contain a NUL byte" });
  return false;
};

const absPath: Checker = (out, v, p) => {
  if (!cstr(out, v, p)) return false;
  if ((v as string).startsWith("/")) return true;
  out.push({ pointer: p, message: `must be an absolute path, got ${JSON.stringify(v)}` });
  return false;
};

const bool: Checker = (out, v, p) => {
  if (typeof v === "boolean") return true;
  out.push({ pointer: p, message: "must be a boolean" });
  return false;
};

function int(min: number, max: number): Checker {
  return (out, v, p) => {
    if (typeof v !== "number" || !Number.isInteger(v)) {
      out.push({ pointer: p, message: "must be an integer" });
      return false;
    }
    if (v >= min && v <= max) return true;
    out.push({ pointer: p, message: `must be an integer between ${min} and ${max}, got ${v}` });
    return false;
  };
}

// JSON numbers become doubles: 2**64 is how 18446744073709551615 parses.
const u16 = int(0, 65535);
const u32 = int(0, 4294967295);
const u64 = int(0, 2 ** 64);
const i32 = int(-2147483648, 2147483647);
const i64 = int(-(2 ** 63), 2 ** 63);

function oneOf(values: readonly string[], what: string): Checker {
  return (out, v, p) => {
    if (!str(out, v, p)) return false;
    if (values.includes(v as string)) return true;
    out.push({ pointer: p, message: `unknown ${what} ${JSON.stringify(v)}` });
    return false;
  };
}

function matches(re: RegExp, what: string): Checker {
  return (out, v, p) => {
    if (!str(out, v, p)) return false;
    if (re.test(v as string)) return true;
    out.push({ pointer: p, message: `invalid ${what} ${JSON.stringify(v)}` });
    return false;
  };
}

function arrayOf(item: Checker, opts: { minItems?: number } = {}): Checker {
  return (out, v, p) => {
    if (!Array.isArray(v)) {
      out.push({ pointer: p, message: "must be an array" });
      return false;
    }
    if (v.length < (opts.minItems ?? 0)) out.push({ pointer: p, message: `must have at least ${opts.minItems} entries` });
    v.forEach((e, i) => item(out, e, pointerTo(p, i)));
    return true;
  };
}

function mapOf(value: Checker, opts: { keys?: readonly string[] } = {}): Checker {
  return (out, v, p) => {
    if (!isObj(v)) {
      out.push({ pointer: p, message: "must be an object" });
      return false;
    }
    for (const [k, e] of Object.entries(v)) {
      if (opts.keys && !opts.keys.includes(k)) out.push({ pointer: pointerTo(p, k), message: `unknown key ${JSON.stringify(k)}` });
      else value(out, e, pointerTo(p, k));
    }
    return true;
  };
}

function shape(fields: Record<string, Checker>, required: readonly string[] = []): Checker {
  return (out, v, p) => {
    if (!isObj(v)) {
      out.push({ pointer: p, message: "must be an object" });
      return false;
    }
    for (const k of required) if (v[k] === undefined) out.push({ pointer: pointerTo(p, k), message: "is required" });
    for (const [k, check] of Object.entries(fields)) if (v[k] !== undefined) check(out, v[k], pointerTo(p, k));
    return true;
  };
}

const strings = arrayOf(str);
const cstrings = arrayOf(cstr);

// runc refuses entries it cannot split into a name and a value.
const envEntry: Checker = (out, v, p) => {
  if (!cstr(out, v, p)) return false;
  const eq = (v as string).indexOf("=");
  if (eq > 0) return true;
  out.push({ pointer: p, message: eq < 0 ? "invalid environment variable: missing '='" : "invalid environment variable: name cannot be empty" });
  return false;
};

const capName: Checker = (out, v, p) => {
  if (!str(out, v, p)) return false;
  if (Object.hasOwn(CAPABILITIES, v as string)) return true;
  out.push({ pointer: p, message: `unknown capability ${JSON.stringify(v)}` });
  return false;
};

const idMapping = shape({ containerID: u32, hostID: u32, size: u32 }, ["containerID", "hostID", "size"]);
const idMappings = arrayOf(idMapping);

const hook = shape({ path: absPath, args: cstrings, env: cstrings, timeout: int(1, Number.MAX_SAFE_INTEGER) }, ["path"]);
const hooks = shape(
  Object.fromEntries(
    ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"].map((k) => [k, arrayOf(hook)]),
  ),
);

const mount = shape(
  { source: cstr, destination: cstr, options: strings, type: cstr, uidMappings: idMappings, gidMappings: idMappings },
  ["destination"],
);

const capSet = arrayOf(capName);

const process_ = shape(
  {
    args: cstrings,
    commandLine: str,
    consoleSize: shape({ height: u64, width: u64 }, ["height", "width"]),
    cwd: absPath,
    env: arrayOf(envEntry),
    terminal: bool,
    user: shape({ uid: u32, gid: u32, umask: u32, additionalGids: arrayOf(u32), username: str }, ["uid", "gid"]),
    capabilities: shape({ bounding: capSet, effective: capSet, inheritable: capSet, permitted: capSet, ambient: capSet }),
    apparmorProfile: str,
    oomScoreAdj: int(-1000, 1000),
    selinuxLabel: str,
    ioPriority: shape(
      { class: oneOf(["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"], "ioPriority class"), priority: int(0, 7) },
      ["class", "priority"],
    ),
    noNewPrivileges: bool,
    scheduler: shape(
      {
        policy: oneOf(
          ["SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"],
          "scheduler policy",
        ),
        nice: int(-20, 19),
        priority: i32,
        flags: arrayOf(
          oneOf(
            [
              "SCHED_FLAG_RESET_ON_FORK",
              "SCHED_FLAG_RECLAIM",
              "SCHED_FLAG_DL_OVERRUN",
              "SCHED_FLAG_KEEP_POLICY",
              "SCHED_FLAG_KEEP_PARAMS",
              "SCHED_FLAG_UTIL_CLAMP_MIN",
              "SCHED_FLAG_UTIL_CLAMP_MAX",
            ],
            "scheduler flag",
          ),
        ),
        runtime: u64,
        deadline: u64,
        period: u64,
      },
      ["policy"],
    ),
    rlimits: arrayOf(shape({ type: oneOf(Object.keys(RLIMITS), "rlimit type"), soft: u64, hard: u64 }, ["type", "soft", "hard"])),
    execCPUAffinity: shape({ initial: matches(/^[0-9, -]*$/, "cpu list"), final: matches(/^[0-9, -]*$/, "cpu list") }),
  },
  ["cwd", "user"],
);

const device = shape(
  { type: oneOf(["c", "b", "u", "p"], "device type"), path: absPath, fileMode: int(0, 0o777), major: i64, minor: i64, uid: u32, gid: u32 },
  ["type", "path"],
);

const blockIODevice = { major: i64, minor: i64 };
const throttle = arrayOf(shape({ ...blockIODevice, rate: u64 }, ["major", "minor"]));

// What dropUnknownDeviceAccess leaves: r, w and m only.
const deviceAccess: Checker = (out, v, p) => {
  if (!str(out, v, p)) return false;
  if (/^[rwm]*$/.test(v as string)) return true;
  out.push({ pointer: p, message: `invalid device access ${JSON.stringify(v)}: use the letters r, w and m` });
  return false;
};

const resources = shape({
  unified: mapOf(str),
  devices: arrayOf(
    shape({ allow: bool, type: oneOf(["a", "b", "c"], "device cgroup type"), major: i64, minor: i64, access: deviceAccess }, [
      "allow",
    ]),
  ),
  pids: shape({ limit: i64 }, ["limit"]),
  blockIO: shape({
    weight: u16,
    leafWeight: u16,
    throttleReadBpsDevice: throttle,
    throttleWriteBpsDevice: throttle,
    throttleReadIOPSDevice: throttle,
    throttleWriteIOPSDevice: throttle,
    weightDevice: arrayOf(shape({ ...blockIODevice, weight: u16, leafWeight: u16 }, ["major", "minor"])),
  }),
  cpu: shape({ cpus: str, mems: str, period: u64, quota: i64, burst: u64, realtimePeriod: u64, realtimeRuntime: i64, shares: u64, idle: i64 }),
  hugepageLimits: arrayOf(shape({ pageSize: matches(/^[1-9][0-9]*[KMG]B$/, "page size"), limit: u64 }, ["pageSize", "limit"])),
  memory: shape({
    kernel: i64,
    kernelTCP: i64,
    limit: i64,
    reservation: i64,
    swap: i64,
    swappiness: int(0, 100),
    disableOOMKiller: bool,
    useHierarchy: bool,
    checkBeforeUpdate: bool,
  }),
  network: shape({ classID: u32, priorities: arrayOf(shape({ name: str, priority: u32 }, ["name", "priority"])) }),
  rdma: mapOf(shape({ hcaHandles: u32, hcaObjects: u32 })),
});

const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
];
const seccompAction = oneOf(SECCOMP_ACTIONS, "seccomp action");

const SECCOMP_ARCHES = [
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_SH",
  "SCMP_ARCH_SHEB",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
];

const seccomp = shape(
  {
    defaultAction: seccompAction,
    defaultErrnoRet: u32,
    flags: arrayOf(
      oneOf(
        ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "seccomp flag",
      ),
    ),
    listenerPath: cstr,
    listenerMetadata: str,
    architectures: arrayOf(oneOf(SECCOMP_ARCHES, "seccomp architecture")),
    syscalls: arrayOf(
      shape(
        {
          names: arrayOf(str, { minItems: 1 }),
          action: seccompAction,
          errnoRet: u32,
          args: arrayOf(
            shape(
              {
                index: int(0, 5),
                value: u64,
                valueTwo: u64,
                op: oneOf(
                  ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"],
                  "seccomp operator",
                ),
              },
              ["index", "value", "op"],
            ),
          ),
        },
        ["names", "action"],
      ),
    ),
  },
  ["defaultAction"],
);

const timeOffset = shape({ secs: i64, nanosecs: int(0, 999_999_999) });

// runc also takes the recursive forms; engines send "rprivate" and "rslave".
const ROOTFS_PROPAGATIONS = ["private", "shared", "slave", "unbindable", "rprivate", "rshared", "rslave", "runbindable"];

const linux = shape({
  devices: arrayOf(device),
  netDevices: mapOf(shape({ name: str })),
  uidMappings: idMappings,
  gidMappings: idMappings,
  namespaces: arrayOf(shape({ type: oneOf(NAMESPACE_TYPES, "namespace type"), path: absPath }, ["type"])),
  resources,
  cgroupsPath: cstr,
  rootfsPropagation: oneOf(ROOTFS_PROPAGATIONS, "rootfs propagation"),
  seccomp,
  sysctl: mapOf(cstr),
  maskedPaths: arrayOf(absPath),
  readonlyPaths: arrayOf(absPath),
  mountLabel: str,
  intelRdt: shape({ closID: str, schemata: strings, l3CacheSchema: str, memBwSchema: matches(/^MB:[^\n]*$/, "memBwSchema"), enableMonitoring: bool }),
  memoryPolicy: shape({
    mode: oneOf(
      ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"],
      "memory policy mode",
    ),
    nodes: str,
    flags: arrayOf(oneOf(["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"], "memory policy flag")),
  }),
  personality: shape({ domain: oneOf(["LINUX", "LINUX32"], "personality domain"), flags: strings }, ["domain"]),
  timeOffsets: mapOf(timeOffset, { keys: ["boottime", "monotonic"] }),
});

// Annotation keys must not be empty (spec); values are free strings.
const annotations: Checker = (out, v, p) => {
  if (!mapOf(str)(out, v, p)) return false;
  if (Object.hasOwn(v as Obj, "")) out.push({ pointer: pointerTo(p, ""), message: "annotation key must not be empty" });
  return true;
};

// sethostname/setdomainname take at most 64 bytes.
function uname(what: string): Checker {
  return (out, v, p) => {
    if (!cstr(out, v, p)) return false;
    if (Buffer.byteLength(v as string) <= 64) return true;
    out.push({ pointer: p, message: `${what} longer than 64 bytes` });
    return false;
  };
}

const checkConfig = shape(
  {
    ociVersion: str,
    hooks,
    annotations,
    hostname: uname("hostname"),
    domainname: uname("domainname"),
    mounts: arrayOf(mount),
    root: shape({ path: cstr, readonly: bool }, ["path"]),
    process: process_,
    linux,
  },
  ["ociVersion", "root"],
);

// ---- rule layer -------------------------------------------------------------
// Rules read through obj()/list() and re-check types locally, so a value the
// type layer already reported does not crash them or produce a second issue.

function checkProcessPresent(out: SpecIssue[], spec: Obj): void {
  if (spec.process === undefined) out.push({ pointer: "/process", message: "is required" });
  else if (isObj(spec.process) && spec.process.args === undefined) out.push({ pointer: "/process/args", message: "is required" });
}

interface NamespaceInfo {
  index: number;
  path?: string;
}

function namespacesOf(linux: Obj): Map<string, NamespaceInfo> {
  const seen = new Map<string, NamespaceInfo>();
  list(linux.namespaces).forEach((ns, index) => {
    const { type, path } = obj(ns);
    if (typeof type === "string" && !seen.has(type)) seen.set(type, { index, path: typeof path === "string" ? path : undefined });
  });
  return seen;
}

function checkNamespaceRules(out: SpecIssue[], spec: Obj): void {
  const linux = obj(spec.linux);
  const seen = new Set<string>();
  list(linux.namespaces).forEach((ns, i) => {
    const { type } = obj(ns);
    if (typeof type !== "string") return;
    if (seen.has(type)) out.push({ pointer: `/linux/namespaces/${i}`, message: `duplicate namespace type ${JSON.stringify(type)}` });
    seen.add(type);
  });
  const ns = namespacesOf(linux);

  const user = ns.get("user");
  for (const key of ["uidMappings", "gidMappings"]) {
    const given = linux[key] !== undefined;
    if (given && !user) {
      out.push({ pointer: `/linux/${key}`, message: "user namespace mappings specified, but user namespace isn't enabled in the config" });
    }
    if (user && !user.path && list(linux[key]).length === 0) {
      out.push({ pointer: `/linux/namespaces/${user.index}`, message: `user namespace enabled, but no ${key} to apply and no path to join` });
    }
  }
  for (const key of ["uidMappings", "gidMappings"]) {
    list(linux[key]).forEach((m, i) => {
      if (obj(m).size === 0) out.push({ pointer: `/linux/${key}/${i}/size`, message: "must be greater than 0" });
    });
  }

  if (linux.timeOffsets !== undefined && !ns.has("time")) {
    out.push({ pointer: "/linux/timeOffsets", message: "time namespace offsets specified, but time namespace isn't enabled in the config" });
  }
  if (typeof spec.hostname === "string" && spec.hostname !== "" && !ns.has("uts")) {
    out.push({ pointer: "/hostname", message: "unable to set hostname without a private UTS namespace" });
  }
  if (typeof spec.domainname === "string" && spec.domainname !== "" && !ns.has("uts")) {
    out.push({ pointer: "/domainname", message: "unable to set domainname without a private UTS namespace" });
  }
  for (const key of ["maskedPaths", "readonlyPaths"]) {
    if (list(linux[key]).length > 0 && !ns.has("mount")) {
      out.push({ pointer: `/linux/${key}`, message: "unable to restrict sys entries without a private MNT namespace" });
    }
  }
  checkSysctlRules(out, linux, ns);
}

// Only namespaced sysctls may be set, and only when the container has its
// own instance of that namespace (runc's rules). A network namespace joined
// by path is trusted not to be the host's: telling needs a stat.
const IPC_SYSCTLS = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
]);

function checkSysctlRules(out: SpecIssue[], linux: Obj, ns: Map<string, NamespaceInfo>): void {
  for (const raw of Object.keys(obj(linux.sysctl))) {
    const p = pointerTo("/linux/sysctl", raw);
    const key = toDottedSysctl(raw);
    if (IPC_SYSCTLS.has(key) || key.startsWith("fs.mqueue.")) {
      if (!ns.has("ipc")) out.push({ pointer: p, message: `sysctl ${JSON.stringify(key)} is not allowed in the hosts ipc namespace` });
    } else if (key.startsWith("net.")) {
      if (!ns.has("network")) out.push({ pointer: p, message: `sysctl ${JSON.stringify(key)} not allowed in host network namespace` });
    } else if (ns.has("uts") && key === "kernel.domainname") {
      // namespaced, and no dedicated field competes with it
    } else if (ns.has("uts") && key === "kernel.hostname") {
      out.push({ pointer: p, message: `sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field` });
    } else {
      out.push({ pointer: p, message: `sysctl ${JSON.stringify(key)} is not in a separate kernel namespace` });
    }
  }
}

// sysctl(8) also accepts "/" as the separator, with "." then allowed inside
// a component ("net/ipv4/conf/eth0.100/rp_filter"); swap to compare names.
export function toDottedSysctl(key: string): string {
  const first = key.search(/[./]/);
  if (first < 0 || key[first] === ".") return key;
  return key.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
}

function checkProcessRules(out: SpecIssue[], process: Obj): void {
  if (Array.isArray(process.args) && process.args.length === 0) {
    out.push({ pointer: "/process/args", message: "must have at least one entry" });
  }
  const seen = new Set<string>();
  list(process.rlimits).forEach((r, i) => {
    const { type, soft, hard } = obj(r);
    if (typeof type !== "string") return;
    if (seen.has(type)) out.push({ pointer: `/process/rlimits/${i}`, message: `duplicate rlimit type ${JSON.stringify(type)}` });
    seen.add(type);
    if (typeof soft === "number" && typeof hard === "number" && soft > hard) {
      out.push({ pointer: `/process/rlimits/${i}/soft`, message: `soft limit ${soft} exceeds hard limit ${hard} for ${type}` });
    }
  });
  const sched = obj(process.scheduler);
  const policy = sched.policy;
  if (typeof sched.priority === "number" && sched.priority !== 0 && policy !== "SCHED_FIFO" && policy !== "SCHED_RR") {
    out.push({ pointer: "/process/scheduler/priority", message: "scheduler.priority can only be specified for SCHED_FIFO or SCHED_RR policy" });
  }
  if (policy !== "SCHED_DEADLINE") {
    for (const key of ["runtime", "deadline", "period"]) {
      if (typeof sched[key] === "number" && sched[key] !== 0) {
        out.push({ pointer: `/process/scheduler/${key}`, message: "scheduler runtime/deadline/period can only be specified for SCHED_DEADLINE policy" });
      }
    }
  }
}

function checkMountRules(out: SpecIssue[], spec: Obj): void {
  list(spec.mounts).forEach((m, i) => {
    const mnt = obj(m);
    list(mnt.options).forEach((o, j) => {
      const why = typeof o === "string" ? checkMountOption(o) : undefined;
      if (why) out.push({ pointer: `/mounts/${i}/options/${j}`, message: why });
    });
    checkIdmapMount(out, mnt, { pointer: `/mounts/${i}`, linux: obj(spec.linux) });
  });
  checkProcDestinations(out, list(spec.mounts).map(obj));
}

// Idmapped mounts (config.md, and runc's rules): bind mounts only; uid and
// gid mappings together; "idmap"/"ridmap" without mappings take the
// container's user namespace, so there must be one.
function checkIdmapMount(out: SpecIssue[], mnt: Obj, opts: { pointer: string; linux: Obj }): void {
  const p = opts.pointer;
  const options = list(mnt.options);
  const uid = list(mnt.uidMappings).length > 0;
  const gid = list(mnt.gidMappings).length > 0;
  const option = options.findIndex((o) => o === "idmap" || o === "ridmap");
  if (!uid && !gid && option < 0) return;
  const bind = mnt.type === "bind" || options.some((o) => o === "bind" || o === "rbind");
  if (!bind) {
    out.push({ pointer: option >= 0 ? `${p}/options/${option}` : `${p}/${uid ? "uidMappings" : "gidMappings"}`, message: "idmapped mounts are only supported for bind mounts (options bind or rbind)" });
  }
  if (uid !== gid) {
    out.push({ pointer: `${p}/${uid ? "gidMappings" : "uidMappings"}`, message: "uidMappings and gidMappings must be given together" });
  }
  if (!uid && !gid && !namespacesOf(opts.linux).has("user")) {
    out.push({ pointer: `${p}/options/${option}`, message: "idmap without uidMappings and gidMappings uses the container's user namespace, but there is none" });
  }
  for (const key of ["uidMappings", "gidMappings"]) checkMappings(out, list(mnt[key]), `${p}/${key}`);
}

// Sizes above 0 and no two ranges overlapping on either side (the kernel
// refuses such a map with EINVAL, which would say much less).
function checkMappings(out: SpecIssue[], maps: unknown[], pointer: string): void {
  const ranges = maps.map(obj);
  ranges.forEach((m, i) => {
    if (m.size === 0) out.push({ pointer: `${pointer}/${i}/size`, message: "must be greater than 0" });
  });
  const overlap = (a: Obj, b: Obj, key: string) => {
    const [x, y, n, k] = [a[key], b[key], a.size, b.size];
    if (typeof x !== "number" || typeof y !== "number" || typeof n !== "number" || typeof k !== "number") return false;
    return x < y + k && y < x + n;
  };
  ranges.forEach((a, i) => {
    for (let j = 0; j < i; j++) {
      for (const key of ["containerID", "hostID"]) {
        if (overlap(a, ranges[j]!, key)) out.push({ pointer: `${pointer}/${i}`, message: `${key} range overlaps that of ${pointer}/${j}` });
      }
    }
  });
}

function checkLinuxRules(out: SpecIssue[], linux: Obj): void {
  list(linux.devices).forEach((d, i) => {
    const dev = obj(d);
    if (dev.type !== "c" && dev.type !== "b" && dev.type !== "u") return;
    for (const key of ["major", "minor"]) {
      if (dev[key] === undefined) out.push({ pointer: `/linux/devices/${i}/${key}`, message: `is required for device type ${JSON.stringify(dev.type)}` });
    }
  });
  const seccomp = obj(linux.seccomp);
  const notify =
    seccomp.defaultAction === "SCMP_ACT_NOTIFY" || list(seccomp.syscalls).some((s) => obj(s).action === "SCMP_ACT_NOTIFY");
  if (notify && seccomp.listenerPath === undefined) {
    out.push({ pointer: "/linux/seccomp/listenerPath", message: "is required when an action is SCMP_ACT_NOTIFY" });
  }
}
