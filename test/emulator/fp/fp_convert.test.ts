// Conversions: FPToFixed saturation and NaN handling, FixedToFP rounding, FPRoundInt, and the
// payload-keeping precision conversion of NaNs.

import { describe, expect, it } from "vitest";
import { fixedToFP, fpConvert, fpRoundInt, fpToFixed } from "../../../emulator/fp/fp_convert.ts";
import { FP16, FP32, FP64, FPCR, FPSR, RM, type FPEnv } from "../../../emulator/fp/fp_format.ts";

const env = (fpcr = 0): FPEnv => ({ fpcr, fpsr: 0 });
const D = (x: number): bigint => new BigUint64Array(new Float64Array([x]).buffer)[0]!;

describe("FPToFixed (FCVT*S, FCVT*U)", () => {
  it("saturates with IOC and returns 0 for NaN", () => {
    const cases: [bigint, boolean, 32 | 64, bigint][] = [
      [D(1e20), false, 32, 0x7fffffffn], [D(-1e20), false, 32, 0x80000000n], [D(-Infinity), false, 64, 1n << 63n],
      [D(Infinity), true, 64, (1n << 64n) - 1n], [D(-1), true, 32, 0n], [0x7ff8000000000000n, false, 64, 0n],
      [D(2147483648), false, 32, 0x7fffffffn],
    ];
    for (const [op, unsigned, size, want] of cases) {
      const e = env();
      expect(fpToFixed(FP64, op, 0, unsigned, RM.ZERO, size, e)).toBe(want);
      expect(e.fpsr).toBe(FPSR.IOC);
    }
  });

  it("rounds by the instruction's mode, with IXC when inexact", () => {
    const r = (x: number, mode: number): bigint => fpToFixed(FP64, D(x), 0, false, mode as never, 64, env());
    expect([r(2.5, RM.TIEEVEN), r(2.5, RM.TIEAWAY), r(2.5, RM.POSINF), r(2.5, RM.NEGINF), r(2.5, RM.ZERO)]).toEqual([2n, 3n, 3n, 2n, 2n]);
    expect(BigInt.asIntN(64, r(-2.5, RM.TIEAWAY))).toBe(-3n);
    expect(BigInt.asIntN(64, r(-2.5, RM.NEGINF))).toBe(-3n);
    const e = env();
    expect(fpToFixed(FP64, D(-0.5), 0, true, RM.ZERO, 32, e)).toBe(0n); // rounds into range: no IOC
    expect(e.fpsr).toBe(FPSR.IXC);
    expect(fpToFixed(FP64, D(1.75), 4, false, RM.ZERO, 32, env())).toBe(28n); // fixed point, 4 fraction bits
  });

  it("flushes a denormal input under FZ with IDC", () => {
    const e = env(FPCR.FZ);
    expect(fpToFixed(FP64, 1n, 0, false, RM.POSINF, 32, e)).toBe(0n);
    expect(e.fpsr).toBe(FPSR.IDC);
  });
});

describe("FixedToFP (SCVTF, UCVTF)", () => {
  it("rounds per FPCR and treats the source as signed or unsigned", () => {
    const e = env();
    expect(fixedToFP(FP64, (1n << 53n) + 1n, 64, 0, false, e)).toBe(D(2 ** 53));
    expect(e.fpsr).toBe(FPSR.IXC);
    expect(fixedToFP(FP64, (1n << 53n) + 1n, 64, 0, false, env(RM.POSINF << FPCR.RMODE_SHIFT))).toBe(D(2 ** 53 + 2));
    expect(fixedToFP(FP32, 0xffffffffn, 32, 0, false, env())).toBe(0xbf800000n); // -1
    expect(fixedToFP(FP32, 0xffffffffn, 32, 0, true, env())).toBe(0x4f800000n); // 2^32
    expect(fixedToFP(FP64, 3n, 32, 1, false, env())).toBe(D(1.5));
    expect(fixedToFP(FP64, 0n, 64, 0, false, env(RM.NEGINF << FPCR.RMODE_SHIFT))).toBe(0n);
  });
});

describe("FPRoundInt (FRINT*)", () => {
  it("keeps the sign of a zero result and raises IXC only for FRINTX", () => {
    const e = env();
    expect(fpRoundInt(FP64, D(-0.4), RM.TIEEVEN, false, e)).toBe(1n << 63n);
    expect(e.fpsr).toBe(0);
    expect(fpRoundInt(FP64, D(2.5), RM.TIEEVEN, true, e)).toBe(D(2));
    expect(e.fpsr).toBe(FPSR.IXC);
    expect(fpRoundInt(FP64, D(-2.5), RM.TIEAWAY, false, env())).toBe(D(-3));
    expect(fpRoundInt(FP64, D(3.4), RM.NEGINF, false, env())).toBe(D(3));
    expect(fpRoundInt(FP64, D(1e300), RM.POSINF, false, env())).toBe(D(1e300));
  });
});

describe("FPConvert (FCVT)", () => {
  it("moves a NaN's payload and quietens it, IOC for a signalling one", () => {
    let e = env();
    expect(fpConvert(FP64, FP32, 0x7ff4000000000000n, e)).toBe(0x7fe00000n);
    expect(e.fpsr).toBe(FPSR.IOC);
    e = env();
    expect(fpConvert(FP32, FP64, 0xffc00001n, e)).toBe(0xfff8000020000000n);
    expect(e.fpsr).toBe(0);
    expect(fpConvert(FP32, FP64, 0x7f800001n, env(FPCR.DN))).toBe(0x7ff8000000000000n);
  });

  it("rounds double to single with overflow and underflow, and converts half exactly", () => {
    const e = env();
    expect(fpConvert(FP64, FP32, D(1e39), e)).toBe(0x7f800000n);
    expect(e.fpsr).toBe(FPSR.OFC | FPSR.IXC);
    expect(fpConvert(FP64, FP32, D(1e-50), env(FPCR.FZ))).toBe(0n);
    expect(fpConvert(FP16, FP64, 0x3c00n, env())).toBe(D(1));
    expect(fpConvert(FP64, FP16, D(65520), env())).toBe(0x7c00n); // rounds to infinity in half
  });

  it("uses the alternative half-precision format under FPCR.AHP: no infinities or NaNs", () => {
    const ahp = (): FPEnv => env(FPCR.AHP);
    let e = ahp();
    expect(fpConvert(FP64, FP16, D(-Infinity), e)).toBe(0xffffn);
    expect(e.fpsr).toBe(FPSR.IOC);
    e = ahp();
    expect(fpConvert(FP64, FP16, 0xfff8000000000000n, e)).toBe(0x8000n);
    expect(e.fpsr).toBe(FPSR.IOC);
    e = ahp();
    expect(fpConvert(FP64, FP16, D(65536), e)).toBe(0x7c00n);
    expect(e.fpsr).toBe(0);
    e = ahp();
    expect(fpConvert(FP64, FP16, D(131072), e)).toBe(0x7fffn);
    expect(e.fpsr).toBe(FPSR.IOC);
    expect(fpConvert(FP16, FP64, 0x7c00n, ahp())).toBe(D(65536));
    expect(fpConvert(FP16, FP64, 0x7c00n, env())).toBe(D(Infinity));
  });
});
