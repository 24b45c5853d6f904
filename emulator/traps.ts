// EL2 trap and routing controls that EL0/EL1 execution consults: the HCR_EL2 bits (D24.2.62),
// the other EL2 trap registers, and the helpers that raise an EC 0x18 trap with its syndrome.

import type { CpuState } from "./cpu_state.ts";
import { EC, sysRegIss } from "./exception.ts";
import { hi32, lo32 } from "./types.ts";

/** HCR_EL2 bit positions. */
export const HCR = {
  VM: 0,
  FB: 9,
  TWI: 13,
  TWE: 14,
  TID1: 16,
  TID2: 17,
  TID3: 18,
  TSC: 19,
  TIDCP: 20,
  TACR: 21,
  TSW: 22,
  TPCP: 23,
  TPU: 24,
  TTLB: 25,
  TVM: 26,
  TGE: 27,
  TDZ: 28,
  HCD: 29,
  TRVM: 30,
  RW: 31,
  E2H: 34,
  NV: 42,
  NV1: 43,
  AT: 44,
} as const;

/** MDCR_EL2 bit positions. */
export const MDCR = { TDE: 8, TDA: 9, TDOSA: 10 } as const;

/**
 * CPTR_EL2 (E2H=0 layout) bit positions. With HCR_EL2.E2H = 1 the register takes CPACR_EL1's layout
 * and FPEN (bits 21:20) replaces TFP: see fp/fp_access.ts.
 */
export const CPTR = { TFP: 10, TCPAC: 31 } as const;

/** SCTLR_EL1 bits that gate EL0 use of system instructions. */
export const SCTLR = { UMA: 9, DZE: 14, UCT: 15, nTWI: 16, nTWE: 18, UCI: 26 } as const;

// HCR_EL2 as two 32-bit halves, remade only when the register's value changes: trap checks run on
// most system instructions, and BigInt shifts allocate.
let hcrSeen = -1n;
let hcrLo = 0;
let hcrHi = 0;

export function hcr(cpu: CpuState, bit: number): boolean {
  const v = cpu.sr.HCR_EL2;
  if (v !== hcrSeen) {
    hcrSeen = v;
    hcrLo = lo32(v);
    hcrHi = hi32(v);
  }
  return ((bit < 32 ? hcrLo >>> bit : hcrHi >>> (bit - 32)) & 1) !== 0;
}

export function sctlrEl1(cpu: CpuState, bit: number): boolean {
  return ((cpu.sr.SCTLR_EL1 >> BigInt(bit)) & 1n) !== 0n;
}

export function mdcr(cpu: CpuState, bit: number): boolean {
  return ((cpu.sr.MDCR_EL2 >> BigInt(bit)) & 1n) !== 0n;
}

/** FEAT_NV: EL1 is a guest hypervisor's virtual EL2 (HCR_EL2.NV). */
export function nvEnabled(cpu: CpuState): boolean {
  return hcr(cpu, HCR.NV);
}

/** HCR_EL2.{NV,NV1} = {1,1}: VBAR_EL1, ELR_EL1 and SPSR_EL1 also trap (no NV2 here). */
export function nv1Enabled(cpu: CpuState): boolean {
  return hcr(cpu, HCR.NV) && hcr(cpu, HCR.NV1);
}

/** Debug exceptions and debug register traps go to EL2 (MDCR_EL2.TDE or HCR_EL2.TGE). */
export function debugToEl2(cpu: CpuState): boolean {
  return mdcr(cpu, MDCR.TDE) || hcr(cpu, HCR.TGE);
}

/** The encoding of a trapped MSR/MRS/SYS, as the ISS of EC 0x18 reports it. */
export interface SysEncoding {
  op0: number;
  op1: number;
  crn: number;
  crm: number;
  op2: number;
}

/** Trap an MSR/MRS/SYS to `target` with EC 0x18; the instruction has no effect. */
export function trapSys(cpu: CpuState, target: 1 | 2, e: SysEncoding, rt: number, isRead: boolean): never {
  cpu.raiseSync(target, { ec: EC.SYS64, iss: sysRegIss(e.op0, e.op1, e.crn, e.crm, e.op2, rt, isRead) });
}

/** Trap an MSR/MRS/SYS to EL2 without unwinding (CpuState.exitToHost): the caller returns at once. */
export function exitSys(cpu: CpuState, e: SysEncoding, rt: number, isRead: boolean): void {
  cpu.exitToHost({ ec: EC.SYS64, iss: sysRegIss(e.op0, e.op1, e.crn, e.crm, e.op2, rt, isRead) });
}

/** ISS of a trapped WFI/WFE (EC 0x01): CV=1, COND=0b1110, TI. */
export function wfxIss(isWfe: boolean): number {
  return (1 << 24) | (0xe << 20) | (isWfe ? 1 : 0);
}

/** The fields of an EC 0x18 ISS (what the host decodes to emulate a trapped access). */
export interface SysTrap extends SysEncoding {
  rt: number;
  isRead: boolean;
}

export function decodeSysIss(iss: number): SysTrap {
  return {
    op0: (iss >>> 20) & 3,
    op1: (iss >>> 14) & 7,
    crn: (iss >>> 10) & 15,
    crm: (iss >>> 1) & 15,
    op2: (iss >>> 17) & 7,
    rt: (iss >>> 5) & 31,
    isRead: (iss & 1) === 1,
  };
}
