// How much of a shadow stage-2 an L1 stage-2 TLBI must unmap (KVM: ttl_to_size,
// get_guest_mapping_ttl, compute_tlb_inval_range in nested.c; decode_range_tlbi in kvm_nested.h).
//
// L1's TLBI names a nested IPA; the shadow tables may map that IPA with a different structure
// than L1's, so L0 sizes the invalidation from L1's view: the TTL hint, else the guest leaf level
// remembered in the shadow leaf's software bits [56:55], else the granule's largest block.

/** TTL[3:2] / TG encodings of the translation granule. */
export const TLBI_TTL_TG_4K = 1;
export const TLBI_TTL_TG_16K = 2;
export const TLBI_TTL_TG_64K = 3;

const SZ_4K = 1n << 12n;
const SZ_16K = 1n << 14n;
const SZ_64K = 1n << 16n;
const SZ_2M = 1n << 21n;
const SZ_32M = 1n << 25n;
const SZ_512M = 1n << 29n;
const SZ_1G = 1n << 30n;

/** Operand[47:44] of the non-range IPA forms: the FEAT_TTL hint. */
export function tlbiTtl(operand: bigint): number {
  return Number((operand >> 44n) & 0xfn);
}

/**
 * The nested IPA an IPAS2E1 or IPAS2LE1 operand (any form) names: operand[35:0] << 12. NS
 * (bit 63) and IPA[51:48] (operand[39:36]) are dropped: 52-bit nested IPAs are not supported.
 */
export function ipas2e1Base(operand: bigint): bigint {
  return (operand & ((1n << 36n) - 1n)) << 12n;
}

/** Size of the leaf a TTL value describes; 0n when it describes none (no hint, or a level needing 52-bit). */
export function ttlToSize(ttl: number): bigint {
  const level = ttl & 3;
  switch ((ttl >> 2) & 3) {
    case TLBI_TTL_TG_4K:
      return [0n, SZ_1G, SZ_2M, SZ_4K][level]!;
    case TLBI_TTL_TG_16K:
      return [0n, 0n, SZ_32M, SZ_16K][level]!;
    case TLBI_TTL_TG_64K:
      return [0n, 0n, SZ_512M, SZ_64K][level]!;
    default:
      return 0n;
  }
}

export interface RangeTlbi {
  /** First IPA of the range: BaseADDR << granule shift. */
  base: bigint;
  /** Length in bytes: __TLBI_RANGE_PAGES(NUM, SCALE) granules. */
  size: bigint;
  /** Operand[63:48] (meaningful for the stage-1 range forms only). */
  asid: number;
}

/**
 * Decode a range TLBI operand (TG [47:46], SCALE [45:44], NUM [43:39], TTL [38:37], BaseADDR
 * [36:0]). TG 0 is treated as 64K, as KVM does. TTL is ignored: the shadow tables need not have
 * L1's structure.
 */
export function decodeRangeTlbi(operand: bigint): RangeTlbi {
  const tg = Number((operand >> 46n) & 3n);
  const shift = tg === TLBI_TTL_TG_4K ? 12n : tg === TLBI_TTL_TG_16K ? 14n : 16n;
  const scale = (operand >> 44n) & 3n;
  const num = (operand >> 39n) & 0x1fn;
  const pages = (num + 1n) << (5n * scale + 1n);
  return {
    base: (operand & ((1n << 37n) - 1n)) << shift,
    size: pages << shift,
    asid: Number((operand >> 48n) & 0xffffn),
  };
}

/** TTL granule encoding for a VTCR_EL2.TG0 (the IMPDEF 0b11 counts as 64K). */
function vtcrTtlGranule(vtcr: bigint): number {
  switch (Number((vtcr >> 14n) & 3n)) {
    case 0:
      return TLBI_TTL_TG_4K;
    case 2:
      return TLBI_TTL_TG_16K;
    default:
      return TLBI_TTL_TG_64K;
  }
}

/** Leaf sizes of a granule, smallest first (52-bit sizes excluded). */
function candidateSizes(tg: number): bigint[] {
  if (tg === TLBI_TTL_TG_4K) return [SZ_4K, SZ_2M, SZ_1G];
  if (tg === TLBI_TTL_TG_16K) return [SZ_16K, SZ_32M];
  return [SZ_64K, SZ_512M];
}

/**
 * A TTL-like value for `addr` recovered from the shadow tables (KVM: get_guest_mapping_ttl): the
 * granule comes from the MMU's cached VTCR, the level from the first tagged valid shadow leaf
 * found at `addr` aligned down to each candidate size. `shadowLeafTag(ipa)` returns bits [56:55]
 * of the valid shadow leaf mapping `ipa`, or null when there is none. Returns 0 when nothing
 * usable is found, or when the leaf found does not cover `addr`.
 */
export function getGuestMappingTtl(
  tlbVtcr: bigint,
  addr: bigint,
  shadowLeafTag: (ipa: bigint) => number | null,
): number {
  const tg = vtcrTtlGranule(tlbVtcr);
  for (const size of candidateSizes(tg)) {
    const aligned = addr & ~(size - 1n);
    const tag = shadowLeafTag(aligned);
    if (tag === null || (tag & 3) === 0) continue;
    const ttl = (tg << 2) | (tag & 3);
    // The tagged leaf at the aligned address may be a small one that stops before addr.
    return addr < aligned + ttlToSize(ttl) ? ttl : 0;
  }
  return 0;
}

/** The granule's largest supported block: what an IPA TLBI without any size information covers. */
export function maxInvalSize(tlbVtcr: bigint): bigint {
  const tg = vtcrTtlGranule(tlbVtcr);
  return tg === TLBI_TTL_TG_4K ? SZ_1G : tg === TLBI_TTL_TG_16K ? SZ_32M : SZ_512M;
}

/**
 * Size of the shadow range to unmap for an IPAS2E1 or IPAS2LE1 operand (KVM:
 * compute_tlb_inval_range): the TTL hint when L1 gave one (L1 always sees FEAT_TTL), else the
 * TTL-like value from the shadow leaf tags, else the largest block. A non-zero but meaningless
 * TTL goes straight to the largest block without consulting the shadow tables, as in KVM. The
 * caller aligns the base down to the size.
 */
export function computeTlbInvalRange(
  tlbVtcr: bigint,
  operand: bigint,
  shadowLeafTag: (ipa: bigint) => number | null,
): bigint {
  let ttl = tlbiTtl(operand);
  if (ttl === 0) ttl = getGuestMappingTtl(tlbVtcr, ipas2e1Base(operand), shadowLeafTag);
  const size = ttlToSize(ttl);
  return size !== 0n ? size : maxInvalSize(tlbVtcr);
}
