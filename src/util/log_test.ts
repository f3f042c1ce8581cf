// runc's (logrus's) log line forms, byte for byte where a reader parses them.
import { expect, test } from "bun:test";
import { formatLogLine, goQuote, logfmtValue, rfc3339 } from "./log";

test("values are bare when logrus leaves them bare, else quoted as Go's %q", () => {
  expect(logfmtValue("done")).toBe("done");
  expect(logfmtValue("a-b.c_d/e@f^g+h")).toBe("a-b.c_d/e@f^g+h");
  expect(logfmtValue("")).toBe("");
  expect(logfmtValue("container does not exist")).toBe('"container does not exist"');
  expect(logfmtValue("a:b")).toBe('"a:b"');
  expect(logfmtValue('container "x" does not exist')).toBe('"container \\"x\\" does not exist"');
});

test("goQuote escapes as strconv.Quote: named escapes, \\x for controls, printable Unicode kept", () => {
  expect(goQuote("a\nb\tc\rd\\e")).toBe('"a\\nb\\tc\\rd\\\\e"');
  expect(goQuote("\x07\b\f\v")).toBe('"\\a\\b\\f\\v"');
  expect(goQuote("\x00\x01\x1b\x7f")).toBe('"\\x00\\x01\\x1b\\x7f"');
  expect(goQuote("\u0085")).toBe('"\\u0085"');
  expect(goQuote("héllo ✓ 日本")).toBe('"héllo ✓ 日本"');
});

test("time is RFC 3339 to the second, in local time with Z or an offset", () => {
  const d = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  const t = rfc3339(d);
  expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  expect(Date.parse(t)).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
  if (d.getTimezoneOffset() === 0) expect(t).toBe("2026-01-02T03:04:05Z");
});

test("one line per entry, in runc's text and JSON forms", () => {
  const d = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
  const t = rfc3339(d);
  expect(formatLogLine("error", 'container "x" does not exist', "text", d)).toBe(`time="${t}" level=error msg="container \\"x\\" does not exist"\n`);
  expect(formatLogLine("debug", "ready", "text", d)).toBe(`time="${t}" level=debug msg=ready\n`);
  expect(formatLogLine("warning", "a\nb", "json", d)).toBe(`{"level":"warning","msg":"a\\nb","time":"${t}"}\n`);
});
