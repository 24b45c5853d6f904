// Whether a strategy's record still describes a live shadow mapping, judged against the canonical
// page each shadow leaf was built from (KvmS2Mmu.shadowOrigin, recorded at every shadow install).
// A record whose leaves all went (L1's TLBIs removed them and nothing told the strategy) is stale:
// it costs an unmap that finds nothing, never safety.

import type { CanonicalIpa, NestedIpa } from "../addr.ts";
import type { KvmS2Mmu } from "../nested.ts";

/**
 * Whether some shadow leaf of `mmu` in nested [nested, +size) was built from the canonical page
 * the record pairs with it (canonical + the leaf's offset into the range).
 */
export function shadowMappingLive(mmu: KvmS2Mmu, canonical: CanonicalIpa, nested: NestedIpa, size: bigint): boolean {
  for (const leaf of mmu.pgt.leavesIn(nested, size)) {
    const origin = mmu.shadowOrigin.get(leaf.ipa);
    if (origin !== undefined && origin === canonical + (leaf.ipa - nested)) return true;
  }
  return false;
}
