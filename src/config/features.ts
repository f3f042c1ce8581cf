// The runtime-spec features document `skiff features` prints. Engines read
// it to decide what they may ask for, so it lists only what skiff does.

import { MOUNT_OPTIONS } from "./mount_options";
import { CAPABILITIES, NAMESPACE_TYPES } from "./tables";
import { SPEC_VERSION } from "./types";
import { seccompFeatures, type SeccompHost } from "../seccomp/features";

/** skiff's version; a test keeps it equal to package.json's. */
export const SKIFF_VERSION = "0.1.0";

export const HOOK_NAMES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;

/** Build the features document (features-schema.json). */
export function featuresDocument(opts: { version?: string; seccompHost?: SeccompHost; criu?: string } = {}): object {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: SPEC_VERSION,
    hooks: [...HOOK_NAMES],
    mountOptions: [...MOUNT_OPTIONS],
    linux: {
      namespaces: [...NAMESPACE_TYPES],
      capabilities: Object.keys(CAPABILITIES),
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false },
      seccomp: seccompFeatures(opts.seccompHost),
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
      netDevices: { enabled: false },
    },
    // As runc's org.opencontainers.runc.checkpoint.enabled, but true only
    // where the criu binary is found (opts.criu: its resolved path).
    annotations: {
      "run.skiff.version": opts.version ?? SKIFF_VERSION,
      ...(opts.criu !== undefined ? { "run.skiff.checkpoint.enabled": opts.criu ? "true" : "false" } : {}),
      ...(opts.criu ? { "run.skiff.checkpoint.criu": opts.criu } : {}),
    },
  };
}
