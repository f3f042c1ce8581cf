// `skiff --version`: the lines runc and crun print, which go-runc parses
// ("commit: " and "spec: " after the first line).
import { SKIFF_VERSION } from "../config/features";
import { SPEC_VERSION } from "../config/types";

// Baked in by scripts/build.sh (bun build --define) from `git rev-parse HEAD`;
// undeclared when skiff runs from source or was built some other way.
declare const SKIFF_COMMIT: string | undefined;

export const NO_COMMIT = "unknown (not built from a git checkout by scripts/build.sh)";

export function versionText(): string {
  const commit = typeof SKIFF_COMMIT === "string" && SKIFF_COMMIT !== "" ? SKIFF_COMMIT : NO_COMMIT;
  return `skiff version ${SKIFF_VERSION}\ncommit: ${commit}\nspec: ${SPEC_VERSION}\nbun: ${Bun.version}\n`;
}
