// Which fds beyond stdio reach the container: --preserve-fds N, plus
// LISTEN_FDS for socket activation when LISTEN_PID is ours (as runc does).
export function preservedFds(preserve: number): number {
  const listen = Number(process.env.LISTEN_FDS ?? 0);
  const forUs = process.env.LISTEN_PID === String(process.pid);
  return preserve + (forUs && Number.isInteger(listen) && listen > 0 ? listen : 0);
}
