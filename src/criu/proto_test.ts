import { expect, test } from "bun:test";
import { CRIU_REQ, CRIU_RESP, decode, encode } from "./proto";

test("a request encodes as protobuf's wire format (field numbers of criu's rpc.proto)", () => {
  // type=DUMP(1); opts{images_dir_fd=5, root="/r", ext_mnt{key="/a", val="/a"}}
  const bytes = encode({ type: 1, opts: { imagesDirFd: 5, root: "/r", extMnt: [{ key: "/a", val: "/a" }] } }, CRIU_REQ);
  const ext = [0xba, 0x01, 0x08, 0x0a, 0x02, 0x2f, 0x61, 0x12, 0x02, 0x2f, 0x61];
  const opts = [0x08, 0x05, 0x6a, 0x02, 0x2f, 0x72, ...ext];
  expect([...bytes]).toEqual([0x08, 0x01, 0x12, opts.length, ...opts]);
});

test("negative int32 is sign-extended to ten bytes", () => {
  const bytes = encode({ type: 1, opts: { imagesDirFd: -1 } }, CRIU_REQ);
  expect(bytes.length).toBe(2 + 2 + 11);
});

test("a response decodes, unknown fields skipped", () => {
  // type=NOTIFY(6), success=true, notify{script="post-restore", pid=42}, field 99 varint (unknown)
  const script = [...new TextEncoder().encode("post-restore")];
  const notify = [0x0a, script.length, ...script, 0x10, 42];
  const bytes = new Uint8Array([0x08, 0x06, 0x10, 0x01, 0x2a, notify.length, ...notify, 0x98, 0x06, 0x07]);
  expect(decode(bytes, CRIU_RESP)).toEqual({ type: 6, success: true, notify: { script: "post-restore", pid: 42 } });
});

test("round trip of repeated messages and a negative errno", () => {
  const resp = { type: 2, success: false, crErrno: -2, crErrmsg: "boom" };
  expect(decode(encode(resp, CRIU_RESP), CRIU_RESP)).toEqual(resp);
  const req = { type: 2, opts: { imagesDirFd: 3, inheritFd: [{ key: "pipe:[1]", fd: 0 }, { key: "pipe:[2]", fd: 1 }] } };
  expect(decode(encode(req, CRIU_REQ), CRIU_REQ)).toEqual(req);
});
