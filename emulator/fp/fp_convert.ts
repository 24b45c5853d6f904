// Conversions: FPToFixed (FCVT[NPMZA][SU], saturating, NaN -> 0 with IOC), FixedToFP (SCVTF,
// UCVTF), FPRoundInt (FRINT*), and FPConvert between precisions (FCVT), with FPConvertNaN keeping
// the top of a NaN's payload.

import { type FPEnv, type FPFormat, FPCR, FPSR, type Rounding, fpDefaultNaN, fpInfinity, fpZero, fpcrRounding, mask } from "./fp_format.ts";
import { fpProcessNaN } from "./fp_nan.ts";
import { RoundErr, fpRound, roundUp, splitAt } from "./fp_round.ts";
import { FPType, fpUnpack, isNaNType } from "./fp_unpack.ts";

/** FPToFixed: `op` * 2^fbits rounded to an integer of `isize` bits (as an unsigned bigint pattern). */
export function fpToFixed(
  fmt: FPFormat, op: bigint, fbits: number, unsigned: boolean, mode: Rounding, isize: 32 | 64, env: FPEnv,
): bigint {
  const u = fpUnpack(fmt, op, env);
  const max = unsigned ? mask(isize) : mask(isize - 1);
  const min = unsigned ? 0n : -(1n << BigInt(isize - 1));
  let value: bigint;
  let inexact = false;
  if (isNaNType(u.type)) {
    env.fpsr |= FPSR.IOC;
    return 0n;
  }
  if (u.type === FPType.Infinity) value = u.sign ? min - 1n : max + 1n;
  else if (u.type === FPType.Zero) value = 0n;
  else {
    const { int, err } = splitAt(u.mant, u.exp + fbits, false, 0);
    const up = roundUp(mode, u.sign, int, err);
    const mag = up ? int + 1n : int;
    value = u.sign ? -mag : mag;
    inexact = err !== RoundErr.None;
  }
  if (value > max || value < min) {
    env.fpsr |= FPSR.IOC;
    return BigInt.asUintN(isize, value > max ? max : min);
  }
  if (inexact) env.fpsr |= FPSR.IXC;
  return BigInt.asUintN(isize, value);
}

/** FixedToFP: the integer `bits` (isize wide, signed or not) / 2^fbits, rounded per FPCR. */
export function fixedToFP(fmt: FPFormat, bits: bigint, isize: 32 | 64, fbits: number, unsigned: boolean, env: FPEnv): bigint {
  const v = unsigned ? BigInt.asUintN(isize, bits) : BigInt.asIntN(isize, bits);
  if (v === 0n) return fpZero(fmt, 0);
  return v < 0n ? fpRound(fmt, 1, -v, -fbits, false, env) : fpRound(fmt, 0, v, -fbits, false, env);
}

/** FPRoundInt: round to an integral value in the same format; `exact` (FRINTX) raises IXC. */
export function fpRoundInt(fmt: FPFormat, op: bigint, mode: Rounding, exact: boolean, env: FPEnv): bigint {
  const u = fpUnpack(fmt, op, env);
  if (isNaNType(u.type)) return fpProcessNaN(fmt, u.type, op, env);
  if (u.type === FPType.Infinity) return fpInfinity(fmt, u.sign);
  if (u.type === FPType.Zero) return fpZero(fmt, u.sign);
  const { int, err } = splitAt(u.mant, u.exp, false, 0);
  const mag = roundUp(mode, u.sign, int, err) ? int + 1n : int;
  if (err !== RoundErr.None && exact) env.fpsr |= FPSR.IXC;
  if (mag === 0n) return fpZero(fmt, u.sign);
  // An integer that came from this format fits it exactly: no flags.
  const quiet: FPEnv = { fpcr: env.fpcr & ~FPCR.FZ, fpsr: 0 };
  return fpRound(fmt, u.sign, mag, 0, false, quiet);
}

/** FPConvertNaN: quieten and move the payload's top bits to the other format. */
export function fpConvertNaN(from: FPFormat, to: FPFormat, op: bigint): bigint {
  const sign = (op >> BigInt(from.N - 1)) & 1n;
  const frac = op & mask(from.F - 1); // below the quiet bit
  const payload = to.F >= from.F ? frac << BigInt(to.F - from.F) : frac >> BigInt(from.F - to.F);
  return (sign << BigInt(to.N - 1)) | fpDefaultNaN(to) | payload;
}

/**
 * FPConvert (FCVT): `op` in `from` to `to`, rounding per FPCR. A half-precision destination in
 * the alternative format (FPCR.AHP) has no NaN or infinity: they become zero or the largest
 * value, with IOC.
 */
export function fpConvert(from: FPFormat, to: FPFormat, op: bigint, env: FPEnv, mode: Rounding = fpcrRounding(env)): bigint {
  const u = fpUnpack(from, op, env, from.N !== 16);
  const altHalf = to.N === 16 && (env.fpcr & FPCR.AHP) !== 0;
  if (isNaNType(u.type)) {
    if (u.type === FPType.SNaN || altHalf) env.fpsr |= FPSR.IOC;
    if (altHalf) return fpZero(to, u.sign);
    return env.fpcr & FPCR.DN ? fpDefaultNaN(to) : fpConvertNaN(from, to, op);
  }
  if (u.type === FPType.Infinity) {
    if (!altHalf) return fpInfinity(to, u.sign);
    env.fpsr |= FPSR.IOC;
    return fpZero(to, u.sign) | mask(to.N - 1);
  }
  if (u.type === FPType.Zero) return fpZero(to, u.sign);
  return fpRound(to, u.sign, u.mant, u.exp, false, env, mode);
}

