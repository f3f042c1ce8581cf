// The few messages of criu's RPC (images/rpc.proto, proto2) that skiff
// speaks, and a small protobuf codec for them: varints and length-delimited
// fields are all these messages use. A dependency for this would be larger
// than the codec.
export type Scalar = "int32" | "uint32" | "bool" | "string";
export interface Field {
  no: number;
  type: Scalar | Schema;
  repeated?: boolean;
}
export type Schema = { [name: string]: Field };
export type Message = { [name: string]: unknown };

const PAGE_SERVER: Schema = { address: { no: 1, type: "string" }, port: { no: 2, type: "int32" }, pid: { no: 3, type: "int32" }, fd: { no: 4, type: "int32" } };
const KEY_VAL: Schema = { key: { no: 1, type: "string" }, val: { no: 2, type: "string" } };
const INHERIT_FD: Schema = { key: { no: 1, type: "string" }, fd: { no: 2, type: "int32" } };
const CGROUP_ROOT: Schema = { ctrl: { no: 1, type: "string" }, path: { no: 2, type: "string" } };
const JOIN_NS: Schema = { ns: { no: 1, type: "string" }, nsFile: { no: 2, type: "string" }, extraOpt: { no: 3, type: "string" } };
const FEATURES: Schema = { memTrack: { no: 1, type: "bool" }, lazyPages: { no: 2, type: "bool" } };

export const CRIU_OPTS: Schema = {
  imagesDirFd: { no: 1, type: "int32" },
  pid: { no: 2, type: "int32" },
  leaveRunning: { no: 3, type: "bool" },
  extUnixSk: { no: 4, type: "bool" },
  tcpEstablished: { no: 5, type: "bool" },
  evasiveDevices: { no: 6, type: "bool" },
  shellJob: { no: 7, type: "bool" },
  fileLocks: { no: 8, type: "bool" },
  logLevel: { no: 9, type: "int32" },
  logFile: { no: 10, type: "string" },
  ps: { no: 11, type: PAGE_SERVER },
  notifyScripts: { no: 12, type: "bool" },
  root: { no: 13, type: "string" },
  parentImg: { no: 14, type: "string" },
  trackMem: { no: 15, type: "bool" },
  autoDedup: { no: 16, type: "bool" },
  workDirFd: { no: 17, type: "int32" },
  extMnt: { no: 23, type: KEY_VAL, repeated: true },
  manageCgroups: { no: 24, type: "bool" },
  cgRoot: { no: 25, type: CGROUP_ROOT, repeated: true },
  rstSibling: { no: 26, type: "bool" },
  inheritFd: { no: 27, type: INHERIT_FD, repeated: true },
  manageCgroupsMode: { no: 34, type: "uint32" },
  external: { no: 37, type: "string", repeated: true },
  emptyNs: { no: 38, type: "uint32" },
  joinNs: { no: 39, type: JOIN_NS, repeated: true },
  freezeCgroup: { no: 44, type: "string" },
  lazyPages: { no: 48, type: "bool" },
  statusFd: { no: 49, type: "int32" },
  orphanPtsMaster: { no: 50, type: "bool" },
  configFile: { no: 51, type: "string" },
  networkLock: { no: 64, type: "uint32" },
};

/** criu_network_lock_method */
export const NetworkLock = { IPTABLES: 1, NFTABLES: 2 } as const;

export const CRIU_REQ: Schema = {
  type: { no: 1, type: "uint32" },
  opts: { no: 2, type: CRIU_OPTS },
  notifySuccess: { no: 3, type: "bool" },
  features: { no: 5, type: FEATURES },
};

export const CRIU_RESP: Schema = {
  type: { no: 1, type: "uint32" },
  success: { no: 2, type: "bool" },
  dump: { no: 3, type: { restored: { no: 1, type: "bool" } } },
  restore: { no: 4, type: { pid: { no: 1, type: "int32" } } },
  notify: { no: 5, type: { script: { no: 1, type: "string" }, pid: { no: 2, type: "int32" } } },
  crErrno: { no: 7, type: "int32" },
  features: { no: 8, type: FEATURES },
  crErrmsg: { no: 9, type: "string" },
};

/** criu_req_type */
export const ReqType = { DUMP: 1, RESTORE: 2, PRE_DUMP: 4, NOTIFY: 6, FEATURE_CHECK: 9 } as const;
/** criu_cg_mode, by the names runc's --manage-cgroups-mode takes */
export const CG_MODES: Record<string, number> = { ignore: 0, props: 2, soft: 3, full: 4, strict: 5 };

function varint(out: number[], n: bigint): void {
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

export function encode(msg: Message, schema: Schema): Uint8Array {
  const out: number[] = [];
  for (const [name, f] of Object.entries(schema)) {
    const value = msg[name];
    if (value === undefined) continue;
    for (const v of f.repeated ? (value as unknown[]) : [value]) {
      if (typeof f.type === "object" || f.type === "string") {
        const bytes = typeof f.type === "object" ? encode(v as Message, f.type) : new TextEncoder().encode(v as string);
        varint(out, BigInt((f.no << 3) | 2));
        varint(out, BigInt(bytes.length));
        for (const b of bytes) out.push(b);
      } else {
        varint(out, BigInt(f.no << 3));
        // int32 is sign-extended to 64 bits on the wire, as protobuf says
        varint(out, f.type === "bool" ? (v ? 1n : 0n) : BigInt(v as number));
      }
    }
  }
  return new Uint8Array(out);
}

export function decode(bytes: Uint8Array, schema: Schema): Message {
  const byNo = new Map(Object.entries(schema).map(([name, f]) => [f.no, [name, f] as const]));
  const msg: Message = {};
  let at = 0;
  const readVarint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= bytes.length) throw new Error("decode criu message: truncated varint");
      const b = bytes[at++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (at < bytes.length) {
    const key = Number(readVarint());
    const wire = key & 7;
    const known = byNo.get(key >>> 3);
    let value: unknown;
    if (wire === 0) {
      const v = readVarint();
      const t = known?.[1].type;
      value = t === "bool" ? v !== 0n : t === "int32" ? Number(BigInt.asIntN(32, v)) : Number(BigInt.asUintN(32, v));
    } else if (wire === 2) {
      const len = Number(readVarint());
      const body = bytes.subarray(at, at + len);
      at += len;
      const t = known?.[1].type;
      value = typeof t === "object" ? decode(body, t) : new TextDecoder().decode(body);
    } else if (wire === 5) {
      at += 4;
    } else if (wire === 1) {
      at += 8;
    } else {
      throw new Error(`decode criu message: wire type ${wire} unsupported`);
    }
    if (!known) continue;
    const [name, f] = known;
    if (f.repeated) ((msg[name] ??= []) as unknown[]).push(value);
    else msg[name] = value;
  }
  return msg;
}
