// FPMulX and the Newton-Raphson step instructions' arithmetic, FPRecipStepFused (FRECPS:
// 2 - a*b) and FPRSqrtStepFused (FRSQRTS: (3 - a*b) / 2). All three replace the invalid
// infinity * zero by the value the iteration needs (2, 2 and 1.5), so a reciprocal iteration
// started from an estimate of an infinity or a zero stays finite.

import { type FPEnv, type FPFormat, fpInfinity, fpNeg, fpZero } from "./fp_format.ts";
import { fpMul } from "./fp_arith.ts";
import { fpProcessNaNs } from "./fp_nan.ts";
import { fpRoundSigned } from "./fp_round.ts";
import { FPType, type Unpacked, fpUnpack } from "./fp_unpack.ts";

/** FPTwo / FPOnePointFive-style constants: sign, exponent 0 (biased), fraction's top bit optional. */
function fpOneScaled(fmt: FPFormat, sign: number, exp: number, half: boolean): bigint {
  const bias = (1 << (fmt.E - 1)) - 1;
  const frac = half ? 1n << BigInt(fmt.F - 1) : 0n;
  return fpZero(fmt, sign) | (BigInt(bias + exp) << BigInt(fmt.F)) | frac;
}

const isInfTimesZero = (a: Unpacked, b: Unpacked): boolean =>
  (a.type === FPType.Infinity && b.type === FPType.Zero) || (a.type === FPType.Zero && b.type === FPType.Infinity);

/** FPMulX: FPMul, except that infinity times zero is 2.0 with the product's sign (no IOC). */
export function fpMulX(fmt: FPFormat, op1: bigint, op2: bigint, env: FPEnv): bigint {
  const a = fpUnpack(fmt, op1, env);
  const b = fpUnpack(fmt, op2, env);
  const nan = fpProcessNaNs(fmt, a, b, op1, op2, env);
  if (nan !== null) return nan;
  if (isInfTimesZero(a, b)) return fpOneScaled(fmt, a.sign ^ b.sign, 1, false);
  return fpMul(fmt, op1, op2, env);
}

/**
 * constant + (-op1) * op2, halved when `halve`, rounded once. NaNs are chosen after op1's sign
 * flips (a NaN in op1 comes back negated), as the pseudocode negates first.
 */
function stepFused(fmt: FPFormat, op1: bigint, op2: bigint, env: FPEnv, constant: bigint, halve: boolean): bigint {
  const n1 = fpNeg(fmt, op1);
  const a = fpUnpack(fmt, n1, env);
  const b = fpUnpack(fmt, op2, env);
  const nan = fpProcessNaNs(fmt, a, b, n1, op2, env);
  if (nan !== null) return nan;
  if (isInfTimesZero(a, b)) return halve ? fpOneScaled(fmt, 0, 0, true) : fpOneScaled(fmt, 0, 1, false);
  if (a.type === FPType.Infinity || b.type === FPType.Infinity) return fpInfinity(fmt, a.sign ^ b.sign);
  const product = a.mant * b.mant;
  const pexp = a.exp + b.exp;
  const e = Math.min(pexp, 0);
  const sum = ((a.sign ^ b.sign ? -product : product) << BigInt(pexp - e)) + (constant << BigInt(-e));
  return fpRoundSigned(fmt, sum, halve ? e - 1 : e, env);
}

export const fpRecipStepFused = (fmt: FPFormat, op1: bigint, op2: bigint, env: FPEnv): bigint => stepFused(fmt, op1, op2, env, 2n, false);

export const fpRSqrtStepFused = (fmt: FPFormat, op1: bigint, op2: bigint, env: FPEnv): bigint => stepFused(fmt, op1, op2, env, 3n, true);
