// `skiff update --resources FILE` reads a LinuxResources document: the same
// hostile-input rules as config.json. Before, a string where a number
// belongs ("5\n6" as the pids limit) was written into the cgroup file as it
// was and merged into state.json; now the file gets config.json's checks and
// a bad one changes nothing.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { forceDelete, leftovers, skiff, uniqueId } from "../integration/skiff";
import { detectLayout } from "../../src/cgroups/layout";
import { needRoot, skipWhy } from "../skip";
import { expectOneLine } from "./one_line";

afterAll(() => cleanupTempDirs());

const BAD: [string, string][] = [
  ['{"pids": {"limit": "5\\n6"}}', "/pids/limit: must be an integer"],
  ['{"memory": {"limit": {"a": 1}}}', "/memory/limit: must be an integer"],
  ['{"memory": {"limit": 1e999}}', "/memory/limit: must be an integer"],
  ['{"cpu": {"cpus": 5}}', "/cpu/cpus: must be a string"],
  ['{"cpu": {"shares": "x"}}', "/cpu/shares: must be an integer"],
  ['{"blockIO": {"weightDevice": [{"major": "a"}]}}', "/blockIO/weightDevice/0"],
  ['{"pids": {"limit": 3}, "unified": {"\\u001b[2J": 1}}', "/unified/\\x1b[2J: must be a string"],
];

describe.skipIf(skipWhy("update --resources", needRoot()))("update --resources is checked as config.json is", () => {
  test("bad files change nothing; a good one applies", () => {
    const root = tempDir("skiff-sec-update-");
    const id = uniqueId("sec-update");
    const bundle = makeBundle({ args: ["/probe", "sleep", "60"], mutate: (s) => (s.linux!.resources = { devices: [{ allow: false, access: "rwm" }], pids: { limit: 40 } }) });
    const pidsMax = join(detectLayout().hierarchies.find((h) => h.name === "pids")!.mount, id, "pids.max");
    try {
      expect(skiff(["run", "-d", "-b", bundle, id], { root }).code).toBe(0);
      const state = () => readFileSync(join(root, id, "state.json"), "utf8");
      const before = state();
      expect(readFileSync(pidsMax, "utf8").trim()).toBe("40");
      for (const [text, cause] of BAD) {
        const file = join(bundle, "resources.json");
        writeFileSync(file, text);
        const line = expectOneLine(skiff(["update", "--resources", file, id], { root }));
        expect(line).toContain(`invalid ${file} (from --resources)`);
        expect(line).toContain(cause);
        expect(readFileSync(pidsMax, "utf8").trim()).toBe("40");
        expect(state()).toBe(before);
      }
      const stdin = expectOneLine(skiff(["update", "-r", "-", id], { root, stdin: '{"pids": {"limit": "7"}}' }));
      expect(stdin).toBe("skiff: invalid resources from stdin (from --resources): /pids/limit: must be an integer");
      expect(skiff(["update", "-r", "-", id], { root, stdin: '{"pids": {"limit": 7}}' }).code).toBe(0);
      expect(readFileSync(pidsMax, "utf8").trim()).toBe("7");
    } finally {
      forceDelete(root, id);
    }
    expect(leftovers(root, id, bundle)).toEqual([]);
  });
});
