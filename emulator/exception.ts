// Exception syndromes, entry to EL1, exits to EL2 (the host), and exception return.
// Arm ARM D1.4 (exception entry), D1.5 (return), D24.2.46 (ESR_EL2).

import type { Cpu } from "./cpu.ts";
import { join64 } from "./types.ts";

/** Exception classes (ESR_ELx.EC). */
export const EC = {
  UNKNOWN: 0x00,
  WFX: 0x01,
  ILLEGAL: 0x0e,
  SVC64: 0x15,
  HVC64: 0x16,
  SMC64: 0x17,
  SYS64: 0x18,
  ERET: 0x1a,
  IABT_LOW: 0x20,
  IABT_CUR: 0x21,
  PC_ALIGN: 0x22,
  DABT_LOW: 0x24,
  DABT_CUR: 0x25,
  SP_ALIGN: 0x26,
  BRK64: 0x3c,
} as const;

export const EC_NAMES: Record<number, string> = {
  0x00: "UNKNOWN",
  0x01: "WFx",
  0x0e: "ILLEGAL_STATE",
  0x15: "SVC64",
  0x16: "HVC64",
  0x17: "SMC64",
  0x18: "SYS64",
  0x1a: "ERET",
  0x20: "IABT_LOW",
  0x21: "IABT_CUR",
  0x22: "PC_ALIGN",
  0x24: "DABT_LOW",
  0x25: "DABT_CUR",
  0x26: "SP_ALIGN",
  0x3c: "BRK64",
};

/** ESR value: EC, IL=1 (always, for A64 and aborts), ISS. */
export function esr(ec: number, iss: number): bigint {
  return BigInt(((ec << 26) | (1 << 25) | (iss & 0x1ffffff)) >>> 0);
}

export function ecOf(esrVal: bigint): number {
  return Number((esrVal >> 26n) & 0x3fn);
}

export function issOf(esrVal: bigint): number {
  return Number(esrVal & 0x1ffffffn);
}

// ISS fields for data aborts (ESR_ELx.ISS, EC 0x24/0x25).
export const ISS_ISV = 1 << 24;
export const ISS_SSE = 1 << 21;
export const ISS_SF = 1 << 15;
export const ISS_AR = 1 << 14;
export const ISS_CM = 1 << 8;
export const ISS_S1PTW = 1 << 7;
export const ISS_WNR = 1 << 6;

/** The ISV-bearing part of a data-abort ISS for a single-register load/store without writeback. */
export function dataAbortTemplate(sizeLog2: number, signExtend: boolean, rt: number, sf: boolean, acqRel: boolean): number {
  return ISS_ISV | (sizeLog2 << 22) | (signExtend ? ISS_SSE : 0) | (rt << 16) | (sf ? ISS_SF : 0) | (acqRel ? ISS_AR : 0);
}

/** ISS for a trapped MSR/MRS/SYS (EC 0x18). */
export function sysRegIss(op0: number, op1: number, crn: number, crm: number, op2: number, rt: number, isRead: boolean): number {
  return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | (isRead ? 1 : 0);
}

/** Vector offsets (VBAR_ELx + group + type). */
export const VECTOR = {
  CUR_SP0: 0x000,
  CUR_SPX: 0x200,
  LOWER_A64: 0x400,
  LOWER_A32: 0x600,
  SYNC: 0x000,
  IRQ: 0x080,
  FIQ: 0x100,
  SERROR: 0x180,
} as const;

/** What the host receives when an exception targets EL2: the registers EL2 would see. */
export interface Exit {
  esr: bigint;
  ec: number;
  far: bigint;
  hpfar: bigint;
  /** ELR_EL2: preferred return address. */
  elr: bigint;
  /** SPSR_EL2: PSTATE of the interrupted context. */
  spsr: bigint;
}

export interface SyncExceptionInfo {
  ec: number;
  iss: number;
  /** Address for FAR (aborts, PC alignment); left unchanged when undefined. */
  far?: bigint;
  /** HPFAR_EL2 value (stage-2 aborts only). */
  hpfar?: bigint;
  /** Preferred return is the next instruction (executed SVC/HVC/SMC), not this one. */
  returnNext?: boolean;
}

/** The vector offset group for an exception taken to EL1 from the current state. */
function vectorGroup(cpu: Cpu): number {
  if (cpu.el === 0) return VECTOR.LOWER_A64;
  return cpu.spsel ? VECTOR.CUR_SPX : VECTOR.CUR_SP0;
}

/** Synchronous exception entry to EL1 (D1.4.2). */
export function enterEl1(cpu: Cpu, info: SyncExceptionInfo, vectorType: number = VECTOR.SYNC): void {
  const sr = cpu.sr;
  let spsr = cpu.pstate();
  // FEAT_NV: with {NV,NV1} = {1,0} an exception EL1 -> EL1 records EL2 in SPSR_EL1.M[3:2].
  const hcr = sr.HCR_EL2;
  if (cpu.el === 1 && (hcr >> 42n) & 1n && !((hcr >> 43n) & 1n)) spsr = (spsr & ~0xcn) | 0x8n;
  sr.SPSR_EL1 = spsr;
  sr.ELR_EL1 = cpu.preferredReturn(info.returnNext ?? false);
  if (vectorType === VECTOR.SYNC) sr.ESR_EL1 = esr(info.ec, info.iss);
  if (info.far !== undefined) sr.FAR_EL1 = info.far;
  const offset = BigInt(vectorGroup(cpu) + vectorType);
  cpu.setMode(1, 1);
  cpu.daif = 0xf;
  cpu.il = 0;
  cpu.setPc(BigInt.asUintN(64, (sr.VBAR_EL1 & ~0x7ffn) + offset));
}

/** Synchronous exception to EL2: record the EL2 syndrome state and build the Exit for the host. */
export function exitToEl2(cpu: Cpu, info: SyncExceptionInfo): Exit {
  const sr = cpu.sr;
  sr.SPSR_EL2 = cpu.pstate();
  sr.ELR_EL2 = cpu.preferredReturn(info.returnNext ?? false);
  sr.ESR_EL2 = esr(info.ec, info.iss);
  if (info.far !== undefined) sr.FAR_EL2 = info.far;
  if (info.hpfar !== undefined) sr.HPFAR_EL2 = info.hpfar;
  return { esr: sr.ESR_EL2, ec: info.ec, far: sr.FAR_EL2, hpfar: sr.HPFAR_EL2, elr: sr.ELR_EL2, spsr: sr.SPSR_EL2 };
}

/** Whether an exception return to `spsr` is illegal from the current EL (D1.5.2 rules we model). */
export function isIllegalReturn(cpu: Cpu, spsr: bigint, fromEl: number): boolean {
  const m = Number(spsr & 0x1fn);
  if (m & 0x10) return true; // AArch32 is not implemented
  if (m & 0x2) return true; // M[1] must be 0
  const target = (m >> 2) & 3;
  if (target > fromEl) return true;
  if (target === 3) return true; // no EL3
  if (target === 0 && m & 1) return true; // EL0 has only SP_EL0
  if (target === 1 && fromEl === 2 && (cpu.sr.HCR_EL2 >> 27n) & 1n) return true; // TGE: EL1 unusable
  return false;
}

/**
 * Exception return from `fromEl` using `spsr`/`elr` (ERET at EL1, or the host's return from EL2).
 * An illegal return keeps the EL, copies the flags and sets PSTATE.IL (D1.5.2).
 */
export function exceptionReturn(cpu: Cpu, spsr: bigint, elr: bigint, fromEl: number): void {
  cpu.clearExclusive();
  if (isIllegalReturn(cpu, spsr, fromEl)) {
    cpu.setNzcv(Number((spsr >> 28n) & 0xfn));
    cpu.daif = Number((spsr >> 6n) & 0xfn);
    cpu.il = 1;
    cpu.setPc(elr);
    return;
  }
  const m = Number(spsr & 0xfn);
  cpu.setMode(m >> 2, m & 1);
  cpu.setNzcv(Number((spsr >> 28n) & 0xfn));
  cpu.daif = Number((spsr >> 6n) & 0xfn);
  cpu.il = Number((spsr >> 20n) & 1n);
  // Returning to EL0 the PC is 64-bit as-is; to EL1 likewise (no AArch32).
  cpu.setPc(elr);
}

export { join64 };
