// The systemd driver, loaded on demand: create, update and delete of a
// container that uses it call this; nothing else pulls in the D-Bus client.
export type SystemdDriver = typeof import("./driver");

export function loadSystemdDriver(): SystemdDriver {
  // require, not import(): create, update and delete are synchronous, and
  // Bun's bundler keeps a required module unevaluated until this call.
  return require("./driver") as SystemdDriver;
}
