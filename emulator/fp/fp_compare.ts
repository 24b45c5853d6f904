// FPCompare / FPCompareEQ-style flag results for FCMP, FCMPE and FCCMP(E): NZCV = 0011 when
// unordered (IOC for a signalling NaN, or for any NaN when `signalAll`), else 0110 equal, 1000
// less than, 0010 greater than.

import { type FPEnv, type FPFormat, FPSR } from "./fp_format.ts";
import { compareValues } from "./fp_arith.ts";
import { FPType, fpUnpack, isNaNType } from "./fp_unpack.ts";

export function fpCompare(fmt: FPFormat, op1: bigint, op2: bigint, signalAll: boolean, env: FPEnv): number {
  const a = fpUnpack(fmt, op1, env);
  const b = fpUnpack(fmt, op2, env);
  if (isNaNType(a.type) || isNaNType(b.type)) {
    if (signalAll || a.type === FPType.SNaN || b.type === FPType.SNaN) env.fpsr |= FPSR.IOC;
    return 0b0011;
  }
  const c = compareValues(a, b);
  return c === 0 ? 0b0110 : c < 0 ? 0b1000 : 0b0010;
}

/**
 * FPCompareEQ / FPCompareGE / FPCompareGT (the Advanced SIMD FCM* and FAC* compares): false when
 * unordered. EQ signals IOC only for a signalling NaN, GE and GT for any NaN.
 */
export const enum CmpOp {
  EQ,
  GE,
  GT,
}

export function fpCompareOp(fmt: FPFormat, op1: bigint, op2: bigint, cmp: CmpOp, env: FPEnv): boolean {
  const a = fpUnpack(fmt, op1, env);
  const b = fpUnpack(fmt, op2, env);
  if (isNaNType(a.type) || isNaNType(b.type)) {
    if (cmp !== CmpOp.EQ || a.type === FPType.SNaN || b.type === FPType.SNaN) env.fpsr |= FPSR.IOC;
    return false;
  }
  const c = compareValues(a, b);
  return cmp === CmpOp.EQ ? c === 0 : cmp === CmpOp.GE ? c >= 0 : c > 0;
}
