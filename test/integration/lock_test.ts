// The per-container lock: a command that changes a container waits for one
// already changing it. Here `delete -f` arrives while `create` is halfway
// (in a slow createRuntime hook) and must not act on the half-made container.
import { afterAll, expect, test } from "bun:test";
import { spawn } from "bun";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, makeBundle, tempDir } from "../bundle";
import { SKIFF, forceDelete, leftovers, skiff, uniqueId, waitFor } from "./skiff";

const root = tempDir("skiff-lock-root-");
const made: string[] = [];
afterAll(() => {
  for (const id of made) forceDelete(root, id);
  cleanupTempDirs();
});

test("delete -f during create waits for create, then removes the container", async () => {
  const id = uniqueId("lock");
  made.push(id);
  const bundle = makeBundle({
    args: ["/probe", "sleep", "30"],
    mutate: (s) => (s.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", "1"] }] }),
  });
  // stderr to a file: the container keeps create's stderr open, a pipe would never end.
  const errFile = join(tempDir("skiff-lock-err-"), "stderr");
  const create = spawn([SKIFF, "--root", root, "create", "-b", bundle, id], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(errFile) });
  // Wait until create has made the state dir (and holds its lock).
  expect(waitFor(() => existsSync(join(root, id, ".lock")), 5000)).toBe(true);
  const del = skiff(["delete", "-f", id], { root });
  expect(del.code).toBe(0);
  const code = await create.exited;
  expect(readFileSync(errFile, "utf8")).toBe("");
  expect(code).toBe(0);
  // delete ran after create had finished, so it removed the whole container.
  expect(skiff(["state", id], { root }).stderr).toContain("does not exist");
  expect(leftovers(root, id, bundle)).toEqual([]);
}, 30_000);
