// The reciprocal and reciprocal square root estimates (FRECPE, FRSQRTE, URECPE, URSQRTE) and
// FRECPX, as the Arm ARM pseudocode computes them: RecipEstimate and RecipSqrtEstimate are 8-bit
// tables defined by integer arithmetic (no FEAT_RPRES), applied to the operand's top fraction
// bits; the result's exponent is derived from the operand's. Every implementation gives the same
// bits, which is why software can compare results with hardware.

import { type FPEnv, type FPFormat, FPCR, FPSR, RM, bitLength, fpDefaultNaN, fpInfinity, fpMaxNormal, fpZero, fpcrRounding, mask } from "./fp_format.ts";
import { fpProcessNaN } from "./fp_nan.ts";
import { FPType, fpUnpack, isNaNType } from "./fp_unpack.ts";

/** RecipEstimate: a in 256..511 (0.5 <= a/512 < 1) -> r in 256..511 (1 <= r/256 < 2), r ~ 1/a rounded. */
export function recipEstimate(a: number): number {
  const a2 = a * 2 + 1;
  const b = Math.floor((1 << 19) / a2);
  return (b + 1) >> 1;
}

/** RecipSqrtEstimate: a in 128..511 (0.25 <= a/512 < 1) -> r in 256..511, r ~ 1/sqrt(a) rounded. */
export function recipSqrtEstimate(a: number): number {
  // Below 0.5 in units of 1/512, above in units of 1/256 (bottom bit dropped), rounded to nearest.
  const a2 = a < 256 ? a * 2 + 1 : (((a >> 1) << 1) + 1) * 2;
  let b = 512;
  while (a2 * (b + 1) * (b + 1) < 1 << 28) b++;
  return (b + 1) >> 1;
}

/** The operand's fraction as 52 bits (double's width) and its biased exponent. */
function widen(fmt: FPFormat, op: bigint): { fraction: bigint; exp: number } {
  return { fraction: (op & mask(fmt.F)) << BigInt(52 - fmt.F), exp: Number((op >> BigInt(fmt.F)) & mask(fmt.E)) };
}

const biasOf = (fmt: FPFormat): number => (1 << (fmt.E - 1)) - 1;

/** FPRecipEstimate (FRECPE). */
export function fpRecipEstimate(fmt: FPFormat, op: bigint, env: FPEnv): bigint {
  const u = fpUnpack(fmt, op, env);
  const bias = biasOf(fmt);
  if (isNaNType(u.type)) return fpProcessNaN(fmt, u.type, op, env);
  if (u.type === FPType.Infinity) return fpZero(fmt, u.sign);
  if (u.type === FPType.Zero) {
    env.fpsr |= FPSR.DZC;
    return fpInfinity(fmt, u.sign);
  }
  const exponent = u.exp + bitLength(u.mant) - 1; // floor(log2 |value|)
  if (exponent < -(bias + 1)) {
    // 1/value overflows: 2^-16, 2^-128, 2^-1024 for half, single, double.
    const mode = fpcrRounding(env);
    const toInf = mode === RM.TIEEVEN || (mode === RM.POSINF && u.sign === 0) || (mode === RM.NEGINF && u.sign === 1);
    env.fpsr |= FPSR.OFC | FPSR.IXC;
    return toInf ? fpInfinity(fmt, u.sign) : fpMaxNormal(fmt, u.sign);
  }
  if (fmt.N !== 16 && env.fpcr & FPCR.FZ && exponent >= bias - 1) {
    // 1/value would be denormal: flushed (UFC, no IXC).
    env.fpsr |= FPSR.UFC;
    return fpZero(fmt, u.sign);
  }
  let { fraction, exp } = widen(fmt, op);
  if (exp === 0) {
    if (((fraction >> 51n) & 1n) === 0n) {
      exp = -1;
      fraction = (fraction << 2n) & mask(52);
    } else fraction = (fraction << 1n) & mask(52);
  }
  const scaled = Number((1n << 8n) | (fraction >> 44n));
  let resultExp = 2 * bias - 1 - exp;
  const estimate = BigInt(recipEstimate(scaled) & 0xff);
  let frac = estimate << 44n;
  if (resultExp === 0) frac = (1n << 51n) | (frac >> 1n);
  else if (resultExp === -1) {
    frac = (1n << 50n) | (frac >> 2n);
    resultExp = 0;
  }
  return fpZero(fmt, u.sign) | (BigInt(resultExp) << BigInt(fmt.F)) | (frac >> BigInt(52 - fmt.F));
}

/** FPRSqrtEstimate (FRSQRTE). */
export function fpRSqrtEstimate(fmt: FPFormat, op: bigint, env: FPEnv): bigint {
  const u = fpUnpack(fmt, op, env);
  if (isNaNType(u.type)) return fpProcessNaN(fmt, u.type, op, env);
  if (u.type === FPType.Zero) {
    env.fpsr |= FPSR.DZC;
    return fpInfinity(fmt, u.sign);
  }
  if (u.sign === 1) {
    env.fpsr |= FPSR.IOC;
    return fpDefaultNaN(fmt);
  }
  if (u.type === FPType.Infinity) return fpZero(fmt, 0);
  let { fraction, exp } = widen(fmt, op);
  if (exp === 0) {
    while (((fraction >> 51n) & 1n) === 0n) {
      fraction <<= 1n;
      exp -= 1;
    }
    fraction = (fraction << 1n) & mask(52);
  }
  // An even biased exponent (odd power of two: the biases are odd) scales into [0.5, 1), an odd
  // one into [0.25, 0.5), so that the result's exponent is a whole half of the operand's.
  const scaled = Number((exp & 1) === 0 ? (1n << 8n) | (fraction >> 44n) : (1n << 7n) | (fraction >> 45n));
  const resultExp = Math.floor((3 * biasOf(fmt) - 1 - exp) / 2);
  const estimate = BigInt(recipSqrtEstimate(scaled) & 0xff);
  return (BigInt(resultExp) << BigInt(fmt.F)) | (estimate << BigInt(fmt.F - 8));
}

/** UnsignedRecipEstimate (URECPE): a 32-bit fixed-point fraction in [0.5, 1) -> [1, 2). */
export function unsignedRecipEstimate(op: number): number {
  if ((op >>> 31) === 0) return 0xffffffff;
  return (recipEstimate(op >>> 23) << 23) >>> 0;
}

/** UnsignedRSqrtEstimate (URSQRTE): a 32-bit fixed-point fraction in [0.25, 1) -> [1, 2). */
export function unsignedRSqrtEstimate(op: number): number {
  if ((op >>> 30) === 0) return 0xffffffff;
  return (recipSqrtEstimate(op >>> 23) << 23) >>> 0;
}

/** FPRecpX (FRECPX): the exponent inverted, fraction cleared; zeros and denormals give the largest exponent. */
export function fpRecpX(fmt: FPFormat, op: bigint, env: FPEnv): bigint {
  const u = fpUnpack(fmt, op, env);
  if (isNaNType(u.type)) return fpProcessNaN(fmt, u.type, op, env);
  const exp = Number((op >> BigInt(fmt.F)) & mask(fmt.E));
  const maxExp = (1 << fmt.E) - 2;
  const e = exp === 0 ? maxExp : ~exp & ((1 << fmt.E) - 1);
  return fpZero(fmt, u.sign) | (BigInt(e) << BigInt(fmt.F));
}
