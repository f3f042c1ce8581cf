import { expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { needFile, skipWhy } from "../../test/skip";
import { CAP_LAST_CAP, CAPABILITIES, NAMESPACE_FLAGS, NAMESPACE_PROC_NAMES, NAMESPACE_TYPES, parseSignal, RLIMITS, SIGNALS } from "./tables";

test("capabilities are numbered 0..CAP_LAST_CAP without gaps", () => {
  const numbers = Object.values(CAPABILITIES).sort((a, b) => a - b);
  expect(numbers).toEqual([...Array(CAP_LAST_CAP + 1).keys()]);
  expect(CAPABILITIES.CAP_CHOWN).toBe(0);
  expect(CAPABILITIES.CAP_SYS_ADMIN).toBe(21);
  expect(CAPABILITIES.CAP_CHECKPOINT_RESTORE).toBe(40);
});

const CAP_LAST_CAP_FILE = "/proc/sys/kernel/cap_last_cap";
test.skipIf(skipWhy("the host's capabilities", needFile(CAP_LAST_CAP_FILE, "the running kernel's highest capability number")))(
  "the host kernel knows no capability beyond the table",
  () => {
    expect(Number(readFileSync(CAP_LAST_CAP_FILE, "utf8").trim())).toBeLessThanOrEqual(CAP_LAST_CAP);
  },
);

test("rlimits follow x86_64 numbering", () => {
  expect(Object.values(RLIMITS).sort((a, b) => a - b)).toEqual([...Array(16).keys()]);
  expect([RLIMITS.RLIMIT_CPU, RLIMITS.RLIMIT_NOFILE, RLIMITS.RLIMIT_NPROC, RLIMITS.RLIMIT_RTTIME]).toEqual([0, 7, 6, 15]);
});

test("parseSignal accepts runc kill's spellings", () => {
  for (const s of ["TERM", "SIGTERM", "15", "term", "sigterm", " TERM "]) expect(parseSignal(s)).toBe(15);
  expect(parseSignal("KILL")).toBe(9);
  expect(parseSignal("SIGCHLD")).toBe(17);
  expect(parseSignal("USR1")).toBe(10);
  expect(parseSignal("WINCH")).toBe(28);
  expect(parseSignal("RTMIN")).toBe(34);
  expect(parseSignal("SIGRTMIN+3")).toBe(37);
  expect(parseSignal("rtmax-2")).toBe(62);
  expect(parseSignal("RTMAX")).toBe(64);
  expect(parseSignal("0")).toBe(0);
  expect(parseSignal("64")).toBe(64);
});

test("parseSignal refuses what is not a signal", () => {
  for (const s of ["65", "-1", "", "SIG", "FOO", "RTMIN+31", "RTMAX-31", "RTMIN-1", "toString", "1.5", "SIGSIGTERM"]) {
    expect({ s, n: parseSignal(s) }).toEqual({ s, n: undefined });
  }
});

test("signal numbers are unique apart from known aliases", () => {
  const aliases = new Set(["IOT", "CLD", "POLL"]);
  const numbers = Object.entries(SIGNALS).filter(([n]) => !aliases.has(n)).map(([, v]) => v);
  expect(new Set(numbers).size).toBe(numbers.length);
});

test("namespace tables cover every type", () => {
  for (const t of NAMESPACE_TYPES) {
    expect(NAMESPACE_FLAGS[t]).toBeGreaterThan(0);
    expect(NAMESPACE_PROC_NAMES[t]).toBeTruthy();
  }
  expect(NAMESPACE_FLAGS.mount).toBe(0x20000);
  expect(NAMESPACE_FLAGS.user).toBe(0x10000000);
  expect(NAMESPACE_FLAGS.time).toBe(0x80);
  expect(NAMESPACE_PROC_NAMES.network).toBe("net");
  expect(NAMESPACE_PROC_NAMES.mount).toBe("mnt");
});

// The table's proc names are the kernel's: /proc/self/ns/NAME links to "NAME:[inode]".
for (const t of NAMESPACE_TYPES) {
  const path = `/proc/self/ns/${NAMESPACE_PROC_NAMES[t]}`;
  test.skipIf(skipWhy(`${t} namespace proc name`, needFile(path, `a kernel without ${t} namespaces`)))(`${t} namespaces are ${path} on this host`, () => {
    expect(readlinkSync(path)).toMatch(new RegExp(`^${NAMESPACE_PROC_NAMES[t]}:\\[\\d+\\]$`));
  });
}
