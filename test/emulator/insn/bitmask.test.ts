import { describe, expect, test } from "vitest";
import { decodeBitMasks } from "../../../emulator/insn/bitmask.ts";

const join = (lo: number, hi: number): bigint => (BigInt(hi) << 32n) | BigInt(lo);

describe("decodeBitMasks", () => {
  test("logical immediates: 5334 distinct 64-bit and 1302 distinct 32-bit values", () => {
    const v64 = new Set<bigint>();
    const v32 = new Set<bigint>();
    for (let n = 0; n < 2; n++) {
      for (let immr = 0; immr < 64; immr++) {
        for (let imms = 0; imms < 64; imms++) {
          const m = decodeBitMasks(n, imms, immr, true, 64);
          if (m) v64.add(join(m.wLo, m.wHi));
          if (n === 0) {
            const w = decodeBitMasks(n, imms, immr, true, 32);
            if (w) {
              expect(w.wHi).toBe(0);
              v32.add(join(w.wLo, w.wHi));
            }
          }
        }
      }
    }
    expect(v64.size).toBe(5334);
    expect(v32.size).toBe(1302);
    expect(v64.has(0n)).toBe(false);
    expect(v64.has((1n << 64n) - 1n)).toBe(false);
  });

  test.each([
    // N, imms, immr, expected wmask
    [1, 0, 0, 1n],
    [1, 0, 1, 1n << 63n],
    [1, 62, 0, (1n << 63n) - 1n],
    [0, 0b111100, 0, 0x5555_5555_5555_5555n],
    [0, 0b111100, 1, 0xaaaa_aaaa_aaaa_aaaan],
    [0, 0b110011, 2, 0xc3c3_c3c3_c3c3_c3c3n],
    [0, 0b100111, 8, 0xff00_ff00_ff00_ff00n],
    [0, 0b011110, 0, 0x7fff_ffff_7fff_ffffn],
  ])("N=%i imms=%i immr=%i", (n, imms, immr, want) => {
    const m = decodeBitMasks(n, imms, immr, true, 64)!;
    expect(join(m.wLo, m.wHi)).toBe(want);
  });

  test("reserved forms return null", () => {
    expect(decodeBitMasks(0, 0b111111, 0, true, 64)).toBeNull(); // len < 1
    expect(decodeBitMasks(0, 0b111110, 0, true, 64)).toBeNull(); // len 0
    expect(decodeBitMasks(1, 0b111111, 0, true, 64)).toBeNull(); // all ones
    expect(decodeBitMasks(0, 0b011111, 0, true, 32)).toBeNull(); // all ones, 32-bit
    expect(decodeBitMasks(1, 0, 0, true, 32)).toBeNull(); // element wider than the data size
  });

  test("bitfield tmask: UBFM as LSL #8 and as UBFX #4, #8", () => {
    // LSL #8 (64): immr = 56, imms = 55 keeps bits [63:8] of ROR(x, 56).
    const lsl = decodeBitMasks(1, 55, 56, false, 64)!;
    expect(join((lsl.wLo & lsl.tLo) >>> 0, (lsl.wHi & lsl.tHi) >>> 0)).toBe(0xffff_ffff_ffff_ff00n);
    // UBFX #4, #8: immr = 4, imms = 11 → bits [7:0] of ROR(x, 4).
    const ubfx = decodeBitMasks(1, 11, 4, false, 64)!;
    expect(join((ubfx.wLo & ubfx.tLo) >>> 0, (ubfx.wHi & ubfx.tHi) >>> 0)).toBe(0xffn);
    // Full-width element is allowed for bitfields.
    expect(decodeBitMasks(1, 63, 0, false, 64)).not.toBeNull();
  });
});
