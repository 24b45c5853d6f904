// The reverse map's state and payload layout (seed 001), apart from its algorithms so the direct
// map can share them. Payload: bit 63 VALID (a nested IPA of 0 is not the empty value 0), bits
// 55:12 the nested IPA, bit 0 UNKNOWN_IPA for a "polluted" range. Bits 11:1 stay zero, so no
// payload collides with the range tree's reserved values.

import type { CanonicalIpa, NestedIpa } from "../addr.ts";
import type { KvmS2Mmu } from "../nested.ts";
import type { RangeTree } from "./range_tree.ts";

export const VALID_ENTRY = 1n << 63n;
/** Bits 55:12. */
export const NESTED_IPA_MASK = ((1n << 56n) - 1n) & ~0xfffn;
export const UNKNOWN_IPA = 1n;

/** The payload recording nested IPA `nestedIpa` (the direct map stores canonical IPAs the same way). */
export function revmapPayload(ipa: NestedIpa | CanonicalIpa): bigint {
  return VALID_ENTRY | (ipa & NESTED_IPA_MASK);
}

/** A polluted range: the nested IPAs it came from are unknown. */
export function isUnknownIpa(value: bigint): boolean {
  return (value & UNKNOWN_IPA) !== 0n;
}

/** The nested IPA a valid payload names. */
export function payloadNestedIpa(value: bigint): NestedIpa {
  return (value & NESTED_IPA_MASK) as NestedIpa;
}

/** The reverse-map state of one shadow MMU. */
export class RevmapMmu {
  /** Canonical IPA range → revmap payload; null when never created or destroyed. */
  revmap: RangeTree | null = null;
  /** A revmap store failed: this MMU falls back to full unmap until it is recycled. */
  broken = false;
  /** Option directMap: nested IPA range → canonical IPA payload, kept in lockstep with the revmap. */
  directMap: RangeTree | null = null;
}

/** Called for every valid revmap range removed from an MMU (the accelerator clears its bit). */
export type RevmapEraseHook = (mmu: KvmS2Mmu, index: CanonicalIpa, last: CanonicalIpa) => void;
