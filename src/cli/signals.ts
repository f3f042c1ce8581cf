// Signals an attached `run` or `exec` passes on to the container's process,
// as runc does: every one a process may catch, except those a JavaScript
// runtime must keep (faults, SIGCHLD) and the few Bun cannot send. With a
// terminal, SIGWINCH is not passed on: skiff-init's parent stage gets it
// too and resizes the pty, and the kernel tells the container.
export const FORWARDED_SIGNALS = [
  "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGCONT",
  "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGWINCH",
] as const satisfies readonly NodeJS.Signals[];

export interface SignalForwarder {
  /** from now on signals go to pid; those that came before are sent now */
  start(pid: number, opts: { terminal: boolean }): void;
}

/**
 * Install the handlers at once, so that a signal that comes while the
 * process starts cannot kill skiff and leave the process behind.
 */
export function forwardSignals(): SignalForwarder {
  let target = 0;
  let terminal = false;
  const pending: NodeJS.Signals[] = [];
  const forward = (sig: NodeJS.Signals) => {
    if (!target) return void pending.push(sig);
    if (terminal && sig === "SIGWINCH") return;
    try {
      process.kill(target, sig);
    } catch {
      // already gone: the exit status is on its way
    }
  };
  for (const sig of FORWARDED_SIGNALS) process.on(sig, forward);
  return {
    start(pid, opts) {
      target = pid;
      terminal = opts.terminal;
      for (const sig of pending.splice(0)) forward(sig);
    },
  };
}
