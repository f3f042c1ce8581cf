// The architectures a seccomp profile may name: the AUDIT_ARCH_* value the
// kernel puts in seccomp_data.arch, and the syscall table skiff has for it.
//
// The tables are loaded on first use, one architecture at a time: building
// them costs about half a millisecond each at start-up, and a config without
// seccomp (or naming only x86_64) needs none (or one) of them.

export const X32_SYSCALL_BIT = 0x40000000;

type Table = Readonly<Record<string, number>>;

export interface ArchDef {
  audit: number;
  /** name -> number; undefined when skiff has no table for it */
  readonly table?: Table;
  /** argument width libseccomp compares: 32-bit arches compare the low word only */
  bits: 32 | 64;
  /** added to every number (x32) */
  bias?: number;
}

/** def with a table getter that requires the generated module once, when first read. */
function withTable(def: Omit<ArchDef, "table">, load: () => Table): ArchDef {
  let table: Table | undefined;
  return Object.defineProperty(def, "table", { get: () => (table ??= load()), enumerable: true });
}

const EM_386 = 3, EM_MIPS = 8, EM_PARISC = 15, EM_PPC = 20, EM_PPC64 = 21, EM_S390 = 22, EM_ARM = 40;
const EM_X86_64 = 62, EM_AARCH64 = 183, EM_RISCV = 243, EM_LOONGARCH = 258, EM_68K = 4;
const LE = 0x40000000, B64 = 0x80000000, N32 = 0x20000000;

/** Every architecture runc accepts; the first five have tables. */
export const ARCHES: Readonly<Record<string, ArchDef>> = {
  SCMP_ARCH_X86_64: withTable({ audit: (EM_X86_64 | B64 | LE) >>> 0, bits: 64 }, () => (require("./syscalls_x86_64") as typeof import("./syscalls_x86_64")).SYSCALLS_X86_64),
  SCMP_ARCH_X86: withTable({ audit: (EM_386 | LE) >>> 0, bits: 32 }, () => (require("./syscalls_x86") as typeof import("./syscalls_x86")).SYSCALLS_X86),
  SCMP_ARCH_X32: withTable({ audit: (EM_X86_64 | B64 | LE) >>> 0, bits: 32, bias: X32_SYSCALL_BIT }, () => (require("./syscalls_x32") as typeof import("./syscalls_x32")).SYSCALLS_X32),
  SCMP_ARCH_AARCH64: withTable({ audit: (EM_AARCH64 | B64 | LE) >>> 0, bits: 64 }, () => (require("./syscalls_aarch64") as typeof import("./syscalls_aarch64")).SYSCALLS_AARCH64),
  SCMP_ARCH_ARM: withTable({ audit: (EM_ARM | LE) >>> 0, bits: 32 }, () => (require("./syscalls_arm") as typeof import("./syscalls_arm")).SYSCALLS_ARM),
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
export const SUPPORTED_ARCHES = Object.keys(ARCHES).filter((a) => "table" in ARCHES[a]!);

/** The profile's architecture for the machine skiff runs on. */
export function nativeArch(nodeArch: string = process.arch): string {
  const map: Record<string, string> = { x64: "SCMP_ARCH_X86_64", arm64: "SCMP_ARCH_AARCH64", arm: "SCMP_ARCH_ARM", ia32: "SCMP_ARCH_X86" };
  return map[nodeArch] ?? `SCMP_ARCH_${nodeArch.toUpperCase()}`;
}
