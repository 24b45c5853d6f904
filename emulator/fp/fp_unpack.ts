// FPUnpack: classify a bit pattern and give its exact value as mant * 2^exp. Denormal inputs flush
// to zero under FPCR.FZ (single and double only) and raise IDC, as the pseudocode does. With
// FPCR.AHP a half-precision value with the top exponent is a number (alternative half precision).

import { type FPEnv, type FPFormat, FPCR, FPSR, expMax, mask } from "./fp_format.ts";

export const enum FPType {
  Zero,
  Denormal,
  Nonzero,
  Infinity,
  QNaN,
  SNaN,
}

export interface Unpacked {
  type: FPType;
  sign: number;
  /** |value| = mant * 2^exp (mant = 0 for zeros, infinities and NaNs). */
  mant: bigint;
  exp: number;
}

export const isNaNType = (t: FPType): boolean => t === FPType.QNaN || t === FPType.SNaN;

/** Unpack `bits`; `fz` false for the conversions that ignore FPCR.FZ (FPUnpackCV of half). */
export function fpUnpack(fmt: FPFormat, bits: bigint, env: FPEnv, fz = fmt.N !== 16): Unpacked {
  const F = BigInt(fmt.F);
  const sign = Number((bits >> BigInt(fmt.N - 1)) & 1n);
  const e = Number((bits >> F) & mask(fmt.E));
  const frac = bits & mask(fmt.F);
  const bias = (1 << (fmt.E - 1)) - 1;
  if (e === 0) {
    if (frac === 0n) return { type: FPType.Zero, sign, mant: 0n, exp: 0 };
    if (fz && env.fpcr & FPCR.FZ) {
      env.fpsr |= FPSR.IDC;
      return { type: FPType.Zero, sign, mant: 0n, exp: 0 };
    }
    return { type: FPType.Denormal, sign, mant: frac, exp: 1 - bias - fmt.F };
  }
  if (e === expMax(fmt) && !(fmt.N === 16 && env.fpcr & FPCR.AHP)) {
    if (frac === 0n) return { type: FPType.Infinity, sign, mant: 0n, exp: 0 };
    const quiet = (frac >> (F - 1n)) & 1n;
    return { type: quiet ? FPType.QNaN : FPType.SNaN, sign, mant: 0n, exp: 0 };
  }
  return { type: FPType.Nonzero, sign, mant: frac | (1n << F), exp: e - bias - fmt.F };
}

/** A finite nonzero value (denormal or normal). */
export const isFiniteNonzero = (u: Unpacked): boolean => u.type === FPType.Denormal || u.type === FPType.Nonzero;
