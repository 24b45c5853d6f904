// The reciprocal (square root) estimate tables and the FRECPE/FRSQRTE/URECPE/URSQRTE/FRECPX
// arithmetic around them: table values checked against their definition (the integer nearest
// to 1/x resp. 1/sqrt(x) on the table's grid), exponents, special cases and flags.

import { describe, expect, it } from "vitest";
import {
  fpRSqrtEstimate, fpRecipEstimate, fpRecpX, recipEstimate, recipSqrtEstimate, unsignedRSqrtEstimate, unsignedRecipEstimate,
} from "../../../emulator/fp/fp_estimate.ts";
import { FP32, FP64, FPCR, FPSR, RM, type FPEnv } from "../../../emulator/fp/fp_format.ts";

const env = (fpcr = 0): FPEnv => ({ fpcr, fpsr: 0 });
const S = (x: number): bigint => BigInt(new Uint32Array(new Float32Array([x]).buffer)[0]!);
const D = (x: number): bigint => new BigUint64Array(new Float64Array([x]).buffer)[0]!;
const toS = (b: bigint): number => new Float32Array(new Uint32Array([Number(b)]).buffer)[0]!;

describe("RecipEstimate and RecipSqrtEstimate tables", () => {
  it("RecipEstimate(a) is 1/x at the middle of a's 1/512 step, rounded to 1/256, for all 256 entries", () => {
    for (let a = 256; a < 512; a++) {
      const r = recipEstimate(a);
      expect(r).toBeGreaterThanOrEqual(256);
      expect(r).toBeLessThan(512);
      expect(Math.abs(r / 256 - 512 / (a + 0.5))).toBeLessThanOrEqual(1 / 512 + 1e-9);
    }
    expect([recipEstimate(256), recipEstimate(300), recipEstimate(511)]).toEqual([511, 436, 256]);
  });

  it("RecipSqrtEstimate(a) is 1/sqrt(x) on the grid of each half, rounded to 1/256", () => {
    for (let a = 128; a < 512; a++) {
      const r = recipSqrtEstimate(a);
      expect(r).toBeGreaterThanOrEqual(256);
      expect(r).toBeLessThan(512);
      const x = a < 256 ? (a + 0.5) / 512 : ((a >> 1) + 0.5) / 256;
      expect(Math.abs(r / 256 - 1 / Math.sqrt(x))).toBeLessThanOrEqual(1 / 256);
    }
    expect([recipSqrtEstimate(128), recipSqrtEstimate(256), recipSqrtEstimate(511)]).toEqual([511, 361, 256]);
  });
});

describe("FRECPE (FPRecipEstimate)", () => {
  it("gives 8 significant bits of 1/x with the exponent negated", () => {
    expect(fpRecipEstimate(FP32, S(2), env())).toBe(S(0.4990234375));
    expect(fpRecipEstimate(FP64, D(-3), env())).toBe(D(-0.3330078125));
    expect(Math.abs(toS(fpRecipEstimate(FP32, S(1e10), env())) * 1e10 - 1)).toBeLessThan(1 / 256);
  });

  it("zero gives infinity with DZC, infinity gives zero, NaNs propagate", () => {
    const e = env();
    expect(fpRecipEstimate(FP32, S(-0), e)).toBe(0xff800000n);
    expect(e.fpsr).toBe(FPSR.DZC);
    expect(fpRecipEstimate(FP32, 0x7f800000n, env())).toBe(0n);
    const n = env();
    expect(fpRecipEstimate(FP32, 0x7f800001n, n)).toBe(0x7fc00001n);
    expect(n.fpsr).toBe(FPSR.IOC);
  });

  it("a denormal below 2^-128 overflows per rounding mode; under FZ a huge value flushes with UFC", () => {
    let e = env();
    expect(fpRecipEstimate(FP32, 1n, e)).toBe(0x7f800000n);
    expect(e.fpsr).toBe(FPSR.OFC | FPSR.IXC);
    e = env(RM.ZERO << FPCR.RMODE_SHIFT);
    expect(fpRecipEstimate(FP32, 1n, e)).toBe(0x7f7fffffn);
    e = env(FPCR.FZ);
    expect(fpRecipEstimate(FP32, S(2 ** 126), e)).toBe(0n);
    expect(e.fpsr).toBe(FPSR.UFC);
  });

  it("a denormal result keeps the estimate's bits below the leading one", () => {
    // 1/2^127 = 2^-127 is a single-precision denormal: fraction 01:estimate.
    expect(fpRecipEstimate(FP32, S(2 ** 127), env())).toBe(0x00200000n | (BigInt(recipEstimate(256) & 0xff) << 13n));
  });
});

describe("FRSQRTE (FPRSqrtEstimate)", () => {
  it("halves the exponent, choosing the table half by its parity", () => {
    expect(fpRSqrtEstimate(FP32, S(4), env())).toBe(S(0.4990234375));
    expect(Math.abs(toS(fpRSqrtEstimate(FP32, S(2), env())) * Math.SQRT2 - 1)).toBeLessThan(1 / 256);
    expect(Math.abs(toS(fpRSqrtEstimate(FP32, S(3.78e9), env())) * Math.sqrt(3.78e9) - 1)).toBeLessThan(1 / 256);
  });

  it("negative operands are invalid, zero divides by zero, +inf gives +0", () => {
    let e = env();
    expect(fpRSqrtEstimate(FP64, D(-1), e)).toBe(0x7ff8000000000000n);
    expect(e.fpsr).toBe(FPSR.IOC);
    e = env();
    expect(fpRSqrtEstimate(FP64, D(-0), e)).toBe(0xfff0000000000000n);
    expect(e.fpsr).toBe(FPSR.DZC);
    expect(fpRSqrtEstimate(FP64, 0x7ff0000000000000n, env())).toBe(0n);
  });

  it("normalizes a denormal operand before choosing the half", () => {
    const r = toS(fpRSqrtEstimate(FP32, 3n, env())); // 3 * 2^-149
    expect(Math.abs(r * Math.sqrt(3 * 2 ** -149) - 1)).toBeLessThan(1 / 128);
  });
});

describe("URECPE, URSQRTE and FRECPX", () => {
  it("URECPE/URSQRTE saturate below their input range and otherwise give 9 estimate bits", () => {
    expect(unsignedRecipEstimate(0x7fffffff)).toBe(0xffffffff);
    expect(unsignedRecipEstimate(0x80000000)).toBe(511 << 23 >>> 0);
    expect(unsignedRSqrtEstimate(0x3fffffff)).toBe(0xffffffff);
    expect(unsignedRSqrtEstimate(0x40000000)).toBe(511 << 23 >>> 0);
  });

  it("FRECPX inverts the exponent and clears the fraction; zeros and denormals get the largest exponent", () => {
    expect(fpRecpX(FP32, S(3), env())).toBe(S(1)); // exponent 0x80 -> 0x7f
    expect(fpRecpX(FP32, 0x80000001n, env())).toBe(0x80000000n | (0xfen << 23n));
    expect(fpRecpX(FP64, 0xfff0000000000000n, env())).toBe(0x8000000000000000n);
    const e = env(FPCR.FZ);
    expect(fpRecpX(FP32, 1n, e)).toBe(0xfen << 23n);
    expect(e.fpsr).toBe(FPSR.IDC);
  });
});
