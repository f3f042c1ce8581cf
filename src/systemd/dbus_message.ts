// D-Bus messages: the fixed header, the header fields a(yv), padding to 8,
// the body. Encoding and decoding only; the connection is dbus_conn.ts.
import { DbusWireError, Reader, Writer, variant, type DbusValue, type Variant } from "./dbus_wire";

export const enum MessageType {
  MethodCall = 1,
  MethodReturn = 2,
  Error = 3,
  Signal = 4,
}

export const FLAG_NO_REPLY_EXPECTED = 0x1;

export interface Message {
  type: MessageType;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  /** the body's signature ("" = no body) */
  signature: string;
  body: DbusValue[];
}

// Header field codes and the type each one's variant holds.
const FIELDS: [keyof Message, number, string][] = [
  ["path", 1, "o"],
  ["interface", 2, "s"],
  ["member", 3, "s"],
  ["errorName", 4, "s"],
  ["replySerial", 5, "u"],
  ["destination", 6, "s"],
  ["sender", 7, "s"],
];
const SIGNATURE_FIELD = 8;

export function encodeMessage(m: Message): Uint8Array {
  const body = new Writer();
  body.writeAll(m.signature, m.body);
  const fields: DbusValue[] = [];
  for (const [key, code, sig] of FIELDS) {
    const v = m[key];
    if (v !== undefined) fields.push([code, variant(sig, v as DbusValue)]);
  }
  if (m.signature) fields.push([SIGNATURE_FIELD, variant("g", m.signature)]);
  const w = new Writer();
  w.u8(0x6c); // 'l': little-endian
  w.u8(m.type);
  w.u8(m.flags);
  w.u8(1); // protocol version
  w.u32(body.length);
  w.u32(m.serial);
  w.write("a(yv)", fields);
  w.align(8);
  w.bytes(body.finish());
  return w.finish();
}

/** Bytes of the whole message that starts `buf`, or 0 if `buf` holds less than its fixed part. */
export function messageLength(buf: Uint8Array): number {
  if (buf.length < 16) return 0;
  if (buf[0] !== 0x6c) throw new DbusWireError(`d-bus: big-endian or corrupt message (first byte ${buf[0]})`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bodyLen = view.getUint32(4, true);
  const fieldsLen = view.getUint32(12, true);
  const headerEnd = 16 + fieldsLen;
  return headerEnd + ((8 - (headerEnd % 8)) % 8) + bodyLen;
}

export function decodeMessage(buf: Uint8Array): Message {
  const r = new Reader(buf);
  r.u8(); // endianness, checked by messageLength
  const type = r.u8() as MessageType;
  const flags = r.u8();
  const version = r.u8();
  if (version !== 1) throw new DbusWireError(`d-bus: protocol version ${version}`);
  const bodyLen = r.u32();
  const serial = r.u32();
  const m: Message = { type, flags, serial, signature: "", body: [] };
  for (const f of r.read("a(yv)") as [number, Variant][]) {
    const [code, v] = f;
    if (code === SIGNATURE_FIELD) m.signature = v.value as string;
    const known = FIELDS.find(([, c]) => c === code);
    if (known) (m as unknown as Record<string, unknown>)[known[0]] = v.value;
  }
  r.align(8);
  const bodyBytes = buf.subarray(r.at, r.at + bodyLen);
  if (bodyBytes.length !== bodyLen) throw new DbusWireError("d-bus: message body truncated");
  m.body = new Reader(bodyBytes).readAll(m.signature);
  return m;
}
