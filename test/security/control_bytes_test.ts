// A config.json (or an exec --process file) is hostile input. Its bytes
// reach the terminal through error messages: the JSON parser quotes the
// token it stopped at, and validation names keys in JSON pointers. Escape
// sequences in them must arrive escaped (\x1b), never raw, and a newline
// must not split the one line of the error.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseConfig, cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { forceDelete, leftovers, skiff, uniqueId } from "../integration/skiff";
import { needRoot, skipWhy } from "../skip";
import { expectOneLine } from "./one_line";

afterAll(() => cleanupTempDirs());

const CLEAR = "\x1b[2J\x1b[H"; // clear the screen, cursor home
const TITLE = "\x1b]0;pwned\x07"; // set the window title
const CSI = "\u009b31m"; // an 8-bit CSI
const RTL = "\u202e"; // right-to-left override

// Each text is what config.json holds; each fragment must show escaped in the message.
const BROKEN: [string, string, string[]][] = [
  ["a raw escape as a JSON token", `{"ociVersion": ${CLEAR}}`, ["\\x1b"]],
  ["a title sequence inside an unterminated string", `{"ociVersion": "1.0.2${TITLE}`, []],
  ["an 8-bit CSI as a token", `{"ociVersion": ${CSI}}`, ["\\x9b"]],
  ["a right-to-left override as a token", `{"ociVersion": ${RTL}1}`, ["\\u202e"]],
  ["a newline and NUL as tokens", `{"ociVersion": \n\0}`, []],
];

function configWith(mutate: (s: any) => void): string {
  const s: any = baseConfig();
  s.process.terminal = false;
  mutate(s);
  return JSON.stringify(s);
}

// Valid JSON whose keys carry the bytes: validation names them in a pointer.
const INVALID: [string, string, string[]][] = [
  ["a sysctl key with escapes and a bad value", configWith((s) => (s.linux.sysctl = { [`kernel.${CLEAR}x`]: 5 })), ["/linux/sysctl/kernel.\\x1b[2J\\x1b[Hx", "must be a string"]],
  ["an unknown capability with a title sequence", configWith((s) => s.process.capabilities.bounding.push(`CAP_${TITLE}`)), ["unknown capability", "\\u001b]0;pwned\\u0007"]],
  ["a hook path with a newline", configWith((s) => (s.hooks = { prestart: [{ path: `rel\n${CLEAR}` }] })), ["/hooks/prestart/0/path"]],
];

describe("control bytes from config.json reach the terminal escaped", () => {
  const root = tempDir("skiff-sec-ctl-root-");
  for (const [name, text, want] of [...BROKEN, ...INVALID]) {
    test(name, () => {
      const bundle = makeBundle({ args: ["/probe", "true"] });
      writeFileSync(join(bundle, "config.json"), text);
      const id = uniqueId("sec-ctl");
      for (const cmd of [["plan", bundle], ["create", "-b", bundle, id], ["run", "-b", bundle, id]]) {
        const line = expectOneLine(skiff(cmd, { root }));
        expect(line).toContain(`${bundle}/config.json`);
        for (const w of want) expect(line).toContain(w);
      }
      expect(leftovers(root, id, bundle)).toEqual([]);
    });
  }
});

describe.skipIf(skipWhy("exec --process with control bytes", needRoot()))("control bytes from an exec --process file reach the terminal escaped", () => {
  test("broken and invalid process.json files", () => {
    const root = tempDir("skiff-sec-ctl-exec-");
    const bundle = makeBundle({ args: ["/probe", "sleep", "30"] });
    const id = uniqueId("sec-ctl-exec");
    try {
      expect(skiff(["run", "-d", "-b", bundle, id], { root }).code).toBe(0);
      const file = join(bundle, "process.json");
      const cases: [string, string[]][] = [
        [`{"args": ${CLEAR}}`, ["\\x1b", file]],
        [JSON.stringify({ args: ["/probe"], cwd: "/", user: { uid: 0, gid: 0 }, env: 5, [`x${TITLE}`]: 1 }), ["/env", "must be an array"]],
        [JSON.stringify({ args: ["/probe"], cwd: `rel${CLEAR}`, user: { uid: 0, gid: 0 } }), ["/cwd", "\\u001b[2J"]],
      ];
      for (const [text, want] of cases) {
        writeFileSync(file, text);
        const line = expectOneLine(skiff(["exec", "--process", file, id], { root }));
        for (const w of want) expect(line).toContain(w);
      }
      expect(JSON.parse(skiff(["state", id], { root }).stdout).status).toBe("running");
    } finally {
      forceDelete(root, id);
    }
    expect(leftovers(root, id, bundle)).toEqual([]);
  });
});
