// One error hierarchy for the whole runtime. The CLI prints `message` as one
// line; every subclass puts the root cause and its origin into that line.

export class SkiffError extends Error {
  override name = "SkiffError";
}

/** Bad command line: flag, argument count, unknown command. */
export class UsageError extends SkiffError {
  override name = "UsageError";
}

/** One problem found in config.json, located by a JSON pointer. */
export interface SpecIssue {
  pointer: string; // e.g. "/linux/namespaces/2"
  message: string; // e.g. "duplicate namespace type \"pid\""
}

/** config.json is unreadable or invalid; lists every issue found. */
export class SpecError extends SkiffError {
  override name = "SpecError";
  constructor(
    readonly file: string,
    readonly issues: SpecIssue[],
  ) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    // An issue without a pointer (unreadable file, bad JSON) says it all.
    const head = !first ? `invalid ${file}` : first.pointer ? `invalid ${file}: ${first.pointer}: ${first.message}` : first.message;
    super(head + more);
  }
}

/** A container is missing, exists already, or is in the wrong state. */
export class StateError extends SkiffError {
  override name = "StateError";
}

/** A syscall or file operation failed on the host. */
export class SystemError extends SkiffError {
  override name = "SystemError";
  constructor(
    readonly action: string,
    readonly cause_: string,
    readonly path?: string,
  ) {
    super(`${action}${path ? ` ${path}` : ""}: ${cause_}`);
  }
}

/** skiff-init reported a failed op; `origin` is the op's JSON pointer. */
export class HelperError extends SkiffError {
  override name = "HelperError";
}

/** A lifecycle hook failed or timed out. */
export class HookError extends SkiffError {
  override name = "HookError";
}

/** Turn a Node-style errno error into a short lowercase cause. */
export function describeErrno(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === "string") {
    return ERRNO_TEXT[err.code] ?? err.code.toLowerCase();
  }
  return err instanceof Error ? err.message : String(e);
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  EEXIST: "file exists",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  EINVAL: "invalid argument",
  EBUSY: "device or resource busy",
  ESRCH: "no such process",
  ENOSPC: "no space left on device",
  ELOOP: "too many levels of symbolic links",
  ENOEXEC: "exec format error",
  ENAMETOOLONG: "file name too long",
  ENODEV: "no such device",
  ENXIO: "no such device or address",
  ERANGE: "numerical result out of range",
  EOVERFLOW: "value too large for defined data type",
  E2BIG: "argument list too long",
  ENOTEMPTY: "directory not empty",
  EROFS: "read-only file system",
  ENOMEM: "cannot allocate memory",
  ENOTSUP: "operation not supported",
  EOPNOTSUPP: "operation not supported",
  EAGAIN: "resource temporarily unavailable",
  ETXTBSY: "text file busy",
};
