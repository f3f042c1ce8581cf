// The skiff binary (scripts/build.sh: bytecode, ES modules split by command).
import { main } from "./cli/main";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
