import { describe, expect, it } from "vitest";
import {
  computeTlbInvalRange,
  decodeRangeTlbi,
  getGuestMappingTtl,
  ipas2e1Base,
  maxInvalSize,
  ttlToSize,
} from "../../hypervisor/tlbi_range.ts";

const KB = 1024n;
const MB = 1024n * KB;
const GB = 1024n * MB;

const VTCR_4K = 0n << 14n;
const VTCR_64K = 1n << 14n;
const VTCR_16K = 2n << 14n;
const VTCR_IMPDEF = 3n << 14n;

/** An IPAS2E1 operand for `ipa` with TTL hint `ttl`. */
const ipas2Operand = (ipa: bigint, ttl = 0): bigint => (ipa >> 12n) | (BigInt(ttl) << 44n);
const ttl = (tg: number, level: number): number => (tg << 2) | level;

/** A fake shadow stage-2: aligned IPA → [56:55] tag of the valid leaf there; records every probe. */
function shadowTags(tags: Record<string, number>) {
  const calls: bigint[] = [];
  const fn = (ipa: bigint): number | null => {
    calls.push(ipa);
    return tags[`0x${ipa.toString(16)}`] ?? null;
  };
  return { fn, calls };
}

describe("ttlToSize", () => {
  it("sizes every granule and level", () => {
    expect([0, 1, 2, 3].map((l) => ttlToSize(ttl(1, l)))).toEqual([0n, GB, 2n * MB, 4n * KB]);
    expect([0, 1, 2, 3].map((l) => ttlToSize(ttl(2, l)))).toEqual([0n, 0n, 32n * MB, 16n * KB]);
    expect([0, 1, 2, 3].map((l) => ttlToSize(ttl(3, l)))).toEqual([0n, 0n, 512n * MB, 64n * KB]);
  });
  it("gives 0 without granule information", () => {
    expect([0, 1, 2, 3].map((l) => ttlToSize(ttl(0, l)))).toEqual([0n, 0n, 0n, 0n]);
  });
});

describe("ipas2e1Base", () => {
  it("takes operand[35:0] as the page number, dropping NS, IPA[51:48] and TTL", () => {
    expect(ipas2e1Base(0x1234_5678n)).toBe(0x12_3456_7800_0n);
    const noisy = (1n << 63n) | (0xfn << 44n) | (0xfn << 36n) | 0xf_ffff_ffffn;
    expect(ipas2e1Base(noisy)).toBe(0xffff_ffff_f000n);
  });
});

describe("decodeRangeTlbi", () => {
  const range = (tg: bigint, scale: bigint, num: bigint, ttlBits: bigint, baseAddr: bigint, asid = 0n): bigint =>
    (asid << 48n) | (tg << 46n) | (scale << 44n) | (num << 39n) | (ttlBits << 37n) | baseAddr;

  it("decodes NUM=1, SCALE=0 with 4K pages as 4 pages", () => {
    expect(decodeRangeTlbi(range(1n, 0n, 1n, 0n, 0x4_0000n))).toEqual({ base: 0x4000_0000n, size: 16n * KB, asid: 0 });
  });

  it("scales the page count by 2^(5*SCALE+1) granules", () => {
    // 16K: (0+1) << 6 = 64 granules = 1M.
    expect(decodeRangeTlbi(range(2n, 1n, 0n, 0n, 0x10n))).toMatchObject({ base: 0x4_0000n, size: MB });
    // 4K, the largest range: 32 << 16 granules = 8G.
    expect(decodeRangeTlbi(range(1n, 3n, 31n, 0n, 0n)).size).toBe(8n * GB);
  });

  it("treats TG 3 and the IMPDEF 0 as 64K", () => {
    for (const tg of [0n, 3n]) expect(decodeRangeTlbi(range(tg, 0n, 0n, 0n, 3n))).toMatchObject({ base: 0x3_0000n, size: 128n * KB });
  });

  it("uses all 37 BaseADDR bits and ignores TTL; ASID comes from [63:48]", () => {
    const d = decodeRangeTlbi(range(1n, 0n, 0n, 3n, (1n << 37n) - 1n, 0xabcdn));
    expect(d.base).toBe(((1n << 37n) - 1n) << 12n);
    expect(d.size).toBe(8n * KB);
    expect(d.asid).toBe(0xabcd);
  });
});

describe("getGuestMappingTtl", () => {
  it("probes the candidate sizes smallest first and returns the first tagged leaf's TTL", () => {
    const addr = 0x4023_4000n;
    const s = shadowTags({ "0x40200000": 2 });
    expect(getGuestMappingTtl(VTCR_4K, addr, s.fn)).toBe(ttl(1, 2));
    expect(s.calls).toEqual([0x4023_4000n, 0x4020_0000n]);
  });

  it("skips untagged leaves (tag 0) and returns 0 when nothing is tagged", () => {
    const s = shadowTags({ "0x40234000": 0 });
    expect(getGuestMappingTtl(VTCR_4K, 0x4023_4000n, s.fn)).toBe(0);
    expect(s.calls).toEqual([0x4023_4000n, 0x4020_0000n, 0x4000_0000n]);
  });

  it("rejects a tagged leaf that does not cover the address", () => {
    // A 4K leaf (tag 3) at the 2M-aligned address says nothing about addr 0x40234000.
    const s = shadowTags({ "0x40200000": 3, "0x40000000": 1 });
    expect(getGuestMappingTtl(VTCR_4K, 0x4023_4000n, s.fn)).toBe(0);
    expect(s.calls).toEqual([0x4023_4000n, 0x4020_0000n]);
  });

  it("takes the granule from the cached VTCR", () => {
    const s16 = shadowTags({ "0x42000000": 2 });
    expect(getGuestMappingTtl(VTCR_16K, 0x4212_3000n, s16.fn)).toBe(ttl(2, 2));
    expect(s16.calls).toEqual([0x4212_0000n, 0x4200_0000n]);
    for (const v of [VTCR_64K, VTCR_IMPDEF]) {
      const s64 = shadowTags({ "0x40120000": 3 });
      expect(getGuestMappingTtl(v, 0x4012_3456n, s64.fn)).toBe(ttl(3, 3));
      expect(s64.calls).toEqual([0x4012_0000n]);
    }
  });

  it("returns 0 for a tag whose level has no size in the granule", () => {
    // Level 1 under 16K would need 52-bit support.
    expect(getGuestMappingTtl(VTCR_16K, 0x4000_4000n, shadowTags({ "0x40004000": 1 }).fn)).toBe(0);
  });
});

describe("computeTlbInvalRange", () => {
  const never = (): number | null => {
    throw new Error("shadow tables must not be consulted");
  };

  it("uses the TTL hint when one is given", () => {
    expect(computeTlbInvalRange(VTCR_4K, ipas2Operand(0x4020_0000n, ttl(1, 2)), never)).toBe(2n * MB);
    expect(computeTlbInvalRange(VTCR_4K, ipas2Operand(0x4020_0000n, ttl(1, 3)), never)).toBe(4n * KB);
    // The hint's own granule counts, not the cached VTCR's.
    expect(computeTlbInvalRange(VTCR_4K, ipas2Operand(0x4000_0000n, ttl(3, 2)), never)).toBe(512n * MB);
  });

  it("falls back to the largest block for a non-zero hint that names no size", () => {
    expect(computeTlbInvalRange(VTCR_4K, ipas2Operand(0x4000_0000n, ttl(1, 0)), never)).toBe(GB);
    expect(computeTlbInvalRange(VTCR_16K, ipas2Operand(0x4000_0000n, ttl(2, 1)), never)).toBe(32n * MB);
    expect(computeTlbInvalRange(VTCR_4K, ipas2Operand(0x4000_0000n, ttl(0, 2)), never)).toBe(GB);
  });

  it("sizes from the shadow leaf tag without a hint", () => {
    const s = shadowTags({ "0x40200000": 2 });
    expect(computeTlbInvalRange(VTCR_4K, ipas2Operand(0x4023_4000n), s.fn)).toBe(2n * MB);
    expect(s.calls).toEqual([0x4023_4000n, 0x4020_0000n]);
    expect(computeTlbInvalRange(VTCR_4K, ipas2Operand(0x4023_4000n), shadowTags({ "0x40234000": 3 }).fn)).toBe(4n * KB);
    expect(computeTlbInvalRange(VTCR_4K, ipas2Operand(0x4023_4000n), shadowTags({ "0x40000000": 1 }).fn)).toBe(GB);
  });

  it("probes the IPA the operand names (operand[35:0] << 12)", () => {
    const s = shadowTags({});
    computeTlbInvalRange(VTCR_64K, (1n << 63n) | (0xfn << 36n) | (0x4012_3000n >> 12n), s.fn);
    expect(s.calls).toEqual([0x4012_0000n, 0x4000_0000n]);
  });

  it("falls back to the granule's largest block when the shadow tables give nothing", () => {
    const none = shadowTags({}).fn;
    expect(computeTlbInvalRange(VTCR_4K, ipas2Operand(0x4023_4000n), none)).toBe(GB);
    expect(computeTlbInvalRange(VTCR_16K, ipas2Operand(0x4023_4000n), none)).toBe(32n * MB);
    expect(computeTlbInvalRange(VTCR_64K, ipas2Operand(0x4023_4000n), none)).toBe(512n * MB);
    expect(computeTlbInvalRange(VTCR_IMPDEF, ipas2Operand(0x4023_4000n), none)).toBe(512n * MB);
    // A tagged leaf that does not cover the IPA is no information either.
    expect(computeTlbInvalRange(VTCR_4K, ipas2Operand(0x4023_4000n), shadowTags({ "0x40200000": 3 }).fn)).toBe(GB);
  });

  it("maxInvalSize matches the fallback per granule", () => {
    expect([VTCR_4K, VTCR_16K, VTCR_64K, VTCR_IMPDEF].map(maxInvalSize)).toEqual([GB, 32n * MB, 512n * MB, 512n * MB]);
  });
});
