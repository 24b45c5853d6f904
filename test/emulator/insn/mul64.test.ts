import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { Cpu } from "../../../emulator/cpu.ts";
import { mul64, smul32x32, umul32x32 } from "../../../emulator/insn/mul64.ts";

const M64 = (1n << 64n) - 1n;
const scratch = { rLo: 0, rHi: 0 } as unknown as Cpu;
const lo = (v: bigint): number => Number(v & 0xffff_ffffn);
const hi = (v: bigint): number => Number(v >> 32n);
const result = (): bigint => (BigInt(scratch.rHi) << 32n) | BigInt(scratch.rLo);

const u32 = fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(0, 1, 0xffff_ffff, 0x8000_0000, 0x7fff_ffff, 0xffff, 0x10000));
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: M64 }), fc.constantFrom(0n, 1n, M64, 1n << 63n, 0xffff_ffffn, 1n << 32n));

describe("multiplication on halves", () => {
  test("umul32x32 is the exact 64-bit product", () => {
    fc.assert(
      fc.property(u32, u32, (a, b) => {
        umul32x32(scratch, a, b);
        expect(result()).toBe(BigInt(a) * BigInt(b));
      }),
      { numRuns: 1000 },
    );
  });

  test("smul32x32 is the signed 64-bit product", () => {
    fc.assert(
      fc.property(u32, u32, (a, b) => {
        smul32x32(scratch, a, b);
        expect(result()).toBe(BigInt.asUintN(64, BigInt(a | 0) * BigInt(b | 0)));
      }),
      { numRuns: 1000 },
    );
  });

  test("mul64 is the low 64 bits of the product", () => {
    fc.assert(
      fc.property(u64, u64, (a, b) => {
        mul64(scratch, lo(a), hi(a), lo(b), hi(b));
        expect(result()).toBe((a * b) & M64);
      }),
      { numRuns: 1000 },
    );
    umul32x32(scratch, 0xffff_ffff, 0xffff_ffff);
    expect(result()).toBe(0xffff_fffe_0000_0001n);
  });
});
