// process.terminal and --console-socket: the combinations runc accepts, with
// runc's reasons (its checkTerminal) in skiff's words.
import { resolve } from "node:path";
import { UsageError } from "../errors";

/**
 * detach: create, run -d, exec -d. Returns the console socket's absolute
 * path (runc makes it absolute too), or undefined.
 */
export function checkTerminal(opts: { terminal: boolean; detach: boolean; consoleSocket?: string }): string | undefined {
  const socket = opts.consoleSocket || undefined; // "" is no socket, as in runc
  if (opts.detach && opts.terminal && !socket) {
    throw new UsageError("cannot allocate tty if skiff will detach without setting console socket");
  }
  if (socket && (!opts.detach || !opts.terminal)) {
    throw new UsageError("cannot use console socket if skiff will not detach or allocate tty");
  }
  return socket && resolve(socket);
}
