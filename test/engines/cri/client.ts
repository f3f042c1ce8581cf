// A CRI client as the kubelet is one: gRPC (HTTP/2, protobuf) over the
// runtime's unix socket, the runtime.v1 RuntimeService and ImageService of
// ./runtime_v1.proto. @grpc/grpc-js and @grpc/proto-loader are test-only
// dependencies: nothing under src/ may import them.

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { join } from "node:path";

const PROTO = join(import.meta.dir, "runtime_v1.proto");

// Messages are plain objects with the proto's field names (keepCase);
// int64 as JS numbers (nanosecond times fit a double well enough to order
// and to tell zero from set), enums as their names, bytes as Buffers.
export type Msg = Record<string, any>;

type Unary = (req: Msg, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Msg) => void) => void;

export interface CriClient {
  runtime: (method: string, req: Msg, timeoutMs?: number) => Promise<Msg>;
  image: (method: string, req: Msg, timeoutMs?: number) => Promise<Msg>;
  close: () => void;
}

/** Connects to the CRI endpoint at `socket` (a unix socket path). */
export function criClient(socket: string): CriClient {
  const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const target = `unix://${socket}`;
  const creds = grpc.credentials.createInsecure();
  // the kubelet allows messages of up to 16 MiB; so do we
  const options = { "grpc.max_receive_message_length": 16 * 1024 * 1024 };
  const rt = new pkg.runtime.v1.RuntimeService(target, creds, options);
  const im = new pkg.runtime.v1.ImageService(target, creds, options);
  const call = (svc: any, method: string, req: Msg, timeoutMs = 60_000) =>
    new Promise<Msg>((resolve, reject) => {
      const fn = svc[method] as Unary | undefined;
      if (!fn) return reject(new Error(`cri: no method ${method} in runtime_v1.proto`));
      fn.call(svc, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(new Error(`cri ${method}: ${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`));
        else resolve(res);
      });
    });
  return {
    runtime: (m, req, t) => call(rt, m, req, t),
    image: (m, req, t) => call(im, m, req, t),
    close: () => {
      rt.close();
      im.close();
    },
  };
}
