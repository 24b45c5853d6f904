// FPRound: the one place a real result becomes a bit pattern. The value is (mant + s) * 2^exp with
// 0 <= s < 1 and s > 0 exactly when `sticky` (bits were lost below mant); callers that pass
// sticky give mant at least F+3 significant bits, so the rounding bit and "more than half" are
// always decided by mant itself. Tininess is detected before rounding, as the Arm ARM does;
// FPCR.FZ flushes tiny results to zero with UFC (and no IXC). Half precision follows FPCR.AHP
// (IEEE or the alternative format without infinities and NaNs) and ignores FZ (no FEAT_FP16 FZ16).

import { type FPEnv, type FPFormat, FPCR, FPSR, RM, type Rounding, bitLength, expMax, fpInfinity, fpMaxNormal, fpZero, fpcrRounding, mask } from "./fp_format.ts";

/** How the discarded part compares with half a unit in the last place. */
const enum Err {
  None,
  BelowHalf,
  Half,
  AboveHalf,
}

/**
 * Split mant * 2^exp (+ sticky) at unit 2^unitExp: the integer part in units, and how the
 * remainder compares with half a unit.
 */
function splitAt(mant: bigint, exp: number, sticky: boolean, unitExp: number): { int: bigint; err: Err } {
  const shift = unitExp - exp;
  if (shift <= 0) return { int: mant << BigInt(-shift), err: sticky ? Err.BelowHalf : Err.None };
  const s = BigInt(shift);
  const int = mant >> s;
  const rem = mant & mask(shift);
  const half = 1n << (s - 1n);
  let err: Err;
  if (rem === 0n) err = sticky ? Err.BelowHalf : Err.None;
  else if (rem < half) err = Err.BelowHalf;
  else if (rem === half) err = sticky ? Err.AboveHalf : Err.Half;
  else err = Err.AboveHalf;
  return { int, err };
}

/** Whether to add one unit to `int` (the rounded-down magnitude) under `mode`. */
export function roundUp(mode: Rounding, sign: number, int: bigint, err: Err): boolean {
  if (err === Err.None) return false;
  switch (mode) {
    case RM.TIEEVEN:
      return err === Err.AboveHalf || (err === Err.Half && (int & 1n) === 1n);
    case RM.TIEAWAY:
      return err === Err.AboveHalf || err === Err.Half;
    case RM.POSINF:
      return sign === 0;
    case RM.NEGINF:
      return sign === 1;
    default:
      return false;
  }
}

/** FPRound (FPRoundBase): round a nonzero real to `fmt`, accumulating FPSR flags in `env`. */
export function fpRound(
  fmt: FPFormat, sign: number, mant: bigint, exp: number, sticky: boolean, env: FPEnv, mode: Rounding = fpcrRounding(env),
): bigint {
  const F = fmt.F;
  const bias = (1 << (fmt.E - 1)) - 1;
  const minExp = 1 - bias;
  const exponent = exp + bitLength(mant) - 1;
  if (fmt.N !== 16 && env.fpcr & FPCR.FZ && exponent < minExp) {
    env.fpsr |= FPSR.UFC;
    return fpZero(fmt, sign);
  }
  let biased = exponent < minExp ? 0 : exponent - minExp + 1;
  const { int, err } = splitAt(mant, exp, sticky, (biased === 0 ? minExp : exponent) - F);
  if (biased === 0 && err !== Err.None) env.fpsr |= FPSR.UFC;
  let m = int;
  if (roundUp(mode, sign, int, err)) {
    m += 1n;
    if (m === 1n << BigInt(F)) biased = 1; // a denormal rounded up to the smallest normal
    if (m === 1n << BigInt(F + 1)) {
      biased += 1;
      m >>= 1n;
    }
  }
  if (fmt.N === 16 && env.fpcr & FPCR.AHP) {
    // Alternative half precision: the top exponent holds numbers; beyond it saturate, invalid.
    if (biased > expMax(fmt)) {
      env.fpsr |= FPSR.IOC;
      return fpZero(fmt, sign) | mask(fmt.N - 1);
    }
  } else if (biased >= expMax(fmt)) {
    env.fpsr |= FPSR.OFC | FPSR.IXC;
    const toInf = mode === RM.TIEEVEN || mode === RM.TIEAWAY || (mode === RM.POSINF && sign === 0) || (mode === RM.NEGINF && sign === 1);
    return toInf ? fpInfinity(fmt, sign) : fpMaxNormal(fmt, sign);
  }
  if (err !== Err.None) env.fpsr |= FPSR.IXC;
  // Round to odd truncates like ZERO (also on overflow, above) and marks an inexact result odd.
  if (mode === RM.ODD && err !== Err.None) m |= 1n;
  return fpZero(fmt, sign) | (BigInt(biased) << BigInt(F)) | (m & mask(F));
}

/** Round a signed exact value (mant may be negative or zero; zero gives +0, or -0 when rounding to -inf). */
export function fpRoundSigned(fmt: FPFormat, mant: bigint, exp: number, env: FPEnv, zeroSign?: number): bigint {
  if (mant === 0n) return fpZero(fmt, zeroSign ?? (fpcrRounding(env) === RM.NEGINF ? 1 : 0));
  return mant < 0n ? fpRound(fmt, 1, -mant, exp, false, env) : fpRound(fmt, 0, mant, exp, false, env);
}

export { Err as RoundErr, splitAt };
