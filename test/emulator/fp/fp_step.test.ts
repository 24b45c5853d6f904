// FPMulX, FPRecipStepFused, FPRSqrtStepFused and FPCompareEQ/GE/GT: the infinity-times-zero
// replacements, NaN choice after op1's negation, single rounding, and compare flags.

import { describe, expect, it } from "vitest";
import { CmpOp, fpCompareOp } from "../../../emulator/fp/fp_compare.ts";
import { FP32, FP64, FPCR, FPSR, RM, type FPEnv } from "../../../emulator/fp/fp_format.ts";
import { fpMulX, fpRSqrtStepFused, fpRecipStepFused } from "../../../emulator/fp/fp_step.ts";

const env = (fpcr = 0): FPEnv => ({ fpcr, fpsr: 0 });
const D = (x: number): bigint => new BigUint64Array(new Float64Array([x]).buffer)[0]!;
const S = (x: number): bigint => BigInt(new Uint32Array(new Float32Array([x]).buffer)[0]!);
const INF = 0x7ff0000000000000n;
const NINF = 0xfff0000000000000n;

describe("FMULX (FPMulX)", () => {
  it("infinity times zero is 2.0 with the product's sign and no flags", () => {
    const e = env();
    expect(fpMulX(FP64, INF, D(0), e)).toBe(D(2));
    expect(fpMulX(FP64, D(-0), INF, e)).toBe(D(-2));
    expect(fpMulX(FP32, 0xff800000n, S(-0), e)).toBe(S(2));
    expect(e.fpsr).toBe(0);
  });

  it("is FPMul otherwise, NaNs first", () => {
    const e = env();
    expect(fpMulX(FP64, D(3), D(-0.5), e)).toBe(D(-1.5));
    expect(fpMulX(FP64, INF, 0x7ff0000000000001n, e)).toBe(0x7ff8000000000001n);
    expect(e.fpsr).toBe(FPSR.IOC);
  });

  it("a denormal flushed by FZ counts as zero against infinity (IDC)", () => {
    const e = env(FPCR.FZ);
    expect(fpMulX(FP64, 1n, NINF, e)).toBe(D(-2));
    expect(e.fpsr).toBe(FPSR.IDC);
  });
});

describe("FRECPS / FRSQRTS (fused Newton-Raphson steps)", () => {
  it("compute 2 - a*b and (3 - a*b)/2 with one rounding", () => {
    expect(fpRecipStepFused(FP64, D(3), D(0.25), env())).toBe(D(1.25));
    expect(fpRSqrtStepFused(FP64, D(3), D(0.25), env())).toBe(D(1.125));
    // 2 - (1 + 2^-30)^2 needs the exact product: 1 - 2^-29 - 2^-60 rounds to 1 - 2^-29 in double.
    const x = D(1 + 2 ** -30);
    expect(fpRecipStepFused(FP64, x, x, env())).toBe(D(1 - 2 ** -29));
  });

  it("infinity times zero gives 2.0 and 1.5 without IOC; infinities give signed infinity", () => {
    const e = env();
    expect(fpRecipStepFused(FP32, 0x7f800000n, S(-0), e)).toBe(S(2));
    expect(fpRSqrtStepFused(FP32, S(0), 0xff800000n, e)).toBe(S(1.5));
    expect(e.fpsr).toBe(0);
    expect(fpRecipStepFused(FP64, INF, D(2), e)).toBe(NINF);
    expect(fpRSqrtStepFused(FP64, NINF, D(2), e)).toBe(INF);
  });

  it("an exact zero result takes the rounding mode's sign", () => {
    expect(fpRecipStepFused(FP64, D(1), D(2), env())).toBe(0n);
    expect(fpRecipStepFused(FP64, D(1), D(2), env(RM.NEGINF << FPCR.RMODE_SHIFT))).toBe(D(-0));
    expect(fpRSqrtStepFused(FP64, D(1), D(3), env(RM.NEGINF << FPCR.RMODE_SHIFT))).toBe(D(-0));
  });

  it("a NaN in the first operand comes back negated (the operand is negated before NaN processing)", () => {
    expect(fpRecipStepFused(FP64, 0x7ff8000000000042n, D(1), env())).toBe(0xfff8000000000042n);
    expect(fpRSqrtStepFused(FP64, D(1), 0x7ff8000000000042n, env())).toBe(0x7ff8000000000042n);
  });
});

describe("FPCompareEQ/GE/GT", () => {
  it("are false when unordered; EQ raises IOC only for a signalling NaN, GE/GT for any NaN", () => {
    const q = 0x7ff8000000000000n;
    let e = env();
    expect(fpCompareOp(FP64, q, D(1), CmpOp.EQ, e)).toBe(false);
    expect(e.fpsr).toBe(0);
    expect(fpCompareOp(FP64, 0x7ff0000000000001n, D(1), CmpOp.EQ, e)).toBe(false);
    expect(e.fpsr).toBe(FPSR.IOC);
    e = env();
    expect(fpCompareOp(FP64, D(1), q, CmpOp.GE, e)).toBe(false);
    expect(e.fpsr).toBe(FPSR.IOC);
  });

  it("order values, with +0 == -0", () => {
    const e = env();
    expect(fpCompareOp(FP64, D(0), D(-0), CmpOp.EQ, e)).toBe(true);
    expect(fpCompareOp(FP64, D(-0), D(0), CmpOp.GE, e)).toBe(true);
    expect(fpCompareOp(FP64, D(-0), D(0), CmpOp.GT, e)).toBe(false);
    expect(fpCompareOp(FP64, INF, D(1e308), CmpOp.GT, e)).toBe(true);
    expect(e.fpsr).toBe(0);
  });
});
