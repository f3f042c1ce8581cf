import { writeOut } from "../util/output";
import { readdirSync } from "node:fs";
import type { Command } from "./command";
import { UsageError } from "../errors";
import { deriveStatus, ociState, readState } from "../container/state";

export const command: Command = {
  flags: {
    format: { kind: "string", short: "f", help: "select one of: table or json (default: \"table\")" },
    quiet: { kind: "bool", short: "q", help: "display only container IDs" },
  },
  usage: "[command options]",
  run(p, g) {
    const format = (p.flags.format as string | undefined) ?? "table";
    if (format !== "table" && format !== "json") throw new UsageError(`invalid format option ${JSON.stringify(format)} (from --format): use table or json`);
    let ids: string[] = [];
    try {
      ids = readdirSync(g.root).sort();
    } catch {
      // no root yet: no containers
    }
    const rows = ids.flatMap((id) => {
      try {
        const { state, paths } = readState(g.root, id, { cgroupOnDisk: "status" });
        return [ociState(state, deriveStatus(state, paths))];
      } catch {
        return []; // being created or deleted right now
      }
    });
    if (p.flags.quiet) {
      writeOut(rows.map((r) => `${r.id}\n`).join(""));
    } else if (format === "json") {
      writeOut(JSON.stringify(rows) + "\n");
    } else {
      const table = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...rows.map((r) => [r.id, r.pid, r.status, r.bundle, r.created, r.owner || "root"].map(String))];
      const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
      writeOut(table.map((row) => row.map((cell, c) => cell.padEnd(widths[c]! + 3)).join("").trimEnd() + "\n").join(""));
    }
    return 0;
  },
};
