// D-Bus wire format: marshalling of values by signature, little-endian,
// each value aligned to its type's boundary counted from the message start
// (the D-Bus specification, "Message Protocol -> Marshaling").
//
// Values in JavaScript:
//   y n q i u h d -> number      x t -> bigint       b -> boolean
//   s o g -> string              a -> array ("a{kv}": array of [k, v])
//   (..) -> array of members     v -> Variant { sig, value }
import { SkiffError } from "../errors";

export interface Variant {
  sig: string;
  value: DbusValue;
}
export type DbusValue = number | bigint | boolean | string | Variant | DbusValue[];

export function variant(sig: string, value: DbusValue): Variant {
  return { sig, value };
}

export class DbusWireError extends SkiffError {
  override name = "DbusWireError";
}

const FIXED: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, h: 4, x: 8, t: 8, d: 8, s: 4, o: 4, g: 1, v: 1, a: 4, "(": 8, "{": 8 };

export function alignmentOf(sig: string): number {
  const a = FIXED[sig[0]!];
  if (!a) throw new DbusWireError(`d-bus signature ${JSON.stringify(sig)}: unknown type code ${JSON.stringify(sig[0])}`);
  return a;
}

/** Length of the first complete type of `sig` starting at `at`. */
function typeEnd(sig: string, at: number): number {
  const c = sig[at];
  if (c === undefined) throw new DbusWireError(`d-bus signature ${JSON.stringify(sig)}: ends inside a type`);
  if (c === "a") return typeEnd(sig, at + 1);
  if (c === "(" || c === "{") {
    const close = c === "(" ? ")" : "}";
    let i = at + 1;
    while (sig[i] !== close) {
      if (i >= sig.length) throw new DbusWireError(`d-bus signature ${JSON.stringify(sig)}: unclosed ${c}`);
      i = typeEnd(sig, i);
    }
    return i + 1;
  }
  alignmentOf(c);
  return at + 1;
}

/** Split a signature into its complete types: "sa(sv)" -> ["s", "a(sv)"]. */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < sig.length; ) {
    const end = typeEnd(sig, i);
    out.push(sig.slice(i, end));
    i = end;
  }
  return out;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private grow(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.grow(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  bytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  u8(v: number): void {
    this.grow(1);
    this.buf[this.length++] = v;
  }

  u32(v: number): void {
    this.align(4);
    this.grow(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }

  setU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }

  /** One value of the complete type `sig`. */
  write(sig: string, v: DbusValue): void {
    const c = sig[0]!;
    const bad = (): never => {
      throw new DbusWireError(`d-bus marshal ${sig}: ${JSON.stringify(typeof v === "bigint" ? String(v) : v)} is not of that type`);
    };
    switch (c) {
      case "y":
        if (typeof v !== "number") bad();
        return this.u8(v as number);
      case "b":
        if (typeof v !== "boolean") bad();
        return this.u32(v ? 1 : 0);
      case "n":
      case "q":
        if (typeof v !== "number") bad();
        this.align(2);
        this.grow(2);
        if (c === "n") this.view.setInt16(this.length, v as number, true);
        else this.view.setUint16(this.length, v as number, true);
        this.length += 2;
        return;
      case "i":
      case "u":
      case "h":
        if (typeof v !== "number") bad();
        this.align(4);
        this.grow(4);
        if (c === "i") this.view.setInt32(this.length, v as number, true);
        else this.view.setUint32(this.length, v as number, true);
        this.length += 4;
        return;
      case "x":
      case "t":
        if (typeof v !== "bigint") bad();
        this.align(8);
        this.grow(8);
        if (c === "x") this.view.setBigInt64(this.length, v as bigint, true);
        else this.view.setBigUint64(this.length, v as bigint, true);
        this.length += 8;
        return;
      case "d":
        if (typeof v !== "number") bad();
        this.align(8);
        this.grow(8);
        this.view.setFloat64(this.length, v as number, true);
        this.length += 8;
        return;
      case "s":
      case "o": {
        if (typeof v !== "string") bad();
        const b = utf8.encode(v as string);
        this.u32(b.length);
        this.bytes(b);
        return this.u8(0);
      }
      case "g": {
        if (typeof v !== "string") bad();
        splitSignature(v as string); // refuse a malformed one here, not at the peer
        const b = utf8.encode(v as string);
        this.u8(b.length);
        this.bytes(b);
        return this.u8(0);
      }
      case "v": {
        const vv = v as Variant;
        if (typeof vv !== "object" || Array.isArray(vv) || typeof vv.sig !== "string") bad();
        if (splitSignature(vv.sig).length !== 1) throw new DbusWireError(`d-bus marshal v: ${JSON.stringify(vv.sig)} is not one complete type`);
        this.write("g", vv.sig);
        return this.write(vv.sig, vv.value);
      }
      case "a": {
        if (!Array.isArray(v)) bad();
        const elem = sig.slice(1);
        this.u32(0);
        const lenAt = this.length - 4;
        // The length counts the elements only, not the padding before the first.
        this.align(alignmentOf(elem));
        const start = this.length;
        for (const e of v as DbusValue[]) this.write(elem, e);
        this.setU32(lenAt, this.length - start);
        return;
      }
      case "(":
      case "{": {
        if (!Array.isArray(v)) bad();
        const members = splitSignature(sig.slice(1, -1));
        const arr = v as DbusValue[];
        if (arr.length !== members.length) throw new DbusWireError(`d-bus marshal ${sig}: ${arr.length} members given, ${members.length} expected`);
        this.align(8);
        members.forEach((m, i) => this.write(m, arr[i]!));
        return;
      }
    }
    throw new DbusWireError(`d-bus marshal: unknown type ${JSON.stringify(sig)}`);
  }

  /** Values for a whole signature (a message body). */
  writeAll(sig: string, values: DbusValue[]): void {
    const types = splitSignature(sig);
    if (types.length !== values.length) throw new DbusWireError(`d-bus marshal ${sig}: ${values.length} values given, ${types.length} expected`);
    types.forEach((t, i) => this.write(t, values[i]!));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export class Reader {
  private view: DataView;
  /** `buf` must start at a message start or an 8-aligned offset in it (the body does): alignment counts from there. */
  constructor(
    private buf: Uint8Array,
    public at = 0,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new DbusWireError(`d-bus unmarshal: message truncated at byte ${this.at} (need ${n} more)`);
  }

  align(n: number): void {
    const pad = (n - (this.at % n)) % n;
    this.need(pad);
    this.at += pad;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }

  u32(): number {
    this.align(4);
    this.need(4);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }

  read(sig: string): DbusValue {
    const c = sig[0]!;
    switch (c) {
      case "y":
        return this.u8();
      case "b": {
        const v = this.u32();
        if (v > 1) throw new DbusWireError(`d-bus unmarshal: boolean ${v} at byte ${this.at - 4}`);
        return v === 1;
      }
      case "n":
      case "q": {
        this.align(2);
        this.need(2);
        const v = c === "n" ? this.view.getInt16(this.at, true) : this.view.getUint16(this.at, true);
        this.at += 2;
        return v;
      }
      case "i":
      case "u":
      case "h": {
        this.align(4);
        this.need(4);
        const v = c === "i" ? this.view.getInt32(this.at, true) : this.view.getUint32(this.at, true);
        this.at += 4;
        return v;
      }
      case "x":
      case "t":
      case "d": {
        this.align(8);
        this.need(8);
        const v = c === "x" ? this.view.getBigInt64(this.at, true) : c === "t" ? this.view.getBigUint64(this.at, true) : this.view.getFloat64(this.at, true);
        this.at += 8;
        return v;
      }
      case "s":
      case "o":
      case "g": {
        const len = c === "g" ? this.u8() : this.u32();
        this.need(len + 1);
        const s = fromUtf8.decode(this.buf.subarray(this.at, this.at + len));
        this.at += len + 1;
        return s;
      }
      case "v": {
        const vs = this.read("g") as string;
        if (splitSignature(vs).length !== 1) throw new DbusWireError(`d-bus unmarshal: variant signature ${JSON.stringify(vs)} is not one complete type`);
        return { sig: vs, value: this.read(vs) };
      }
      case "a": {
        const len = this.u32();
        const elem = sig.slice(1);
        this.align(alignmentOf(elem));
        const end = this.at + len;
        this.need(len);
        const out: DbusValue[] = [];
        while (this.at < end) out.push(this.read(elem));
        if (this.at !== end) throw new DbusWireError(`d-bus unmarshal ${sig}: elements overrun the array length`);
        return out;
      }
      case "(":
      case "{":
        this.align(8);
        return splitSignature(sig.slice(1, -1)).map((m) => this.read(m));
    }
    throw new DbusWireError(`d-bus unmarshal: unknown type ${JSON.stringify(sig)}`);
  }

  readAll(sig: string): DbusValue[] {
    return splitSignature(sig).map((t) => this.read(t));
  }
}

export function marshal(sig: string, values: DbusValue[]): Uint8Array {
  const w = new Writer();
  w.writeAll(sig, values);
  return w.finish();
}

export function unmarshal(sig: string, bytes: Uint8Array): DbusValue[] {
  return new Reader(bytes).readAll(sig);
}
