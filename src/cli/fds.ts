// Which fds beyond stdio reach the container: the socket-activation fds
// first (LISTEN_FDS, when LISTEN_PID is ours), then --preserve-fds N, as runc
// does. The container's process is told of the former with LISTEN_FDS=n and
// LISTEN_PID=1 (it is pid 1 of its namespace, or the process exec'd).

/** How many fds socket activation handed to this skiff process. */
export function listenFds(): number {
  const listen = Number(process.env.LISTEN_FDS ?? 0);
  const forUs = process.env.LISTEN_PID === String(process.pid);
  return forUs && Number.isInteger(listen) && listen > 0 ? listen : 0;
}

export function preservedFds(preserve: number): number {
  return preserve + listenFds();
}

/** The env entries that tell the container about activation fds. */
export function listenEnv(): string[] {
  const n = listenFds();
  return n > 0 ? [`LISTEN_FDS=${n}`, "LISTEN_PID=1"] : [];
}
