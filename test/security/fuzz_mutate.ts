// Seeded mutation of config.json documents for the fuzz test: a small
// PRNG (mulberry32, so a seed replays the same cases anywhere) and the
// mutations a hostile or broken config brings: wrong types, nulls, huge and
// negative numbers, long strings, control bytes, path tricks, deleted
// fields, duplicated entries, and text that is not JSON at all.

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** uniform in [0, 1) */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Number tokens JSON.stringify cannot write: they go into the text raw. */
export const RAW_NUMBERS = [
  "1e999", "-1e999", "-0", "0.5", "1.5e3", "18446744073709551616", "18446744073709551615", "9223372036854775808",
  "-9223372036854775809", "4294967296", "4294967295", "2147483648", "-2147483649", "-1", "0", "123456789012345678901234567890",
];

/**
 * Strings a mutation may put anywhere. Path tricks that would leave the
 * container point into `canary` (a directory the test watches), never at a
 * host file that matters; "/lnk-*" are symlinks the test puts in the rootfs.
 */
export function fuzzStrings(canary: string): string[] {
  return [
    "", ".", "..", "/", "//", "/..", "a/../../b", `../../../../../../..${canary}/x`, `/../../../../..${canary}/y`, `${canary}/z`,
    "/lnk-out/z", "/lnk-up/w", "/lnk-out", "/proc/self/..", "/proc/self/fd/0", "/dev/null", "rel/path", "\0", "a\0b",
    "\x1b[2J\x1b]0;t\x07", "line\nbreak", "\u202e", "\u009b31m", "x".repeat(5000), "y".repeat(70000), "é🙂", "-1", "1e999",
    "true", "null", "%s%n", "$(id)", "a=b", "=", "pid", "c", "rwm", "SCMP_ACT_ALLOW", "RLIMIT_NOFILE",
  ];
}

type Json = unknown;
type Path = (string | number)[];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every node below the root, as key paths. */
function nodes(v: Json, at: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(v)) v.forEach((e, i) => (out.push([...at, i]), nodes(e, [...at, i], out)));
  else if (isObj(v)) for (const [k, e] of Object.entries(v)) out.push([...at, k]), nodes(e, [...at, k], out);
  return out;
}

function parentOf(root: Json, path: Path): { parent: any; key: string | number } {
  let p: any = root;
  for (const k of path.slice(0, -1)) p = p[k];
  return { parent: p, key: path[path.length - 1]! };
}

/**
 * Most configs a type change breaks are refused by the first check; a
 * value of the same kind gets further (into compile, cgroups, skiff-init).
 */
function sameKindOp(v: unknown, rng: Rng): number {
  if (typeof v === "string") return rng.pick([5, 6]);
  if (typeof v === "number") return rng.pick([3, 4]);
  if (typeof v === "boolean") return 2;
  if (Array.isArray(v)) return rng.pick([0, 7, 8, 9]);
  return rng.pick([0, 7, 8]);
}

export interface Mutated {
  /** the config.json text */
  text: string;
  /** what was done, for the report of a failing case */
  steps: string[];
}

/** Apply 1 to maxSteps mutations to a copy of base and write it out (sometimes breaking the text itself). */
export function mutate(base: Json, rng: Rng, strings: readonly string[], maxSteps = 3): Mutated {
  const doc = structuredClone(base) as any;
  const steps: string[] = [];
  const raw: string[] = [];
  const count = 1 + rng.int(maxSteps);
  for (let i = 0; i < count; i++) {
    const all = nodes(doc);
    if (!all.length) break;
    const path = rng.pick(all);
    const { parent, key } = parentOf(doc, path);
    const where = `/${path.join("/")}`;
    const op = rng.chance(0.6) ? sameKindOp(parent[key], rng) : rng.int(11);
    switch (op) {
      case 0: // delete the field or entry
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
        steps.push(`delete ${where}`);
        break;
      case 1:
        parent[key] = null;
        steps.push(`null ${where}`);
        break;
      case 2: {
        const v = rng.pick([0, 1, "s", true, false, [], {}, [1, "a"], { a: 1 }, 2.5]);
        parent[key] = structuredClone(v);
        steps.push(`type ${where} = ${JSON.stringify(v)}`);
        break;
      }
      case 3: {
        const token = rng.pick(RAW_NUMBERS);
        parent[key] = `\u0001RAW${raw.length}\u0001`;
        raw.push(token);
        steps.push(`number ${where} = ${token}`);
        break;
      }
      case 4: {
        const v = rng.pick([-1, -2, -(2 ** 31), -(2 ** 53), 2 ** 53, 2 ** 32, 2 ** 31, 65536, 1e300]);
        parent[key] = v;
        steps.push(`number ${where} = ${v}`);
        break;
      }
      case 5:
      case 6: {
        const s = rng.pick(strings);
        parent[key] = s;
        steps.push(`string ${where} = ${JSON.stringify(s.length > 40 ? `${s.slice(0, 20)}...(${s.length})` : s)}`);
        break;
      }
      case 7: {
        // duplicate: an entry of an array, or an array's entries
        const target = parent[key];
        if (Array.isArray(target) && target.length) {
          target.push(structuredClone(rng.pick(target)));
          steps.push(`dup entry in ${where}`);
        } else if (Array.isArray(parent)) {
          parent.splice(key as number, 0, structuredClone(target));
          steps.push(`dup ${where}`);
        } else {
          parent[key] = [target, target];
          steps.push(`twice ${where}`);
        }
        break;
      }
      case 8: {
        // a new key or entry with a hostile name or value
        const target = parent[key];
        const name = rng.pick(strings);
        const value = rng.chance(0.5) ? rng.pick(strings) : rng.pick([0, -1, null, true, [], {}]);
        if (isObj(target)) target[name] = value;
        else if (Array.isArray(target)) target.push(value);
        else parent[key] = { [name]: value };
        steps.push(`add ${where}[${JSON.stringify(name.slice(0, 20))}]`);
        break;
      }
      case 9: {
        // long: a huge array of copies (bounded, so one case stays fast)
        const target = parent[key];
        const n = rng.pick([100, 1000]);
        parent[key] = Array.from({ length: n }, () => structuredClone(Array.isArray(target) ? (target[0] ?? "a") : target));
        steps.push(`array of ${n} at ${where}`);
        break;
      }
      default: {
        // swap an object and an array, or a value and its string form
        const target = parent[key];
        parent[key] = Array.isArray(target) ? Object.fromEntries(target.map((e, j) => [String(j), e])) : isObj(target) ? Object.values(target) : String(target);
        steps.push(`reshape ${where}`);
      }
    }
  }
  let text = JSON.stringify(doc);
  raw.forEach((token, i) => (text = text.replace(`"\\u0001RAW${i}\\u0001"`, token)));
  if (rng.chance(0.05)) {
    const at = rng.int(text.length + 1);
    const cut = rng.chance(0.5);
    const junk = rng.pick(["\x1b[31m", "\0", "\n", "}", "]", ",", "\"", "\u009b", "\ufeff"]);
    text = cut ? text.slice(0, at) : text.slice(0, at) + junk + text.slice(at);
    steps.push(cut ? `text cut at ${at}` : `text ${JSON.stringify(junk)} inserted at ${at}`);
  }
  return { text, steps };
}
