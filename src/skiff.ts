// The skiff binary. No top-level await: the compiled binary is bytecode
// (bun build --bytecode), which needs a CommonJS-shaped entry.
import { main } from "./cli/main";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
