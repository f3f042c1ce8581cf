// Instructions a seccomp filter executes per syscall: skiff's compiled filter
// vs the one runc builds with libseccomp, for the containers-common default
// profile, over every syscall in the x86_64, x86 and x32 tables.
//
// runc's filter is taken from a live runc container with
// ptrace(PTRACE_SECCOMP_GET_FILTER) (test/seccomp/getfilter.c); both run in
// the interpreter (src/seccomp/bpf_interp.ts). Needs root and /usr/sbin/runc.
//   bun scripts/bench_seccomp.ts
import { spawnSync } from "bun";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ARCHES } from "../src/seccomp/arch";
import { decodeProgram, type Insn } from "../src/seccomp/bpf";
import { runFilter } from "../src/seccomp/bpf_interp";
import { compileSeccomp } from "../src/seccomp/compile";
import { defaultProfile } from "../test/seccomp/profile";
import { makeBundle, tempDir, cleanupTempDirs, REPO_ROOT } from "../test/bundle";

const RUNC = "/usr/sbin/runc";
const GETFILTER = join(REPO_ROOT, "build/seccomp-getfilter");
const profile = defaultProfile({ caps: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"] });

function runcFilter(): Insn[] {
  mkdirSync(join(REPO_ROOT, "build"), { recursive: true });
  const cc = spawnSync(["gcc", "-O2", "-o", GETFILTER, join(REPO_ROOT, "test/seccomp/getfilter.c")], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(cc.stderr.toString());
  const bundle = makeBundle({ args: ["/bin/sleep", "30"], mutate: (s) => (s.linux!.seccomp = profile) });
  const root = tempDir("bench-runc-");
  const id = `bench-${process.pid}`;
  const r = spawnSync([RUNC, "--root", root, "run", "-d", "-b", bundle, id], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  if (r.exitCode !== 0) throw new Error(`runc run: ${r.stderr}`);
  try {
    const st = spawnSync([RUNC, "--root", root, "state", id], { stdout: "pipe" }).stdout.toString();
    const state = JSON.parse(st);
    if (!state.pid) throw new Error(`runc state: ${st} ${r.stdout} ${r.stderr}`);
    const dump = spawnSync([GETFILTER, String(state.pid)], { stdout: "pipe", stderr: "pipe" });
    if (dump.exitCode !== 0) throw new Error(`getfilter: ${dump.stderr}`);
    return decodeProgram(new Uint8Array(dump.stdout));
  } finally {
    spawnSync([RUNC, "--root", root, "delete", "-f", id]);
  }
}

function measure(prog: Insn[]) {
  const out: Record<string, { avg: number; max: number; n: number }> = {};
  let all = 0, count = 0, max = 0;
  for (const arch of ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]) {
    const a = ARCHES[arch]!;
    let sum = 0, m = 0, n = 0;
    for (const nr of Object.values(a.table!)) {
      const { steps } = runFilter(prog, { nr: nr + (a.bias ?? 0), arch: a.audit, args: [] });
      sum += steps; n++; m = Math.max(m, steps);
    }
    out[arch] = { avg: +(sum / n).toFixed(2), max: m, n };
    all += sum; count += n; max = Math.max(max, m);
  }
  return { length: prog.length, perArch: out, avg: +(all / count).toFixed(2), max };
}

try {
  const skiff = compileSeccomp(profile).program;
  const runc = runcFilter();
  const report = { profile: "containers-common default (x86_64 + x86 + x32)", skiff: measure(skiff), runc_libseccomp: measure(runc) };
  const text = JSON.stringify(report, null, 2);
  console.log(text);
  if (process.argv.includes("--write")) writeFileSync(join(REPO_ROOT, "test/seccomp/testdata/bench.json"), text + "\n");
  void readFileSync;
} finally {
  cleanupTempDirs();
}
