// FPAdd, FPSub, FPMul, FPDiv, FPSqrt, FPMulAdd, FPMax/FPMin and FPMaxNum/FPMinNum: special cases
// as the Arm ARM pseudocode orders them, then the exact result (BigInt) rounded once by FPRound.

import { type FPEnv, type FPFormat, FPSR, RM, bitLength, fpInfinity, fpZero, fpcrRounding } from "./fp_format.ts";
import { fpInvalid, fpProcessNaNs, fpProcessNaNs3 } from "./fp_nan.ts";
import { fpRound, fpRoundSigned } from "./fp_round.ts";
import { FPType, type Unpacked, fpUnpack, isNaNType } from "./fp_unpack.ts";

const signed = (u: Unpacked): bigint => (u.sign ? -u.mant : u.mant);

/** Exact a + b of two finite values as mant * 2^exp (mant signed). */
function exactSum(a: Unpacked, b: Unpacked): { mant: bigint; exp: number } {
  if (a.mant === 0n) return { mant: signed(b), exp: b.exp };
  if (b.mant === 0n) return { mant: signed(a), exp: a.exp };
  const e = Math.min(a.exp, b.exp);
  return { mant: (signed(a) << BigInt(a.exp - e)) + (signed(b) << BigInt(b.exp - e)), exp: e };
}

const zeroSignOfExactZero = (env: FPEnv): number => (fpcrRounding(env) === RM.NEGINF ? 1 : 0);

/** FPAdd, or FPSub when `subtract`: NaNs are chosen from the operands as given, before op2's sign flips. */
function fpAddSub(fmt: FPFormat, op1: bigint, op2: bigint, env: FPEnv, subtract: boolean): bigint {
  const a = fpUnpack(fmt, op1, env);
  const given = fpUnpack(fmt, op2, env);
  const nan = fpProcessNaNs(fmt, a, given, op1, op2, env);
  if (nan !== null) return nan;
  const b: Unpacked = subtract ? { ...given, sign: given.sign ^ 1 } : given;
  const infA = a.type === FPType.Infinity;
  const infB = b.type === FPType.Infinity;
  if (infA && infB && a.sign !== b.sign) return fpInvalid(fmt, env);
  if (infA) return fpInfinity(fmt, a.sign);
  if (infB) return fpInfinity(fmt, b.sign);
  if (a.type === FPType.Zero && b.type === FPType.Zero && a.sign === b.sign) return fpZero(fmt, a.sign);
  const s = exactSum(a, b);
  return fpRoundSigned(fmt, s.mant, s.exp, env, s.mant === 0n ? zeroSignOfExactZero(env) : undefined);
}

export const fpAdd = (fmt: FPFormat, op1: bigint, op2: bigint, env: FPEnv): bigint => fpAddSub(fmt, op1, op2, env, false);

export const fpSub = (fmt: FPFormat, op1: bigint, op2: bigint, env: FPEnv): bigint => fpAddSub(fmt, op1, op2, env, true);

export function fpMul(fmt: FPFormat, op1: bigint, op2: bigint, env: FPEnv): bigint {
  const a = fpUnpack(fmt, op1, env);
  const b = fpUnpack(fmt, op2, env);
  const nan = fpProcessNaNs(fmt, a, b, op1, op2, env);
  if (nan !== null) return nan;
  const sign = a.sign ^ b.sign;
  const infA = a.type === FPType.Infinity;
  const infB = b.type === FPType.Infinity;
  const zeroA = a.type === FPType.Zero;
  const zeroB = b.type === FPType.Zero;
  if ((infA && zeroB) || (zeroA && infB)) return fpInvalid(fmt, env);
  if (infA || infB) return fpInfinity(fmt, sign);
  if (zeroA || zeroB) return fpZero(fmt, sign);
  return fpRound(fmt, sign, a.mant * b.mant, a.exp + b.exp, false, env);
}

export function fpDiv(fmt: FPFormat, op1: bigint, op2: bigint, env: FPEnv): bigint {
  const a = fpUnpack(fmt, op1, env);
  const b = fpUnpack(fmt, op2, env);
  const nan = fpProcessNaNs(fmt, a, b, op1, op2, env);
  if (nan !== null) return nan;
  const sign = a.sign ^ b.sign;
  const infA = a.type === FPType.Infinity;
  const infB = b.type === FPType.Infinity;
  const zeroA = a.type === FPType.Zero;
  const zeroB = b.type === FPType.Zero;
  if ((infA && infB) || (zeroA && zeroB)) return fpInvalid(fmt, env);
  if (infA || zeroB) {
    if (!infA) env.fpsr |= FPSR.DZC;
    return fpInfinity(fmt, sign);
  }
  if (zeroA || infB) return fpZero(fmt, sign);
  // Enough quotient bits that FPRound sees the rounding bit in mant itself (see fp_round.ts).
  const k = fmt.F + 3 + bitLength(b.mant);
  const num = a.mant << BigInt(k);
  const q = num / b.mant;
  return fpRound(fmt, sign, q, a.exp - b.exp - k, q * b.mant !== num, env);
}

/** floor(sqrt(v)) for v >= 0 (Newton's method on bigint). */
export function isqrt(v: bigint): bigint {
  if (v < 2n) return v;
  let x = 1n << BigInt((bitLength(v) >> 1) + 1);
  for (;;) {
    const y = (x + v / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function fpSqrt(fmt: FPFormat, op: bigint, env: FPEnv): bigint {
  const a = fpUnpack(fmt, op, env);
  if (isNaNType(a.type)) return fpProcessNaNs(fmt, a, a, op, op, env)!;
  if (a.type === FPType.Zero) return fpZero(fmt, a.sign);
  if (a.sign === 1) return fpInvalid(fmt, env);
  if (a.type === FPType.Infinity) return fpInfinity(fmt, 0);
  let m = a.mant;
  let e = a.exp;
  if (e & 1) {
    m <<= 1n;
    e -= 1;
  }
  const k = fmt.F + 3 + fmt.F; // result bits >= F+3 even for the smallest denormal input
  const scaled = m << BigInt(2 * k);
  const r = isqrt(scaled);
  return fpRound(fmt, 0, r, e / 2 - k, r * r !== scaled, env);
}

/** FPMulAdd: addend + op1 * op2 with one rounding (FMADD and friends negate operands first). */
export function fpMulAdd(fmt: FPFormat, addend: bigint, op1: bigint, op2: bigint, env: FPEnv): bigint {
  const c = fpUnpack(fmt, addend, env);
  const a = fpUnpack(fmt, op1, env);
  const b = fpUnpack(fmt, op2, env);
  const infA = a.type === FPType.Infinity;
  const infB = b.type === FPType.Infinity;
  const zeroA = a.type === FPType.Zero;
  const zeroB = b.type === FPType.Zero;
  const nan = fpProcessNaNs3(fmt, c, a, b, addend, op1, op2, env);
  // inf * 0 is invalid even when the addend is a quiet NaN (it still is the default NaN result).
  if (c.type === FPType.QNaN && ((infA && zeroB) || (zeroA && infB))) return fpInvalid(fmt, env);
  if (nan !== null) return nan;
  const infC = c.type === FPType.Infinity;
  const zeroC = c.type === FPType.Zero;
  const signP = a.sign ^ b.sign;
  const infP = infA || infB;
  const zeroP = zeroA || zeroB;
  if ((infA && zeroB) || (zeroA && infB) || (infC && infP && c.sign !== signP)) return fpInvalid(fmt, env);
  if ((infC && c.sign === 0) || (infP && signP === 0)) return fpInfinity(fmt, 0);
  if ((infC && c.sign === 1) || (infP && signP === 1)) return fpInfinity(fmt, 1);
  if (zeroC && zeroP && c.sign === signP) return fpZero(fmt, c.sign);
  const product: Unpacked = { type: FPType.Nonzero, sign: signP, mant: a.mant * b.mant, exp: a.exp + b.exp };
  const s = exactSum(c, product);
  return fpRoundSigned(fmt, s.mant, s.exp, env, s.mant === 0n ? zeroSignOfExactZero(env) : undefined);
}

/** Compare two finite-or-infinite unpacked values: -1, 0, 1 (zeros equal whatever their sign). */
export function compareValues(a: Unpacked, b: Unpacked): number {
  const key = (u: Unpacked): [number, bigint, number] => {
    if (u.type === FPType.Infinity) return [u.sign ? -1 : 1, 1n, 1_000_000];
    return [u.mant === 0n ? 0 : u.sign ? -1 : 1, u.mant, u.exp];
  };
  const [sa, ma, ea] = key(a);
  const [sb, mb, eb] = key(b);
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  let mag: number;
  if (ea === 1_000_000 || eb === 1_000_000) mag = ea === eb ? 0 : ea > eb ? 1 : -1;
  else {
    const e = Math.min(ea, eb);
    const x = ma << BigInt(ea - e);
    const y = mb << BigInt(eb - e);
    mag = x === y ? 0 : x > y ? 1 : -1;
  }
  return sa * mag;
}

/** FPMax / FPMin: NaNs propagate; +0 is larger than -0. */
export function fpMaxMin(fmt: FPFormat, op1: bigint, op2: bigint, env: FPEnv, max: boolean): bigint {
  const a = fpUnpack(fmt, op1, env);
  const b = fpUnpack(fmt, op2, env);
  const nan = fpProcessNaNs(fmt, a, b, op1, op2, env);
  if (nan !== null) return nan;
  return maxMinOf(fmt, a, b, op1, op2, env, max);
}

function maxMinOf(fmt: FPFormat, a: Unpacked, b: Unpacked, op1: bigint, op2: bigint, env: FPEnv, max: boolean): bigint {
  let c = compareValues(a, b);
  if (c === 0 && a.type === FPType.Zero && b.type === FPType.Zero) {
    // max(+0,-0) = +0, min(+0,-0) = -0
    const sign = max ? a.sign & b.sign : a.sign | b.sign;
    return fpZero(fmt, sign);
  }
  if (c === 0) c = 1;
  const pickA = max ? c > 0 : c < 0;
  const u = pickA ? a : b;
  const bits = pickA ? op1 : op2;
  // The result goes through FPRound in the pseudocode: a flushed denormal input comes back as zero
  // (and a denormal result is flushed under FZ with UFC).
  if (u.type === FPType.Infinity) return fpInfinity(fmt, u.sign);
  if (u.type === FPType.Zero) return fpZero(fmt, u.sign);
  return u.type === FPType.Denormal || u.type === FPType.Nonzero ? fpRound(fmt, u.sign, u.mant, u.exp, false, env) : bits;
}

/** FPMaxNum / FPMinNum: a quiet NaN against a number loses (it is treated as -inf / +inf). */
export function fpMaxMinNum(fmt: FPFormat, op1: bigint, op2: bigint, env: FPEnv, max: boolean): bigint {
  const a = fpUnpack(fmt, op1, env);
  const b = fpUnpack(fmt, op2, env);
  let x = op1;
  let y = op2;
  const lose = fpInfinity(fmt, max ? 1 : 0);
  if (a.type === FPType.QNaN && !isNaNType(b.type)) x = lose;
  else if (b.type === FPType.QNaN && !isNaNType(a.type)) y = lose;
  if (x === op1 && y === op2) return fpMaxMin(fmt, op1, op2, env, max);
  // Unpacking again with the replacement is free of flags: infinities set none.
  const ua = x === op1 ? a : fpUnpack(fmt, x, env);
  const ub = y === op2 ? b : fpUnpack(fmt, y, env);
  return maxMinOf(fmt, ua, ub, x, y, env, max);
}

