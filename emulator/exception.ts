// Exception syndromes (ESR_ELx.EC and ISS fields), vector offsets, and what the host receives when
// an exception targets EL2. Entry and return themselves are CPU operations (cpu_state.ts).
// Arm ARM D1.4 (exception entry), D24.2.46 (ESR_EL2).

import { lo32 } from "./types.ts";

/** Exception classes (ESR_ELx.EC). */
export const EC = {
  UNKNOWN: 0x00,
  WFX: 0x01,
  FP_ACCESS: 0x07,
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
  0x07: "FP_ACCESS",
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

// EC and ISS live in ESR[31:0]: read through the low half, which costs no BigInt operation.
export function ecOf(esrVal: bigint): number {
  return (lo32(esrVal) >>> 26) & 0x3f;
}

export function issOf(esrVal: bigint): number {
  return lo32(esrVal) & 0x1ffffff;
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
