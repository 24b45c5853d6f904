// Shared pieces of the load/store class: the access kinds of single-register forms and the one
// function that performs them, the SP alignment check, the writeback addressing modes (pre- and
// post-index) of single and pair forms, and small address helpers on lo/hi halves.

import type { CpuState } from "../cpu_state.ts";
import { EC } from "../exception.ts";
import { AccessKind, FaultType } from "../fault.ts";
import { SP } from "../reg_slots.ts";
import { addOffset, TWO32 } from "./operands.ts";
import { join64 } from "../types.ts";

// Single-register access kinds (size and how a load extends). Hot kinds first in the switch below.
export const K_ST8 = 0;
export const K_ST16 = 1;
export const K_ST32 = 2;
export const K_ST64 = 3;
export const K_LD8 = 4;
export const K_LD16 = 5;
export const K_LD32 = 6;
export const K_LD64 = 7;
/** LDRSB/LDRSH/LDRSW to an X register. */
export const K_LDS8X = 8;
export const K_LDS16X = 9;
export const K_LDS32X = 10;
/** LDRSB/LDRSH to a W register (bits [63:32] cleared). */
export const K_LDS8W = 11;
export const K_LDS16W = 12;

/** What the ISS of a data abort needs to know about a single-register access kind. */
export interface KindInfo {
  sizeLog2: number;
  load: boolean;
  signExtend: boolean;
  /** The register the instruction names is an X register (ISS.SF). */
  sf: boolean;
}

export const KIND_INFO: readonly KindInfo[] = [
  { sizeLog2: 0, load: false, signExtend: false, sf: false },
  { sizeLog2: 1, load: false, signExtend: false, sf: false },
  { sizeLog2: 2, load: false, signExtend: false, sf: false },
  { sizeLog2: 3, load: false, signExtend: false, sf: true },
  { sizeLog2: 0, load: true, signExtend: false, sf: false },
  { sizeLog2: 1, load: true, signExtend: false, sf: false },
  { sizeLog2: 2, load: true, signExtend: false, sf: false },
  { sizeLog2: 3, load: true, signExtend: false, sf: true },
  { sizeLog2: 0, load: true, signExtend: true, sf: true },
  { sizeLog2: 1, load: true, signExtend: true, sf: true },
  { sizeLog2: 2, load: true, signExtend: true, sf: true },
  { sizeLog2: 0, load: true, signExtend: true, sf: false },
  { sizeLog2: 1, load: true, signExtend: true, sf: false },
];

/** Zero-extending load kind for an access of 2^sizeLog2 bytes. */
export const loadKind = (sizeLog2: number): number => K_LD8 + sizeLog2;
/** Store kind for an access of 2^sizeLog2 bytes. */
export const storeKind = (sizeLog2: number): number => K_ST8 + sizeLog2;

/**
 * Perform one single-register access at lo/hi. `t` is the register slot: the data source of a
 * store, the destination of a load (already mapped so that XZR goes to the sink). The register is
 * written only after the access succeeded, so a fault leaves no trace.
 */
export function singleAccess(cpu: CpuState, kind: number, t: number, lo: number, hi: number, iss: number, flags: number): void {
  const x = cpu.x;
  const i = 2 * t;
  switch (kind) {
    case K_LD64:
      cpu.load64(lo, hi, iss, flags);
      x[i] = cpu.tLo;
      x[i + 1] = cpu.tHi;
      return;
    case K_ST64:
      cpu.store64(lo, hi, x[i]!, x[i + 1]!, iss, flags);
      return;
    case K_LD32:
      x[i] = cpu.load(lo, hi, 4, iss, flags);
      x[i + 1] = 0;
      return;
    case K_ST32:
      cpu.store(lo, hi, 4, x[i]!, iss, flags);
      return;
    case K_LD8:
      x[i] = cpu.load(lo, hi, 1, iss, flags);
      x[i + 1] = 0;
      return;
    case K_ST8:
      cpu.store(lo, hi, 1, x[i]!, iss, flags);
      return;
    case K_LD16:
      x[i] = cpu.load(lo, hi, 2, iss, flags);
      x[i + 1] = 0;
      return;
    case K_ST16:
      cpu.store(lo, hi, 2, x[i]!, iss, flags);
      return;
    case K_LDS32X: {
      const v = cpu.load(lo, hi, 4, iss, flags) | 0;
      x[i] = v;
      x[i + 1] = v >> 31;
      return;
    }
    case K_LDS8X: {
      const v = (cpu.load(lo, hi, 1, iss, flags) << 24) >> 24;
      x[i] = v;
      x[i + 1] = v >> 31;
      return;
    }
    case K_LDS16X: {
      const v = (cpu.load(lo, hi, 2, iss, flags) << 16) >> 16;
      x[i] = v;
      x[i + 1] = v >> 31;
      return;
    }
    case K_LDS8W:
      x[i] = (cpu.load(lo, hi, 1, iss, flags) << 24) >> 24;
      x[i + 1] = 0;
      return;
    case K_LDS16W:
      x[i] = (cpu.load(lo, hi, 2, iss, flags) << 16) >> 16;
      x[i + 1] = 0;
      return;
  }
}

/**
 * SP used as a base while SP[3:0] != 0: an SP alignment fault when SCTLR_EL1.SA (EL1) / SA0 (EL0)
 * is set. Callers test the cheap condition (base is SP and misaligned) before calling.
 */
export function checkSpAlignment(cpu: CpuState): void {
  const enable = cpu.el === 0 ? 16n : 8n;
  if ((cpu.sr.SCTLR_EL1 & enable) !== 0n) cpu.raiseSync(cpu.routeEl1(), { ec: EC.SP_ALIGN, iss: 0 });
}

/**
 * The register-offset address X[n] + extend(X[m], option) << shift into cpu.rLo/rHi, with SP's
 * alignment check: option<0> takes all 64 bits of Rm (LSL/UXTX/SXTX), option 110 sign-extends Wm
 * (SXTW), else Wm is zero-extended (UXTW).
 */
export function addRegisterOffset(cpu: CpuState, n: number, rm: number, option: number, shift: number): void {
  const x = cpu.x;
  if (n === SP && (x[2 * SP]! & 15) !== 0) checkSpAlignment(cpu);
  let mLo = x[2 * rm]!;
  let mHi = option & 1 ? x[2 * rm + 1]! : option & 4 ? (mLo >> 31) >>> 0 : 0;
  if (shift !== 0) {
    mHi = ((mHi << shift) | (mLo >>> (32 - shift))) >>> 0;
    mLo = (mLo << shift) >>> 0;
  }
  const lo = x[2 * n]! + mLo;
  cpu.rLo = lo >>> 0;
  cpu.rHi = (x[2 * n + 1]! + mHi + (lo >= TWO32 ? 1 : 0)) >>> 0;
}

/** Raise an alignment fault (DFSC 0x21) for an access at lo/hi. */
export function alignmentFault(cpu: CpuState, lo: number, hi: number, kind: AccessKind, flags: number): never {
  cpu.abort({ type: FaultType.Alignment, stage: 1, level: 0, s1ptw: false, ipa: 0n }, join64(lo, hi), kind, 0, flags);
}

/** Sign-extend the low `bits` bits of `v`. */
export function signExtend(v: number, bits: number): number {
  const s = 32 - bits;
  return (v << s) >> s;
}

/** lo/hi of `lo:hi + add` (0 <= add < 2^31), returned through cpu.rLo/rHi. */
export function addSmall(cpu: CpuState, lo: number, hi: number, add: number): void {
  const s = lo + add;
  if (s >= TWO32) {
    cpu.rLo = s - TWO32;
    cpu.rHi = (hi + 1) >>> 0;
  } else {
    cpu.rLo = s;
    cpu.rHi = hi;
  }
}

/** The access a load/store handler makes once its address is known (one register, a pair). */
export type AccessAt<O> = (cpu: CpuState, op: O, lo: number, hi: number) => void;

/** Fields of every base-register form: the base slot and the signed byte offset. */
export interface BaseOffset {
  n: number;
  off: number;
}

/**
 * The writeback modes: post-index (`[Xn|SP], #off`) accesses at the base, pre-index
 * (`[Xn|SP, #off]!`) at base + off; either way the base becomes base + off, and only after the
 * access succeeded, so a fault leaves the base as it was.
 */
export function writebackMode<O extends BaseOffset>(access: AccessAt<O>, post: boolean): (cpu: CpuState, op: O) => void {
  return (cpu, op) => {
    const n = op.n;
    const x = cpu.x;
    if (n === SP && (x[2 * SP]! & 15) !== 0) checkSpAlignment(cpu);
    const baseLo = x[2 * n]!;
    const baseHi = x[2 * n + 1]!;
    addOffset(cpu, n, op.off);
    const lo = cpu.rLo;
    const hi = cpu.rHi;
    if (post) access(cpu, op, baseLo, baseHi);
    else access(cpu, op, lo, hi);
    x[2 * n] = lo;
    x[2 * n + 1] = hi;
  };
}
