// The 64-bit value helpers the exit path uses instead of BigInt arithmetic, against BigInt arithmetic.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hi32, join64, lo32, plus4, split64 } from "../../emulator/types.ts";

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

describe("64-bit halves", () => {
  it("split, join and read halves as BigInt arithmetic does", () => {
    fc.assert(
      fc.property(u64, (v) => {
        expect(lo32(v)).toBe(Number(v & 0xffff_ffffn));
        expect(hi32(v)).toBe(Number(v >> 32n));
        expect(split64(v)).toEqual([lo32(v), hi32(v)]);
        expect(join64(lo32(v), hi32(v))).toBe(v);
      }),
    );
  });

  it("plus4 is +4 modulo 2^64, carrying into the high half and wrapping at the top", () => {
    fc.assert(
      fc.property(u64, (v) => {
        expect(plus4(lo32(v), hi32(v))).toBe(BigInt.asUintN(64, v + 4n));
      }),
    );
    expect(plus4(0xffff_fffc, 0)).toBe(0x1_0000_0000n);
    expect(plus4(0xffff_fffe, 0xffff_ffff)).toBe(2n);
  });
});
