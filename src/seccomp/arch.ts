// The architectures a seccomp profile may name: the AUDIT_ARCH_* value the
// kernel puts in seccomp_data.arch, and the syscall table skiff has for it.
import { SYSCALLS_AARCH64 } from "./syscalls_aarch64";
import { SYSCALLS_ARM } from "./syscalls_arm";
import { SYSCALLS_X32 } from "./syscalls_x32";
import { SYSCALLS_X86 } from "./syscalls_x86";
import { SYSCALLS_X86_64 } from "./syscalls_x86_64";

export const X32_SYSCALL_BIT = 0x40000000;

export interface ArchDef {
  audit: number;
  /** name -> number; undefined when skiff has no table for it */
  table?: Readonly<Record<string, number>>;
  /** argument width libseccomp compares: 32-bit arches compare the low word only */
  bits: 32 | 64;
  /** added to every number (x32) */
  bias?: number;
}

const EM_386 = 3, EM_MIPS = 8, EM_PARISC = 15, EM_PPC = 20, EM_PPC64 = 21, EM_S390 = 22, EM_ARM = 40;
const EM_X86_64 = 62, EM_AARCH64 = 183, EM_RISCV = 243, EM_LOONGARCH = 258, EM_68K = 4;
const LE = 0x40000000, B64 = 0x80000000, N32 = 0x20000000;

/** Every architecture runc accepts; the first five have tables. */
export const ARCHES: Readonly<Record<string, ArchDef>> = {
  SCMP_ARCH_X86_64: { audit: (EM_X86_64 | B64 | LE) >>> 0, table: SYSCALLS_X86_64, bits: 64 },
  SCMP_ARCH_X86: { audit: (EM_386 | LE) >>> 0, table: SYSCALLS_X86, bits: 32 },
  SCMP_ARCH_X32: { audit: (EM_X86_64 | B64 | LE) >>> 0, table: SYSCALLS_X32, bits: 32, bias: X32_SYSCALL_BIT },
  SCMP_ARCH_AARCH64: { audit: (EM_AARCH64 | B64 | LE) >>> 0, table: SYSCALLS_AARCH64, bits: 64 },
  SCMP_ARCH_ARM: { audit: (EM_ARM | LE) >>> 0, table: SYSCALLS_ARM, bits: 32 },
  SCMP_ARCH_MIPS: { audit: EM_MIPS, bits: 32 },
  SCMP_ARCH_MIPS64: { audit: (EM_MIPS | B64) >>> 0, bits: 64 },
  SCMP_ARCH_MIPS64N32: { audit: (EM_MIPS | B64 | N32) >>> 0, bits: 32 },
  SCMP_ARCH_MIPSEL: { audit: (EM_MIPS | LE) >>> 0, bits: 32 },
  SCMP_ARCH_MIPSEL64: { audit: (EM_MIPS | B64 | LE) >>> 0, bits: 64 },
  SCMP_ARCH_MIPSEL64N32: { audit: (EM_MIPS | B64 | LE | N32) >>> 0, bits: 32 },
  SCMP_ARCH_PPC: { audit: EM_PPC, bits: 32 },
  SCMP_ARCH_PPC64: { audit: (EM_PPC64 | B64) >>> 0, bits: 64 },
  SCMP_ARCH_PPC64LE: { audit: (EM_PPC64 | B64 | LE) >>> 0, bits: 64 },
  SCMP_ARCH_S390: { audit: EM_S390, bits: 32 },
  SCMP_ARCH_S390X: { audit: (EM_S390 | B64) >>> 0, bits: 64 },
  SCMP_ARCH_PARISC: { audit: EM_PARISC, bits: 32 },
  SCMP_ARCH_PARISC64: { audit: (EM_PARISC | B64) >>> 0, bits: 64 },
  SCMP_ARCH_RISCV64: { audit: (EM_RISCV | B64 | LE) >>> 0, bits: 64 },
  SCMP_ARCH_LOONGARCH64: { audit: (EM_LOONGARCH | B64 | LE) >>> 0, bits: 64 },
  SCMP_ARCH_M68K: { audit: EM_68K, bits: 32 },
};

/** Architectures skiff can compile for (it has their syscall tables). */
export const SUPPORTED_ARCHES = Object.keys(ARCHES).filter((a) => ARCHES[a]!.table);

/** The profile's architecture for the machine skiff runs on. */
export function nativeArch(nodeArch: string = process.arch): string {
  const map: Record<string, string> = { x64: "SCMP_ARCH_X86_64", arm64: "SCMP_ARCH_AARCH64", arm: "SCMP_ARCH_ARM", ia32: "SCMP_ARCH_X86" };
  return map[nodeArch] ?? `SCMP_ARCH_${nodeArch.toUpperCase()}`;
}
