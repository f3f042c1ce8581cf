// One request to criu, as runc makes it: `criu swrk 3` with one end of a
// SOCK_SEQPACKET pair as its fd 3, one protobuf request, then responses:
// notifications (answered "go on" after skiff has acted on them) until the
// final one. A failure is one line with criu's own reason, from its log.
import { existsSync, readFileSync } from "node:fs";
import { writeSync } from "node:fs";
import { SkiffError } from "../errors";
import { logDebug, logPhase } from "../util/log";
import { CRIU_REQ, CRIU_RESP, NetworkLock, ReqType, decode, encode, type Message } from "./proto";
import { closeFd, recvPacket, seqpacketPair } from "./sys";

export const DEFAULT_CRIU = "criu";

export interface SwrkRequest {
  criu: string;
  /** "checkpoint container c1": the start of every error line */
  what: string;
  req: Message;
  /** where criu writes its log (work dir + log_file), read for the reason of a failure */
  logPath?: string;
  /** the log outlives a failure (not in a state directory that is removed): name it in the error */
  logKept?: boolean;
  /** fds criu gets as 4, 5, ... (namespaces restore joins, named in inherit_fd) */
  extraFds?: number[];
  /** criu gets skiff's stdio (restore: the stdio pipes it hands on); else /dev/null, as runc */
  stdio?: boolean;
  /** after criu started, before the request: restore puts criu in the container's cgroups */
  started?(criuPid: number, req: Message): void;
  /** a notification criu waits on (script name, pid, fds that came with it) */
  notify?(script: string, pid: number, fds: number[]): void;
}

/** The final response. Throws SkiffError with criu's reason. */
export async function criuRequest(r: SwrkRequest): Promise<Message> {
  const [ours, theirs] = seqpacketPair();
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn([r.criu, "swrk", "3"], {
      stdio: [...(r.stdio ? ["inherit", "inherit", "inherit"] : ["ignore", "ignore", "ignore"]), theirs, ...(r.extraFds ?? [])] as never,
    });
  } catch (e) {
    closeFd(ours);
    closeFd(theirs);
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "not found (install criu, or name it with --criu)" : ((e as Error).message ?? String(e));
    throw new SkiffError(`${r.what}: criu ${r.criu}: ${why}`);
  }
  // criu alone holds its end now: if it dies, our reads see the end.
  closeFd(theirs);
  logPhase("criu started");
  let final: Message | undefined;
  let failure: string | undefined;
  try {
    r.started?.(proc.pid, r.req);
    send(ours, r.req);
    for (;;) {
      const { data, fds } = recvPacket(ours);
      if (data.length === 0) {
        failure = "criu exited without an answer";
        break;
      }
      const resp = decode(data, CRIU_RESP);
      if (!resp.success) {
        failure = (resp.crErrmsg as string | undefined) || `criu failed (errno ${resp.crErrno ?? 0})`;
        for (const fd of fds) closeFd(fd);
        break;
      }
      if (resp.type === ReqType.NOTIFY) {
        const n = (resp.notify ?? {}) as { script?: string; pid?: number };
        logDebug(`criu notify ${n.script} pid ${n.pid ?? 0}`);
        try {
          r.notify?.(n.script ?? "", n.pid ?? 0, fds);
        } catch (e) {
          // criu learns of it by the missing answer and undoes its work
          failure = (e as Error).message;
          break;
        }
        send(ours, { type: ReqType.NOTIFY, notifySuccess: true });
        continue;
      }
      final = resp;
      logPhase("criu answered");
      break;
    }
  } finally {
    // Closing our end ends a pre-dump's criu (it would wait for the next request).
    closeFd(ours);
  }
  const status = await proc.exited;
  logPhase("criu exited");
  // A crash is its own reason (criu 3.17 dies of SIGSEGV on an RPC config_file).
  if (proc.signalCode && r.req.type !== ReqType.PRE_DUMP) return fail(r, `criu was killed by ${proc.signalCode}`);
  if (final && status !== 0 && r.req.type !== ReqType.PRE_DUMP) failure = `criu exited with status ${status}`;
  if (failure !== undefined || !final) return fail(r, logReason(r.logPath) ?? failure ?? "criu failed");
  return final;
}

function fail(r: SwrkRequest, reason: string): never {
  throw new SkiffError(`${r.what}: ${reason}${r.logPath && r.logKept !== false ? ` (log: ${r.logPath})` : ""}`);
}

function send(fd: number, msg: Message): void {
  const bytes = encode(msg, CRIU_REQ);
  if (writeSync(fd, bytes) !== bytes.length) throw new SkiffError("send request to criu: short write");
}

// Errors criu logs while it probes the kernel and goes on without the
// feature (no tun, no veth), and the bare exit status of a helper it ran
// (its own message comes on the next lines): never the cause.
const NOT_THE_CAUSE = [/^tun: /, /^Unable to create a veth pair/, /^-?\d+ reported by netlink/, /^exited, status=\d+$/];

/**
 * criu's first telling error in its log ("Error (criu/vdso.c:381): vdso:
 * Unexpected rt vDSO area bounds" becomes "criu: vdso: Unexpected rt vDSO
 * area bounds"): the first is the cause, later ones are its consequences.
 */
export function logReason(path: string | undefined): string | undefined {
  if (!path || !existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  for (const m of text.matchAll(/Error \([^)]*\): (.*)$/gm)) {
    const msg = m[1]!.trim();
    if (!NOT_THE_CAUSE.some((re) => re.test(msg))) return `criu: ${msg}`;
  }
  return undefined;
}

/**
 * The criu configuration file for this container, as runc chooses it: the
 * annotation org.criu.config (an empty value: none), else
 * /etc/criu/runc.conf when present, so one host setting (say
 * "network-lock nftables") serves both runtimes.
 */
export function criuConfigFile(annotations: Record<string, string> | undefined): string | undefined {
  const chosen = annotations?.["org.criu.config"];
  if (chosen !== undefined) return chosen || undefined;
  return existsSync("/etc/criu/runc.conf") ? "/etc/criu/runc.conf" : undefined;
}

/**
 * How criu locks the network while it works: its default, iptables, runs
 * iptables-restore; where that is not installed criu would fail, so skiff
 * asks for nftables (criu's own library, the nf_tables module) instead.
 */
export function networkLock(): number | undefined {
  return Bun.which("iptables-restore", { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" }) ? undefined : NetworkLock.NFTABLES;
}
