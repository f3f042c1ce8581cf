import { beforeAll, describe, expect, test } from "bun:test";
import Ajv, { type ValidateFunction } from "ajv";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { needShared, SHARED, skipWhy } from "../../test/skip";
import { featuresDocument, SKIFF_VERSION } from "./features";
import { MOUNT_OPTIONS } from "./mount_options";

const SCHEMA_DIR = join(SHARED, "oci-runtime-spec/schema");

// Draft-04 schemas read as draft-07 (same meaning for their keywords); one
// ref in defs.json lacks its slash and is repaired in memory.
function compileSchema(main: string) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const f of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith(".json"))) {
    const schema = JSON.parse(readFileSync(`${SCHEMA_DIR}/${f}`, "utf8").replaceAll('"#definitions/', '"#/definitions/'));
    delete schema.$schema;
    ajv.addSchema(schema, f);
  }
  const validate = ajv.getSchema(main);
  if (!validate) throw new Error(`compile ${main}: not found`);
  return validate;
}

describe.skipIf(skipWhy("features against the official schema", needShared("oci-runtime-spec/schema")))("features-schema.json", () => {
  let valid: ValidateFunction;
  beforeAll(() => {
    valid = compileSchema("features-schema.json");
  });

  test("the features document satisfies features-schema.json", () => {
    const ok = valid(featuresDocument());
    expect(valid.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test("the schema check has teeth: the official bad example fails", () => {
    expect(valid(JSON.parse(readFileSync(`${SCHEMA_DIR}/test/features/bad/missing-ociVersionMax.json`, "utf8")))).toBe(false);
    expect(valid({ ...featuresDocument(), linux: { namespaces: ["net"] } })).toBe(false);
  });
});

test("contents", () => {
  const doc = featuresDocument() as Record<string, any>;
  expect(doc.ociVersionMin).toBe("1.0.0");
  expect(doc.ociVersionMax).toBe("1.3.0");
  expect(doc.hooks).toHaveLength(6);
  expect(doc.mountOptions).toEqual([...MOUNT_OPTIONS]);
  expect(doc.mountOptions).not.toContain("tmpcopyup");
  expect(doc.mountOptions).toContain("idmap");
  expect(doc.mountOptions).toContain("ridmap");
  expect(doc.linux.mountExtensions).toEqual({ idmap: { enabled: true } });
  expect(doc.linux.namespaces).toHaveLength(8);
  expect(doc.linux.capabilities).toHaveLength(41);
  expect(doc.linux.cgroup).toEqual({ v1: true, v2: true, systemd: true, systemdUser: false });
  expect(doc.linux.seccomp.enabled).toBe(true);
  expect(doc.linux.seccomp.actions).toContain("SCMP_ACT_NOTIFY");
  expect(doc.annotations).toEqual({ "run.skiff.version": SKIFF_VERSION });
  expect((featuresDocument({ version: "9.9.9" }) as Record<string, any>).annotations["run.skiff.version"]).toBe("9.9.9");
});

test("SKIFF_VERSION follows package.json", () => {
  const pkg = JSON.parse(readFileSync(`${import.meta.dir}/../../package.json`, "utf8"));
  expect(SKIFF_VERSION).toBe(pkg.version);
});

test("checkpoint is enabled in the features document only where criu is found", () => {
  const found = (featuresDocument({ criu: "/usr/sbin/criu" }) as Record<string, any>).annotations;
  expect(found["run.skiff.checkpoint.enabled"]).toBe("true");
  expect(found["run.skiff.checkpoint.criu"]).toBe("/usr/sbin/criu");
  const missing = (featuresDocument({ criu: "" }) as Record<string, any>).annotations;
  expect(missing["run.skiff.checkpoint.enabled"]).toBe("false");
  expect(missing["run.skiff.checkpoint.criu"]).toBeUndefined();
});
