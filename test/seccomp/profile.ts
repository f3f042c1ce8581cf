// The containers-common (Podman) default seccomp profile, turned into the
// runtime-spec's linux.seccomp the way the engines do it: the native arch with
// its subArchitectures, and the syscall groups whose includes/excludes match
// the given capabilities. testdata/containers_seccomp.json is the file
// Debian's golang-github-containers-common-dev ships (pkg/seccomp/seccomp.json).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Seccomp, SeccompSyscall } from "../../src/seccomp/compile";

export const PROFILE_PATH = join(import.meta.dir, "testdata/containers_seccomp.json");

interface Filter {
  arches?: string[];
  caps?: string[];
  minKernel?: string;
}
interface DockerSyscall extends SeccompSyscall {
  includes?: Filter;
  excludes?: Filter;
}

export function defaultProfile(opts: { arch?: string; caps?: string[] } = {}): Seccomp {
  const raw = JSON.parse(readFileSync(PROFILE_PATH, "utf8"));
  const arch = opts.arch ?? "SCMP_ARCH_X86_64";
  const caps = new Set(opts.caps ?? []);
  const goArch: Record<string, string> = { SCMP_ARCH_X86_64: "amd64", SCMP_ARCH_AARCH64: "arm64", SCMP_ARCH_X86: "386", SCMP_ARCH_ARM: "arm" };
  const entry = (raw.archMap as { architecture: string; subArchitectures: string[] }[]).find((a) => a.architecture === arch);
  const architectures = entry ? [entry.architecture, ...entry.subArchitectures] : [arch];
  const syscalls: SeccompSyscall[] = [];
  for (const s of raw.syscalls as DockerSyscall[]) {
    const inc = s.includes ?? {};
    const exc = s.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(goArch[arch] ?? "")) continue;
    if (inc.caps?.length && !inc.caps.every((c) => caps.has(c))) continue;
    if (exc.arches?.length && exc.arches.includes(goArch[arch] ?? "")) continue;
    if (exc.caps?.length && exc.caps.some((c) => caps.has(c))) continue;
    const out: SeccompSyscall = { names: s.names, action: s.action };
    if (s.errnoRet !== undefined) out.errnoRet = s.errnoRet;
    if (s.args?.length) out.args = s.args.map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op }));
    syscalls.push(out);
  }
  return { defaultAction: raw.defaultAction, defaultErrnoRet: raw.defaultErrnoRet, architectures, syscalls };
}
