// An overlay mount's layer directories (lowerdir, upperdir, workdir, and
// the lowerdir+/datadir+ of newer kernels) are paths that the kernel
// resolves against the working directory of whoever calls mount: a
// relative one would resolve against wherever skiff-init happens to be
// (before this rewrite: the host's procfs, so `lowerdir=self/root/etc:...`
// showed the host's /etc). skiff makes them absolute in the plan, against
// the bundle, as the spec does for a relative bind `source` and as crun
// (which runs from the bundle) resolves them. runc 1.1/1.2 resolve them
// against the rootfs directory on the host, following the image's symlinks
// there (docs/security.md); skiff deliberately does not.
import { SpecError } from "../errors";

/** Option keys whose values are overlay layer paths; lowerdir takes a ':' list. */
const LIST_KEYS = new Set(["lowerdir"]);
const PATH_KEYS = new Set(["lowerdir", "upperdir", "workdir", "lowerdir+", "datadir+"]);

/**
 * The overlay mount's options with every relative layer directory made
 * absolute against bundle. pointer names the options ("/mounts/3/options").
 */
export function absoluteOverlayOptions(options: readonly string[], opts: { bundle: string; pointer: string }): string[] {
  // One option may hold several items ("ro,lowerdir=a:b"): the kernel splits
  // the data on every ',' that no backslash escapes, so this does too.
  return options.map((option, i) => splitUnescaped(option, ",").map((item) => absoluteItem(item, { ...opts, pointer: `${opts.pointer}/${i}` })).join(","));
}

function absoluteItem(item: string, opts: { bundle: string; pointer: string }): string {
  const eq = item.indexOf("=");
  const key = eq < 0 ? "" : item.slice(0, eq);
  if (!PATH_KEYS.has(key)) return item;
  const value = item.slice(eq + 1);
  const parts = LIST_KEYS.has(key) ? splitUnescaped(value, ":") : [value];
  if (!parts.some(isRelative)) return item;
  // The bundle's path goes into the option text unescaped: a ':' would
  // split a lowerdir, a ',' the mount data, a '\' would escape.
  if (/[:,\\]/.test(opts.bundle)) {
    throw new SpecError("config.json", [{
      pointer: opts.pointer,
      message: `resolve overlay ${key} against the bundle: the bundle's path ${JSON.stringify(opts.bundle)} holds ':', ',' or '\\'`,
    }]);
  }
  return `${key}=${parts.map((p) => (isRelative(p) ? `${opts.bundle}/${p}` : p)).join(":")}`;
}

/** Empty parts are the "::" before data-only layers; they stay as they are. */
function isRelative(part: string): boolean {
  return part !== "" && !part.startsWith("/");
}

/** Split on sep where no backslash escapes it (the escapes stay: the kernel reads them). */
export function splitUnescaped(value: string, sep: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\" && i + 1 < value.length) {
      current += c + value[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}
