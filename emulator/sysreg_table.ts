// The system register table: every register MRS/MSR can name, with its encoding (op0, op1, CRn,
// CRm, op2), who may access it, which EL2 controls trap it, and how a read or write acts on the
// register file. The CPU's MRS/MSR handlers, the host (L0) and the debugger all use this table, so
// a register has one name and one behaviour everywhere.
//
// ID register values describe what nvlab implements: AArch64 only at EL0..EL2, no EL3, FP and
// AdvSIMD without half-precision arithmetic, 48-bit PA, 16-bit ASID/VMID, all three granules at both stages, FEAT_NV (not NV2), FEAT_TTL,
// TLBI range/OS forms, FEAT_XS (nXS TLBI), SB.

import type { CpuState } from "./cpu_state.ts";
import { checkFPAdvSIMDEnabled } from "./fp/fp_access.ts";
import { FPCR, FPSR } from "./fp/fp_format.ts";
import { mpidrOfIndex } from "./mpidr.ts";
import type { SysRegName } from "./sysregs.ts";
import {
  CPTR, HCR, MDCR, SCTLR, type SysEncoding, debugToEl2, exitSys, hcr, mdcr, nv1Enabled, nvEnabled, sctlrEl1, trapSys,
} from "./traps.ts";

/** Trap groups: which EL2 (or EL1) controls apply to a register. */
export const SR = {
  /** HCR_EL2.TVM traps EL1 writes, HCR_EL2.TRVM EL1 reads (virtual memory controls). */
  TVM: 1 << 0,
  /** Trapped at EL1 when HCR_EL2.{NV,NV1} = {1,1}. */
  NV1: 1 << 1,
  /** An EL2 register (*_EL2, *_EL12, SP_EL1): at EL1 trapped by HCR_EL2.NV, else UNDEFINED. */
  EL2: 1 << 2,
  /** HCR_EL2.TID1 / TID2 / TID3 ID-register groups. */
  TID1: 1 << 3,
  TID2: 1 << 4,
  TID3: 1 << 5,
  /** HCR_EL2.TACR (auxiliary control). */
  TACR: 1 << 6,
  /** CPTR_EL2.TCPAC (CPACR_EL1). */
  TCPAC: 1 << 7,
  /** MDCR_EL2.TDA / TDOSA debug register groups (forced by TDE/TGE). */
  TDA: 1 << 8,
  TDOSA: 1 << 9,
  /** SP_EL0: UNDEFINED at EL1 while PSTATE.SPSel is 0 (it is the current SP). */
  SPSEL0: 1 << 10,
  /** *_EL12 alias of an EL1 register (host view reads/writes the EL1 register). */
  EL12: 1 << 11,
  /** SIMD&FP state (FPCR, FPSR): CPACR_EL1.FPEN and CPTR_EL2.TFP trap it (EC 0x07). */
  FP: 1 << 12,
} as const;

export interface SysRegDef extends SysEncoding {
  /** Arm ARM name (`SCTLR_EL1`, `CurrentEL`); lookups by name ignore case. */
  readonly name: string;
  /** Lowest EL allowed to access it: 0, 1, or 2 (EL2 registers: only the host). */
  readonly minEl: 0 | 1 | 2;
  readonly readOnly: boolean;
  readonly writeOnly: boolean;
  /** Read-only at EL0 although writable at EL1 (TPIDRRO_EL0). */
  readonly el0ReadOnly: boolean;
  /** SCTLR_EL1 bit that must be 1 for EL0 to access it without an EC 0x18 trap to EL1. */
  readonly el0Enable?: number;
  /** Trap groups (SR.*). */
  readonly flags: number;
  /** Value at reset (constants: the value always read). */
  readonly reset?: bigint;
  /** Backing field in the register file, when the register is plain storage. */
  readonly field?: SysRegName;
  read(cpu: CpuState): bigint;
  write(cpu: CpuState, v: bigint): void;
}

// ---------------------------------------------------------------- ID values

/** MIDR_EL1 of the modelled core (Arm Ltd, architecture 0xF, part 0xD4F, r0p0). */
export const PHYS_MIDR = 0x410fd4f0n;

/** The physical MPIDR_EL1: the CPU index in Aff1.Aff0 (mpidr.ts), bit 31 RES1, uniprocessor bit U = 0. */
export function physicalMpidr(cpu: CpuState): bigint {
  return (mpidrs[cpu.index] ??= mpidrOfIndex(cpu.index));
}
/** By CPU index: the world switch writes VMPIDR_EL2 on every entry to vEL2. */
const mpidrs: bigint[] = [];

const field = (v: number, lsb: number): bigint => BigInt(v) << BigInt(lsb);

export const ID = {
  // EL0, EL1, EL2 AArch64 only; EL3 not implemented; FP and AdvSIMD implemented without FEAT_FP16 (0).
  AA64PFR0: field(1, 0) | field(1, 4) | field(1, 8) | field(0, 12) | field(0, 16) | field(0, 20),
  AA64PFR1: 0n,
  // DebugVer v8, 2 breakpoints, 2 watchpoints, no PMU.
  AA64DFR0: field(6, 0) | field(1, 12) | field(1, 20),
  AA64DFR1: 0n,
  // TLB = 2: TLBI outer-shareable and range forms. No AES/SHA/CRC32/atomics.
  AA64ISAR0: field(2, 56),
  // SB = 1, XS = 1 (nXS TLBI and DSB).
  AA64ISAR1: field(1, 36) | field(1, 56),
  AA64ISAR2: 0n,
  // PARange 48 bits, 16-bit ASIDs, TGran16 = 1 (4K/64K fields 0 = supported), stage-2 granules all 2.
  AA64MMFR0: field(5, 0) | field(2, 4) | field(1, 20) | field(2, 32) | field(2, 36) | field(2, 40),
  // 16-bit VMIDs; no VHE, no PAN, no HAFDBS.
  AA64MMFR1: field(2, 4),
  // NV = 1 (FEAT_NV without NV2), TTL = 1.
  AA64MMFR2: field(1, 24) | field(1, 48),
  // 64-byte I/D lines (IminLine = DminLine = 4), PIPT I-cache, ERG = CWG = 4; bit 31 RES1.
  CTR: 0x8444_c004n,
  // L1 separate I+D, L2 unified; LoUIS = 1, LoC = 2, LoUU = 1.
  CLIDR: 0x0a20_0023n,
} as const;

/** CCSIDR_EL1 for the cache CSSELR_EL1 selects: 64-byte lines; L1 4-way 256 sets, L2 16-way 1024 sets. */
function ccsidr(csselr: bigint): bigint {
  const ccs = (ways: number, sets: number): bigint => BigInt(2 | ((ways - 1) << 3) | ((sets - 1) << 13));
  switch (Number(csselr & 0xfn)) {
    case 0: // L1 data
    case 1: // L1 instruction
      return ccs(4, 256);
    case 2: // L2 unified
      return ccs(16, 1024);
    default:
      return 0n;
  }
}

/** DCZID_EL0: 64-byte DC ZVA blocks (BS = log2(words) = 4); DZP when ZVA is prohibited here. */
function dczid(cpu: CpuState): bigint {
  const prohibited = (cpu.el === 0 && !sctlrEl1(cpu, SCTLR.DZE)) || (cpu.el < 2 && hcr(cpu, HCR.TDZ));
  return prohibited ? 0x14n : 0x4n;
}

// ---------------------------------------------------------------- row builders

type Enc = readonly [op0: number, op1: number, crn: number, crm: number, op2: number];

interface RowOpts {
  minEl?: 0 | 1 | 2;
  readOnly?: boolean;
  writeOnly?: boolean;
  el0ReadOnly?: boolean;
  el0Enable?: number;
  flags?: number;
  reset?: bigint;
  field?: SysRegName;
  read?: (cpu: CpuState) => bigint;
  write?: (cpu: CpuState, v: bigint) => void;
  /** Bits that are writable (others keep their value); default all. */
  writeMask?: bigint;
}

function row(name: string, enc: Enc, o: RowOpts): SysRegDef {
  const f = o.field;
  const mask = o.writeMask;
  const read = o.read ?? (f ? (cpu: CpuState) => cpu.sr[f] : () => o.reset ?? 0n);
  let write = o.write;
  if (!write) {
    if (f) {
      write = mask === undefined
        ? (cpu, v) => cpu.writeSysReg(f, v)
        : (cpu, v) => cpu.writeSysReg(f, (cpu.sr[f] & ~mask) | (v & mask));
    } else write = () => {};
  }
  return {
    name,
    op0: enc[0],
    op1: enc[1],
    crn: enc[2],
    crm: enc[3],
    op2: enc[4],
    minEl: o.minEl ?? 1,
    readOnly: o.readOnly ?? false,
    writeOnly: o.writeOnly ?? false,
    el0ReadOnly: o.el0ReadOnly ?? false,
    ...(o.el0Enable !== undefined ? { el0Enable: o.el0Enable } : {}),
    flags: o.flags ?? 0,
    ...(o.reset !== undefined ? { reset: o.reset } : {}),
    ...(f ? { field: f } : {}),
    read,
    write,
  };
}

/** A plain EL1 read/write register stored under its own name. */
const el1 = (name: SysRegName, enc: Enc, flags = 0, extra: RowOpts = {}): SysRegDef =>
  row(name, enc, { field: name, flags, ...extra });

/** A read-only constant (ID registers). */
const idConst = (name: string, enc: Enc, value: bigint, flags: number): SysRegDef =>
  row(name, enc, { readOnly: true, reset: value, flags });

/** An EL2 register: the host's; EL1 accesses trap under FEAT_NV. */
const el2 = (name: SysRegName, enc: Enc, extra: RowOpts = {}): SysRegDef =>
  row(name, enc, { field: name, minEl: 2, flags: SR.EL2, ...extra });

/** A *_EL12 alias (op1 = 5): names the EL1 register `target`; at EL1 it traps under FEAT_NV. */
const el12 = (name: string, target: SysRegName, enc: Enc): SysRegDef =>
  row(name, enc, { field: target, minEl: 2, flags: SR.EL2 | SR.EL12 });

// ---------------------------------------------------------------- the table

export const SYSREG_TABLE: readonly SysRegDef[] = [
  // ID registers (read-only; EL0 access is UNDEFINED: no FEAT_IDST)
  // With EL2 enabled, EL1 reads of MIDR/MPIDR return VPIDR_EL2/VMPIDR_EL2 (the host sets them).
  row("MIDR_EL1", [3, 0, 0, 0, 0], { readOnly: true, reset: PHYS_MIDR, read: (cpu) => cpu.sr.VPIDR_EL2 }),
  row("MPIDR_EL1", [3, 0, 0, 0, 5], { readOnly: true, reset: 0x8000_0000n, read: (cpu) => cpu.sr.VMPIDR_EL2 }),
  idConst("REVIDR_EL1", [3, 0, 0, 0, 6], 0n, SR.TID1),
  idConst("ID_AA64PFR0_EL1", [3, 0, 0, 4, 0], ID.AA64PFR0, SR.TID3),
  idConst("ID_AA64PFR1_EL1", [3, 0, 0, 4, 1], ID.AA64PFR1, SR.TID3),
  idConst("ID_AA64ZFR0_EL1", [3, 0, 0, 4, 4], 0n, SR.TID3),
  idConst("ID_AA64DFR0_EL1", [3, 0, 0, 5, 0], ID.AA64DFR0, SR.TID3),
  idConst("ID_AA64DFR1_EL1", [3, 0, 0, 5, 1], ID.AA64DFR1, SR.TID3),
  idConst("ID_AA64AFR0_EL1", [3, 0, 0, 5, 4], 0n, SR.TID3),
  idConst("ID_AA64AFR1_EL1", [3, 0, 0, 5, 5], 0n, SR.TID3),
  idConst("ID_AA64ISAR0_EL1", [3, 0, 0, 6, 0], ID.AA64ISAR0, SR.TID3),
  idConst("ID_AA64ISAR1_EL1", [3, 0, 0, 6, 1], ID.AA64ISAR1, SR.TID3),
  idConst("ID_AA64ISAR2_EL1", [3, 0, 0, 6, 2], ID.AA64ISAR2, SR.TID3),
  idConst("ID_AA64MMFR0_EL1", [3, 0, 0, 7, 0], ID.AA64MMFR0, SR.TID3),
  idConst("ID_AA64MMFR1_EL1", [3, 0, 0, 7, 1], ID.AA64MMFR1, SR.TID3),
  idConst("ID_AA64MMFR2_EL1", [3, 0, 0, 7, 2], ID.AA64MMFR2, SR.TID3),
  row("CCSIDR_EL1", [3, 1, 0, 0, 0], { readOnly: true, flags: SR.TID2, read: (cpu) => ccsidr(cpu.sr.CSSELR_EL1) }),
  idConst("CLIDR_EL1", [3, 1, 0, 0, 1], ID.CLIDR, SR.TID2),
  idConst("AIDR_EL1", [3, 1, 0, 0, 7], 0n, SR.TID1),
  el1("CSSELR_EL1", [3, 2, 0, 0, 0], SR.TID2, { writeMask: 0xfn }),
  row("CTR_EL0", [3, 3, 0, 0, 1], { minEl: 0, readOnly: true, reset: ID.CTR, el0Enable: SCTLR.UCT, flags: SR.TID2 }),
  row("DCZID_EL0", [3, 3, 0, 0, 7], { minEl: 0, readOnly: true, reset: 0x4n, read: dczid }),

  // EL1 control and translation registers
  el1("SCTLR_EL1", [3, 0, 1, 0, 0], SR.TVM),
  el1("ACTLR_EL1", [3, 0, 1, 0, 1], SR.TACR),
  el1("CPACR_EL1", [3, 0, 1, 0, 2], SR.TCPAC),
  el1("TTBR0_EL1", [3, 0, 2, 0, 0], SR.TVM),
  el1("TTBR1_EL1", [3, 0, 2, 0, 1], SR.TVM),
  el1("TCR_EL1", [3, 0, 2, 0, 2], SR.TVM),
  el1("SPSR_EL1", [3, 0, 4, 0, 0], SR.NV1),
  el1("ELR_EL1", [3, 0, 4, 0, 1], SR.NV1),
  row("SP_EL0", [3, 0, 4, 1, 0], {
    flags: SR.SPSEL0,
    read: (cpu) => cpu.readSpEl(0),
    write: (cpu, v) => cpu.writeSpEl(0, BigInt.asUintN(64, v)),
  }),
  row("SPSel", [3, 0, 4, 2, 0], {
    read: (cpu) => BigInt(cpu.spsel),
    // Only meaningful while EL1 executes; the host's PSTATE at EL2 is not modelled.
    write: (cpu, v) => {
      if (cpu.el === 1) cpu.setMode(1, Number(v & 1n));
    },
  }),
  row("CurrentEL", [3, 0, 4, 2, 2], {
    readOnly: true,
    // FEAT_NV: the guest hypervisor at EL1 reads EL2.
    read: (cpu) => (cpu.el === 1 && nvEnabled(cpu) ? 0x8n : BigInt(cpu.el << 2)),
  }),
  el1("AFSR0_EL1", [3, 0, 5, 1, 0], SR.TVM),
  el1("AFSR1_EL1", [3, 0, 5, 1, 1], SR.TVM),
  el1("ESR_EL1", [3, 0, 5, 2, 0], SR.TVM),
  el1("FAR_EL1", [3, 0, 6, 0, 0], SR.TVM),
  el1("PAR_EL1", [3, 0, 7, 4, 0]),
  el1("MAIR_EL1", [3, 0, 10, 2, 0], SR.TVM),
  el1("AMAIR_EL1", [3, 0, 10, 3, 0], SR.TVM),
  el1("VBAR_EL1", [3, 0, 12, 0, 0], SR.NV1, { writeMask: ~0x7ffn }),
  // No interrupt controller is modelled: nothing is ever pending.
  row("ISR_EL1", [3, 0, 12, 1, 0], { readOnly: true, reset: 0n }),
  el1("CONTEXTIDR_EL1", [3, 0, 13, 0, 1], SR.TVM),
  el1("TPIDR_EL1", [3, 0, 13, 0, 4]),
  el1("CNTKCTL_EL1", [3, 0, 14, 1, 0]),

  // Debug registers (op0 = 2)
  el1("MDSCR_EL1", [2, 0, 0, 2, 2], SR.TDA),
  // The two breakpoints and two watchpoints ID_AA64DFR0_EL1 promises (storage only: debug
  // exceptions are not generated).
  el1("DBGBVR0_EL1", [2, 0, 0, 0, 4], SR.TDA),
  el1("DBGBCR0_EL1", [2, 0, 0, 0, 5], SR.TDA),
  el1("DBGWVR0_EL1", [2, 0, 0, 0, 6], SR.TDA),
  el1("DBGWCR0_EL1", [2, 0, 0, 0, 7], SR.TDA),
  el1("DBGBVR1_EL1", [2, 0, 0, 1, 4], SR.TDA),
  el1("DBGBCR1_EL1", [2, 0, 0, 1, 5], SR.TDA),
  el1("DBGWVR1_EL1", [2, 0, 0, 1, 6], SR.TDA),
  el1("DBGWCR1_EL1", [2, 0, 0, 1, 7], SR.TDA),
  row("OSLAR_EL1", [2, 0, 1, 0, 4], { writeOnly: true, flags: SR.TDOSA }),
  // OS lock implemented (OSLM = 0b10), unlocked.
  row("OSLSR_EL1", [2, 0, 1, 1, 4], { readOnly: true, reset: 0x8n, flags: SR.TDOSA }),
  row("OSDLR_EL1", [2, 0, 1, 3, 4], { reset: 0n, flags: SR.TDOSA }),

  // EL0-accessible state
  row("NZCV", [3, 3, 4, 2, 0], {
    minEl: 0,
    read: (cpu) => BigInt(cpu.nzcv()) << 28n,
    write: (cpu, v) => cpu.setNzcv(Number((v >> 28n) & 0xfn)),
  }),
  row("DAIF", [3, 3, 4, 2, 1], {
    minEl: 0,
    el0Enable: SCTLR.UMA,
    read: (cpu) => BigInt(cpu.daif) << 6n,
    write: (cpu, v) => {
      cpu.daif = Number((v >> 6n) & 0xfn);
    },
  }),
  row("FPCR", [3, 3, 4, 4, 0], {
    minEl: 0,
    flags: SR.FP,
    read: (cpu) => BigInt(cpu.fpcr),
    write: (cpu, v) => {
      cpu.fpcr = Number(v & BigInt(FPCR.WRITABLE));
    },
  }),
  row("FPSR", [3, 3, 4, 4, 1], {
    minEl: 0,
    flags: SR.FP,
    read: (cpu) => BigInt(cpu.fpsr),
    write: (cpu, v) => {
      cpu.fpsr = Number(v & BigInt(FPSR.WRITABLE));
    },
  }),
  el1("TPIDR_EL0", [3, 3, 13, 0, 2], 0, { minEl: 0 }),
  el1("TPIDRRO_EL0", [3, 3, 13, 0, 3], 0, { minEl: 0, el0ReadOnly: true }),

  // EL2 registers
  el2("VPIDR_EL2", [3, 4, 0, 0, 0]),
  el2("VMPIDR_EL2", [3, 4, 0, 0, 5]),
  el2("SCTLR_EL2", [3, 4, 1, 0, 0]),
  el2("ACTLR_EL2", [3, 4, 1, 0, 1]),
  el2("HCR_EL2", [3, 4, 1, 1, 0]),
  el2("MDCR_EL2", [3, 4, 1, 1, 1]),
  el2("CPTR_EL2", [3, 4, 1, 1, 2]),
  el2("HSTR_EL2", [3, 4, 1, 1, 3]),
  el2("HACR_EL2", [3, 4, 1, 1, 7]),
  el2("TTBR0_EL2", [3, 4, 2, 0, 0]),
  el2("TCR_EL2", [3, 4, 2, 0, 2]),
  el2("VTTBR_EL2", [3, 4, 2, 1, 0]),
  el2("VTCR_EL2", [3, 4, 2, 1, 2]),
  el2("SPSR_EL2", [3, 4, 4, 0, 0]),
  el2("ELR_EL2", [3, 4, 4, 0, 1]),
  row("SP_EL1", [3, 4, 4, 1, 0], {
    minEl: 2,
    flags: SR.EL2,
    read: (cpu) => cpu.readSpEl(1),
    write: (cpu, v) => cpu.writeSpEl(1, BigInt.asUintN(64, v)),
  }),
  el2("AFSR0_EL2", [3, 4, 5, 1, 0]),
  el2("AFSR1_EL2", [3, 4, 5, 1, 1]),
  el2("ESR_EL2", [3, 4, 5, 2, 0]),
  el2("FAR_EL2", [3, 4, 6, 0, 0]),
  el2("HPFAR_EL2", [3, 4, 6, 0, 4]),
  el2("MAIR_EL2", [3, 4, 10, 2, 0]),
  el2("AMAIR_EL2", [3, 4, 10, 3, 0]),
  el2("VBAR_EL2", [3, 4, 12, 0, 0]),
  el2("TPIDR_EL2", [3, 4, 13, 0, 2]),
  el2("CNTVOFF_EL2", [3, 4, 14, 0, 3]),
  el2("CNTHCTL_EL2", [3, 4, 14, 1, 0]),

  // *_EL12 aliases: in a VHE host they name the EL1 registers; here they exist so that a guest
  // hypervisor's accesses trap to L0 with the right syndrome.
  el12("SCTLR_EL12", "SCTLR_EL1", [3, 5, 1, 0, 0]),
  el12("CPACR_EL12", "CPACR_EL1", [3, 5, 1, 0, 2]),
  el12("TTBR0_EL12", "TTBR0_EL1", [3, 5, 2, 0, 0]),
  el12("TTBR1_EL12", "TTBR1_EL1", [3, 5, 2, 0, 1]),
  el12("TCR_EL12", "TCR_EL1", [3, 5, 2, 0, 2]),
  el12("SPSR_EL12", "SPSR_EL1", [3, 5, 4, 0, 0]),
  el12("ELR_EL12", "ELR_EL1", [3, 5, 4, 0, 1]),
  el12("AFSR0_EL12", "AFSR0_EL1", [3, 5, 5, 1, 0]),
  el12("AFSR1_EL12", "AFSR1_EL1", [3, 5, 5, 1, 1]),
  el12("ESR_EL12", "ESR_EL1", [3, 5, 5, 2, 0]),
  el12("FAR_EL12", "FAR_EL1", [3, 5, 6, 0, 0]),
  el12("MAIR_EL12", "MAIR_EL1", [3, 5, 10, 2, 0]),
  el12("AMAIR_EL12", "AMAIR_EL1", [3, 5, 10, 3, 0]),
  el12("VBAR_EL12", "VBAR_EL1", [3, 5, 12, 0, 0]),
  el12("CONTEXTIDR_EL12", "CONTEXTIDR_EL1", [3, 5, 13, 0, 1]),
  el12("CNTKCTL_EL12", "CNTKCTL_EL1", [3, 5, 14, 1, 0]),
];

// ---------------------------------------------------------------- lookup

/** Packed encoding key: op0:op1:CRn:CRm:op2 as in the MRS/MSR word bits [20:5]. */
export function sysRegKey(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return ((op0 & 3) << 14) | ((op1 & 7) << 11) | ((crn & 15) << 7) | ((crm & 15) << 3) | (op2 & 7);
}

const BY_KEY = new Map<number, SysRegDef>();
const BY_NAME = new Map<string, SysRegDef>();
for (const r of SYSREG_TABLE) {
  const k = sysRegKey(r.op0, r.op1, r.crn, r.crm, r.op2);
  if (BY_KEY.has(k)) throw new Error(`sysreg table: ${r.name} duplicates the encoding of ${BY_KEY.get(k)!.name}`);
  BY_KEY.set(k, r);
  BY_NAME.set(r.name.toUpperCase(), r);
}

/** Generic name of an encoding: `S3_0_C1_C0_0`. */
export function sysRegEncodingName(e: SysEncoding): string {
  return `S${e.op0}_${e.op1}_C${e.crn}_C${e.crm}_${e.op2}`;
}

/**
 * The register at an encoding. Unallocated encodings in the ID space (op0=3, op1=0, CRn=0,
 * CRm=1..7) are reserved ID registers that read as zero; other unknown encodings give undefined.
 */
export function sysRegByEncoding(op0: number, op1: number, crn: number, crm: number, op2: number): SysRegDef | undefined {
  const k = sysRegKey(op0, op1, crn, crm, op2);
  const r = BY_KEY.get(k);
  if (r || !(op0 === 3 && op1 === 0 && crn === 0 && crm >= 1 && crm <= 7)) return r;
  const raz = idConst(sysRegEncodingName({ op0, op1, crn, crm, op2 }), [op0, op1, crn, crm, op2], 0n, SR.TID3);
  BY_KEY.set(k, raz);
  return raz;
}

/** The register called `name` (case-insensitive; `S3_0_C1_C0_0` generic names work too). */
export function sysRegByName(name: string): SysRegDef | undefined {
  const up = name.toUpperCase();
  const r = BY_NAME.get(up);
  if (r) return r;
  const m = /^S([0-3])_([0-7])_C(\d+)_C(\d+)_([0-7])$/.exec(up);
  if (!m || Number(m[3]) > 15 || Number(m[4]) > 15) return undefined;
  return sysRegByEncoding(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
}

/** Whether an unallocated encoding is in the IMPLEMENTATION DEFINED space (op0=3, CRn=11 or 15). */
export function isImpDefEncoding(op0: number, crn: number): boolean {
  return op0 === 3 && (crn === 11 || crn === 15);
}

// ---------------------------------------------------------------- access rules

/**
 * Check an MRS (`isRead`) or MSR of `def` from the current EL (0 or 1). Takes the exception the
 * architecture takes (UNDEFINED, or an EC 0x18 trap to EL1/EL2) before any effect; returns whether
 * the access may proceed (false: it trapped to EL2, and the instruction must return).
 */
export function checkSysRegAccess(cpu: CpuState, def: SysRegDef, isRead: boolean, rt: number): boolean {
  if (def.flags & SR.FP) checkFPAdvSIMDEnabled(cpu);
  if (cpu.el === 0) {
    if (def.minEl > 0) cpu.undefinedInstruction();
    if (isRead ? def.writeOnly : def.readOnly || def.el0ReadOnly) cpu.undefinedInstruction();
    if (def.el0Enable !== undefined && !sctlrEl1(cpu, def.el0Enable)) trapSys(cpu, cpu.routeEl1(), def, rt, isRead);
    return checkEl2Traps(cpu, def, isRead, rt);
  }
  if (def.minEl === 2) {
    if (nvEnabled(cpu)) {
      exitSys(cpu, def, rt, isRead);
      return false;
    }
    cpu.undefinedInstruction();
  }
  if (def.flags & SR.SPSEL0 && cpu.spsel === 0) cpu.undefinedInstruction();
  if (isRead ? def.writeOnly : def.readOnly) cpu.undefinedInstruction();
  return checkEl2Traps(cpu, def, isRead, rt);
}

/** EL2 trap controls for an EL0/EL1 access (after the EL1-level checks). */
function checkEl2Traps(cpu: CpuState, def: SysRegDef, isRead: boolean, rt: number): boolean {
  const f = def.flags;
  if (f === 0) return true;
  let trap = false;
  if (f & SR.TVM) trap = hcr(cpu, isRead ? HCR.TRVM : HCR.TVM);
  if (f & SR.NV1) trap ||= nv1Enabled(cpu);
  if (f & SR.TID1) trap ||= hcr(cpu, HCR.TID1);
  if (f & SR.TID2) trap ||= hcr(cpu, HCR.TID2);
  if (f & SR.TID3) trap ||= hcr(cpu, HCR.TID3);
  if (f & SR.TACR) trap ||= hcr(cpu, HCR.TACR);
  if (f & SR.TCPAC) trap ||= ((cpu.sr.CPTR_EL2 >> BigInt(CPTR.TCPAC)) & 1n) !== 0n;
  if (f & SR.TDA) trap ||= mdcr(cpu, MDCR.TDA) || debugToEl2(cpu);
  if (f & SR.TDOSA) trap ||= mdcr(cpu, MDCR.TDOSA) || debugToEl2(cpu);
  if (trap) exitSys(cpu, def, rt, isRead);
  return !trap;
}
