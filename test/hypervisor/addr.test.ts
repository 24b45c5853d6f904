import { describe, expect, it } from "vitest";
import { addrAdd, addrAlignDown, addrDiff, addrTranslate, canonicalIpa, hostPa, nestedIpa } from "../../hypervisor/addr.ts";

describe("L0 address kinds", () => {
  it("rejects values that are not 64-bit addresses", () => {
    expect(() => nestedIpa(-1n)).toThrow(/nested IPA/);
    expect(() => canonicalIpa(1n << 64n)).toThrow(/canonical IPA 0x10000000000000000/);
    expect(hostPa(0x10_0000_0000)).toBe(0x10_0000_0000n);
  });

  it("adds within the space and allows an end bound of 2^64", () => {
    expect(addrAdd(canonicalIpa(0x4000_0000n), 0x1000n)).toBe(0x4000_1000n);
    expect(addrAdd(nestedIpa((1n << 64n) - 0x1000n), 0x1000n)).toBe(1n << 64n);
    expect(() => addrAdd(nestedIpa((1n << 64n) - 0x1000n), 0x2000n)).toThrow(/leaves the 64-bit/);
    expect(() => addrAdd(nestedIpa(0x1000n), -0x2000n)).toThrow(/leaves the 64-bit/);
  });

  it("differences, alignment and translation keep the kinds apart", () => {
    expect(addrDiff(canonicalIpa(0x5000n), canonicalIpa(0x4000n))).toBe(0x1000n);
    expect(() => addrDiff(canonicalIpa(0x4000n), canonicalIpa(0x5000n))).toThrow(/lies below/);
    expect(addrAlignDown(nestedIpa(0x20_1234n), 0x20_0000n)).toBe(0x20_0000n);
    const n = addrTranslate(canonicalIpa(0x4820_1000n), canonicalIpa(0x4820_0000n), nestedIpa(0x20_0000n));
    expect(n).toBe(0x20_1000n);
  });
});
