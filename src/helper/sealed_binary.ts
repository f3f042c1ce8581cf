// A private, sealed in-memory copy of skiff-init to execute (CVE-2019-5736).
//
// The process skiff-init becomes enters the container. Were it executed
// from the file on disk, /proc/PID/exe of anything in the container that
// re-executes it (a script with "#!/proc/self/exe" run by `exec`, say) would
// name that host file, and root in the container could reopen it for
// writing once it is no longer busy and replace the binary every later
// command runs as root on the host. Executed from a memfd, /proc/PID/exe
// names the memfd: sealed against write, shrink and grow (and against
// removing those seals), and made anew by every command, so there is
// nothing the container can change, and nothing on disk it can reach.
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { HelperError, describeErrno } from "../errors";
import {
  F_ADD_SEALS,
  F_DUPFD_CLOEXEC,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_EXEC,
  fcntl,
  memfdCreate,
  sendfile,
} from "../util/libc";

export const SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

/**
 * Copies the executable at path into a new sealed memfd and returns its fd
 * (close-on-exec, numbered at least minFd). Execute it as /proc/self/fd/N:
 * execve opens the file before close-on-exec closes N, so the child gets no
 * fd of it, only its mapping.
 */
export function sealedCopy(path: string, opts: { minFd: number }): number {
  // MFD_EXEC says we mean to execute it; kernels before 6.3 reject the flag.
  let memfd = memfdCreate("skiff-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (memfd < 0 && memfdNoexec() === "2") {
    // Never fall back to the file on disk: that is the hole this closes.
    throw new HelperError("create memfd for skiff-init: refused by vm.memfd_noexec=2 (skiff-init must run from an executable memfd)");
  }
  if (memfd < 0) memfd = memfdCreate("skiff-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (memfd < 0) throw new HelperError("create memfd for skiff-init: memfd_create failed");
  try {
    copyInto(memfd, path);
    if (fcntl(memfd, F_ADD_SEALS, SEALS) !== 0) throw new HelperError(`seal memfd copy of ${path}: fcntl F_ADD_SEALS failed`);
    if (memfd >= opts.minFd) return memfd;
    // The child's stdio and passed fds take the low numbers: a memfd among
    // them would be replaced before execve opens /proc/self/fd/N.
    const high = fcntl(memfd, F_DUPFD_CLOEXEC, opts.minFd);
    if (high < 0) throw new HelperError("move memfd for skiff-init: fcntl F_DUPFD_CLOEXEC failed");
    closeSync(memfd);
    return high;
  } catch (e) {
    closeSync(memfd);
    throw e;
  }
}

/** The sysctl that can forbid executable memfds (Linux 6.3+), or "" without it. */
function memfdNoexec(): string {
  try {
    return readFileSync("/proc/sys/vm/memfd_noexec", "utf8").trim();
  } catch {
    return "";
  }
}

/** In-kernel copy (sendfile): no pass through JavaScript memory. */
function copyInto(memfd: number, path: string): void {
  let src: number;
  try {
    src = openSync(path, "r");
  } catch (e) {
    throw new HelperError(`open ${path}: ${describeErrno(e)}`);
  }
  try {
    const size = fstatSync(src).size;
    for (let done = 0; done < size; ) {
      const n = sendfile(memfd, src, size - done);
      if (n <= 0) throw new HelperError(`copy ${path} into a memfd: sendfile failed after ${done} of ${size} bytes`);
      done += n;
    }
  } finally {
    closeSync(src);
  }
}
