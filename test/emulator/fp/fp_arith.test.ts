// The FP arithmetic pseudocode's special cases: NaN propagation order and quieting, default NaN,
// invalid operations, division by zero, signed zeros, input flushing under FZ, max/min.

import { describe, expect, it } from "vitest";
import { fpAdd, fpDiv, fpMaxMin, fpMaxMinNum, fpMul, fpMulAdd, fpSqrt, fpSub, isqrt } from "../../../emulator/fp/fp_arith.ts";
import { fpCompare } from "../../../emulator/fp/fp_compare.ts";
import { FP32, FP64, FPCR, FPSR, RM, type FPEnv } from "../../../emulator/fp/fp_format.ts";

const env = (fpcr = 0): FPEnv => ({ fpcr, fpsr: 0 });
const D = (x: number): bigint => new BigUint64Array(new Float64Array([x]).buffer)[0]!;
const QNAN1 = 0x7ff8000000000123n;
const QNAN2 = 0xfff8000000000456n;
const SNAN2 = 0x7ff0000000000789n;
const DEFAULT_NAN = 0x7ff8000000000000n;
const DENORM = 0x0000000000000005n;

describe("NaN propagation (FPProcessNaNs)", () => {
  it("prefers a signalling NaN, quietens it and raises IOC", () => {
    const e = env();
    expect(fpAdd(FP64, QNAN1, SNAN2, e)).toBe(SNAN2 | (1n << 51n));
    expect(e.fpsr).toBe(FPSR.IOC);
  });

  it("otherwise returns the first quiet NaN unchanged, without flags", () => {
    const e = env();
    expect(fpMul(FP64, QNAN2, QNAN1, e)).toBe(QNAN2);
    expect(fpSub(FP64, D(1), QNAN1, e)).toBe(QNAN1);
    expect(e.fpsr).toBe(0);
  });

  it("returns the default NaN under FPCR.DN", () => {
    const e = env(FPCR.DN);
    expect(fpAdd(FP64, QNAN2, D(1), e)).toBe(DEFAULT_NAN);
    expect(fpDiv(FP32, 0x7f800001n, 0x3f800000n, e)).toBe(0x7fc00000n);
    expect(e.fpsr).toBe(FPSR.IOC);
  });

  it("takes the addend first in a fused multiply-add, and inf*0 + qNaN is invalid", () => {
    let e = env();
    expect(fpMulAdd(FP64, QNAN1, QNAN2, D(1), e)).toBe(QNAN1);
    expect(fpMulAdd(FP64, QNAN1, SNAN2, D(1), e)).toBe(SNAN2 | (1n << 51n));
    e = env();
    expect(fpMulAdd(FP64, QNAN1, D(Infinity), D(0), e)).toBe(DEFAULT_NAN);
    expect(e.fpsr).toBe(FPSR.IOC);
  });
});

describe("invalid operations, infinities and zeros", () => {
  it("inf - inf, 0 * inf, 0 / 0, sqrt(-1) give the default NaN with IOC", () => {
    for (const f of [
      (e: FPEnv) => fpAdd(FP64, D(Infinity), D(-Infinity), e),
      (e: FPEnv) => fpMul(FP64, D(0), D(-Infinity), e),
      (e: FPEnv) => fpDiv(FP64, D(-0), D(0), e),
      (e: FPEnv) => fpSqrt(FP64, D(-1), e),
    ]) {
      const e = env();
      expect(f(e)).toBe(DEFAULT_NAN);
      expect(e.fpsr).toBe(FPSR.IOC);
    }
  });

  it("x / 0 is a signed infinity with DZC", () => {
    const e = env();
    expect(fpDiv(FP64, D(-3), D(0), e)).toBe(D(-Infinity));
    expect(e.fpsr).toBe(FPSR.DZC);
  });

  it("an exact zero sum is +0, or -0 when rounding toward minus infinity", () => {
    expect(fpSub(FP64, D(1.5), D(1.5), env())).toBe(0n);
    expect(fpSub(FP64, D(1.5), D(1.5), env(RM.NEGINF << FPCR.RMODE_SHIFT))).toBe(1n << 63n);
    expect(fpAdd(FP64, D(-0), D(-0), env())).toBe(1n << 63n);
    expect(fpSqrt(FP64, D(-0), env())).toBe(1n << 63n);
  });

  it("flushes denormal inputs under FZ with IDC", () => {
    const e = env(FPCR.FZ);
    expect(fpAdd(FP64, DENORM, D(0), e)).toBe(0n);
    expect(e.fpsr).toBe(FPSR.IDC);
    const e2 = env();
    expect(fpAdd(FP64, DENORM, D(0), e2)).toBe(DENORM);
    expect(e2.fpsr).toBe(0);
  });
});

describe("correct rounding", () => {
  it("matches the host's IEEE double arithmetic in round-to-nearest", () => {
    const xs = [1 / 3, Math.PI, 1e-310, 7e300, -2.5, 123456789.123, 2 ** -1022, 0.1];
    for (const a of xs) {
      for (const b of xs) {
        expect(fpAdd(FP64, D(a), D(b), env())).toBe(D(a + b));
        expect(fpMul(FP64, D(a), D(b), env())).toBe(D(a * b));
        expect(fpDiv(FP64, D(a), D(b), env())).toBe(D(a / b));
      }
      if (a > 0) expect(fpSqrt(FP64, D(a), env())).toBe(D(Math.sqrt(a)));
    }
  });

  it("isqrt is the integer square root", () => {
    for (const v of [0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n, (1n << 200n) + 12345n]) {
      const r = isqrt(v);
      expect(r * r <= v && (r + 1n) * (r + 1n) > v).toBe(true);
    }
  });
});

describe("max, min and compare", () => {
  it("orders signed zeros and lets a quiet NaN lose in the NM forms", () => {
    expect(fpMaxMin(FP64, D(-0), D(0), env(), true)).toBe(0n);
    expect(fpMaxMin(FP64, D(0), D(-0), env(), false)).toBe(1n << 63n);
    expect(fpMaxMinNum(FP64, QNAN1, D(2), env(), true)).toBe(D(2));
    expect(fpMaxMinNum(FP64, D(2), QNAN1, env(), false)).toBe(D(2));
    const e = env();
    expect(fpMaxMinNum(FP64, SNAN2, D(2), e, true)).toBe(SNAN2 | (1n << 51n));
    expect(e.fpsr).toBe(FPSR.IOC);
  });

  it("compares to NZCV; FCMPE signals on quiet NaNs, FCMP only on signalling ones", () => {
    expect(fpCompare(FP64, D(1), D(2), false, env())).toBe(0b1000);
    expect(fpCompare(FP64, D(2), D(2), false, env())).toBe(0b0110);
    expect(fpCompare(FP64, D(-0), D(0), false, env())).toBe(0b0110);
    expect(fpCompare(FP64, D(3), D(2), false, env())).toBe(0b0010);
    let e = env();
    expect(fpCompare(FP64, QNAN1, D(2), false, e)).toBe(0b0011);
    expect(e.fpsr).toBe(0);
    e = env();
    expect(fpCompare(FP64, QNAN1, D(2), true, e)).toBe(0b0011);
    expect(e.fpsr).toBe(FPSR.IOC);
  });
});
