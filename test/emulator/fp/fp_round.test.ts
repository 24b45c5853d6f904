// FPRound edge cases: ties under every rounding mode, overflow to infinity or the largest normal,
// tiny results (denormals, underflow before rounding, FZ), each with its FPSR flags.

import { describe, expect, it } from "vitest";
import { FP32, FP64, FPCR, FPSR, RM, type FPEnv } from "../../../emulator/fp/fp_format.ts";
import { fpRound } from "../../../emulator/fp/fp_round.ts";

const env = (fpcr = 0): FPEnv => ({ fpcr, fpsr: 0 });
const withMode = (mode: number, fz = false): FPEnv => env((mode << FPCR.RMODE_SHIFT) | (fz ? FPCR.FZ : 0));

describe("FPRound", () => {
  it("rounds a tie to even, away, up, down and toward zero", () => {
    // 2^24 + 1 lies halfway between the singles 2^24 and 2^24 + 2.
    const m = (1n << 24n) + 1n;
    const cases: [number, number, bigint][] = [
      [RM.TIEEVEN, 0, 0x4b800000n], [RM.TIEAWAY, 0, 0x4b800001n], [RM.POSINF, 0, 0x4b800001n],
      [RM.NEGINF, 0, 0x4b800000n], [RM.ZERO, 0, 0x4b800000n],
      [RM.TIEEVEN, 1, 0xcb800000n], [RM.POSINF, 1, 0xcb800000n], [RM.NEGINF, 1, 0xcb800001n],
    ];
    for (const [mode, sign, bits] of cases) {
      const e = env();
      expect(fpRound(FP32, sign, m, 0, false, e, mode as never)).toBe(bits);
      expect(e.fpsr).toBe(FPSR.IXC);
    }
    // An odd neighbour below: 2^24 + 3 is a tie between 2^24 + 2 and 2^24 + 4 -> even is + 4.
    expect(fpRound(FP32, 0, (1n << 24n) + 3n, 0, false, env())).toBe(0x4b800002n);
    // Sticky bits below the halfway point make it more than half.
    expect(fpRound(FP32, 0, ((1n << 24n) + 1n) << 4n, -4, true, env())).toBe(0x4b800001n);
  });

  it("is exact without flags when the value fits", () => {
    const e = env();
    expect(fpRound(FP64, 0, 3n, -1, false, e)).toBe(0x3ff8000000000000n);
    expect(e.fpsr).toBe(0);
  });

  it("overflows to infinity or the largest normal by mode and sign, with OFC and IXC", () => {
    const cases: [number, number, bigint][] = [
      [RM.TIEEVEN, 0, 0x7ff0000000000000n], [RM.POSINF, 0, 0x7ff0000000000000n],
      [RM.NEGINF, 0, 0x7fefffffffffffffn], [RM.ZERO, 0, 0x7fefffffffffffffn],
      [RM.TIEEVEN, 1, 0xfff0000000000000n], [RM.POSINF, 1, 0xffefffffffffffffn],
      [RM.NEGINF, 1, 0xfff0000000000000n], [RM.ZERO, 1, 0xffefffffffffffffn],
    ];
    for (const [mode, sign, bits] of cases) {
      const e = withMode(mode);
      expect(fpRound(FP64, sign, 1n, 1024, false, e)).toBe(bits);
      expect(e.fpsr).toBe(FPSR.OFC | FPSR.IXC);
    }
    // Rounding up into the overflow: the largest double plus half an ulp.
    const e = env();
    expect(fpRound(FP64, 0, (1n << 54n) - 1n, 1024 - 54, false, e)).toBe(0x7ff0000000000000n);
    expect(e.fpsr).toBe(FPSR.OFC | FPSR.IXC);
  });

  it("produces denormals; an inexact tiny result underflows (tininess before rounding)", () => {
    let e = env();
    expect(fpRound(FP64, 0, 1n, -1074, false, e)).toBe(1n);
    expect(e.fpsr).toBe(0); // exact denormal: no underflow
    e = env();
    expect(fpRound(FP64, 0, 1n, -1075, false, e)).toBe(0n); // a tie between 0 and the smallest: even
    expect(e.fpsr).toBe(FPSR.UFC | FPSR.IXC);
    e = withMode(RM.POSINF);
    expect(fpRound(FP64, 0, 1n, -1075, false, e)).toBe(1n);
    // (2^53 - 1) * 2^-1075 rounds up to the smallest normal; it was tiny before rounding.
    e = env();
    expect(fpRound(FP64, 0, (1n << 53n) - 1n, -1075, false, e)).toBe(0x0010000000000000n);
    expect(e.fpsr).toBe(FPSR.UFC | FPSR.IXC);
  });

  it("flushes tiny results to a signed zero under FPCR.FZ with UFC only", () => {
    const e = withMode(RM.TIEEVEN, true);
    expect(fpRound(FP32, 1, 1n, -140, false, e)).toBe(0x80000000n);
    expect(e.fpsr).toBe(FPSR.UFC);
    // Even an exact denormal is flushed.
    const e2 = withMode(RM.POSINF, true);
    expect(fpRound(FP64, 0, 1n, -1074, false, e2)).toBe(0n);
    expect(e2.fpsr).toBe(FPSR.UFC);
  });
});
