import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { Cpu } from "../../../emulator/cpu.ts";
import { ASR, LSL, LSR, ROR, asr64, lsl64, lsr64, ror32, ror64, shift32, shift64 } from "../../../emulator/insn/shift.ts";

const M64 = (1n << 64n) - 1n;
const scratch = { rLo: 0, rHi: 0 } as unknown as Cpu;
const lo = (v: bigint): number => Number(v & 0xffff_ffffn);
const hi = (v: bigint): number => Number(v >> 32n);
const result = (): bigint => (BigInt(scratch.rHi) << 32n) | BigInt(scratch.rLo);

const ref = {
  lsl: (v: bigint, s: number) => (v << BigInt(s)) & M64,
  lsr: (v: bigint, s: number) => v >> BigInt(s),
  asr: (v: bigint, s: number) => BigInt.asUintN(64, BigInt.asIntN(64, v) >> BigInt(s)),
  ror: (v: bigint, s: number) => (s === 0 ? v : ((v >> BigInt(s)) | (v << BigInt(64 - s))) & M64),
};

const u64 = fc.oneof(fc.bigInt({ min: 0n, max: M64 }), fc.constantFrom(0n, M64, 1n << 63n, 1n, 0xffff_ffffn, 1n << 32n));

describe("64-bit shifts on halves", () => {
  test("every amount 0..63 on a fixed pattern", () => {
    const v = 0x8123_4567_89ab_cdefn;
    for (let s = 0; s < 64; s++) {
      lsl64(scratch, lo(v), hi(v), s);
      expect(result(), `lsl ${s}`).toBe(ref.lsl(v, s));
      lsr64(scratch, lo(v), hi(v), s);
      expect(result(), `lsr ${s}`).toBe(ref.lsr(v, s));
      asr64(scratch, lo(v), hi(v), s);
      expect(result(), `asr ${s}`).toBe(ref.asr(v, s));
      ror64(scratch, lo(v), hi(v), s);
      expect(result(), `ror ${s}`).toBe(ref.ror(v, s));
    }
  });

  test("shift64 matches the bigint model on random values", () => {
    fc.assert(
      fc.property(u64, fc.integer({ min: 0, max: 63 }), fc.constantFrom(LSL, LSR, ASR, ROR), (v, s, t) => {
        shift64(scratch, lo(v), hi(v), t, s);
        const want = [ref.lsl, ref.lsr, ref.asr, ref.ror][t]!(v, s);
        expect(result()).toBe(want);
        expect(scratch.rLo >>> 0).toBe(scratch.rLo);
        expect(scratch.rHi >>> 0).toBe(scratch.rHi);
      }),
    );
  });

  test("32-bit shifts, including amount 0 and 31", () => {
    const v = 0x8765_4321;
    expect(shift32(v, LSL, 0)).toBe(v);
    expect(shift32(v, LSL, 31)).toBe(0x8000_0000);
    expect(shift32(v, LSR, 31)).toBe(1);
    expect(shift32(v, ASR, 31)).toBe(0xffff_ffff);
    expect(shift32(v, ASR, 4)).toBe(0xf876_5432);
    expect(shift32(v, ROR, 0)).toBe(v);
    expect(shift32(v, ROR, 4)).toBe(0x1876_5432);
    expect(ror32(v, 31)).toBe(0x0eca_8643);
  });
});
