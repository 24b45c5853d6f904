// FPProcessNaN / FPProcessNaNs / FPProcessNaNs3: which NaN an operation returns. Signalling NaNs
// win over quiet ones, then operand order; a signalling NaN is quietened and raises IOC; with
// FPCR.DN every NaN result is the default NaN.

import { type FPEnv, type FPFormat, FPCR, FPSR, fpDefaultNaN } from "./fp_format.ts";
import { FPType, type Unpacked } from "./fp_unpack.ts";

export function fpProcessNaN(fmt: FPFormat, type: FPType, op: bigint, env: FPEnv): bigint {
  let result = op;
  if (type === FPType.SNaN) {
    result = op | (1n << BigInt(fmt.F - 1));
    env.fpsr |= FPSR.IOC;
  }
  if (env.fpcr & FPCR.DN) result = fpDefaultNaN(fmt);
  return result;
}

/** The NaN result of a two-operand operation, or null when neither operand is a NaN. */
export function fpProcessNaNs(fmt: FPFormat, u1: Unpacked, u2: Unpacked, op1: bigint, op2: bigint, env: FPEnv): bigint | null {
  if (u1.type === FPType.SNaN) return fpProcessNaN(fmt, u1.type, op1, env);
  if (u2.type === FPType.SNaN) return fpProcessNaN(fmt, u2.type, op2, env);
  if (u1.type === FPType.QNaN) return fpProcessNaN(fmt, u1.type, op1, env);
  if (u2.type === FPType.QNaN) return fpProcessNaN(fmt, u2.type, op2, env);
  return null;
}

/** Three operands (fused multiply-add: addend first). */
export function fpProcessNaNs3(
  fmt: FPFormat, u1: Unpacked, u2: Unpacked, u3: Unpacked, op1: bigint, op2: bigint, op3: bigint, env: FPEnv,
): bigint | null {
  if (u1.type === FPType.SNaN) return fpProcessNaN(fmt, u1.type, op1, env);
  if (u2.type === FPType.SNaN) return fpProcessNaN(fmt, u2.type, op2, env);
  if (u3.type === FPType.SNaN) return fpProcessNaN(fmt, u3.type, op3, env);
  if (u1.type === FPType.QNaN) return fpProcessNaN(fmt, u1.type, op1, env);
  if (u2.type === FPType.QNaN) return fpProcessNaN(fmt, u2.type, op2, env);
  if (u3.type === FPType.QNaN) return fpProcessNaN(fmt, u3.type, op3, env);
  return null;
}

/** FPDefaultNaN after an invalid operation (IOC). */
export function fpInvalid(fmt: FPFormat, env: FPEnv): bigint {
  env.fpsr |= FPSR.IOC;
  return fpDefaultNaN(fmt);
}
