// Nested IPA direct map (option `directMap`, the answer to the review of seed 001): per shadow
// MMU, nested IPA range → canonical IPA, kept in lockstep with the revmap (a mirror of L1's
// stage-2 as seen at fault time). When L1's TLBIs remove shadow leaves, it names the revmap
// ranges built for them, so those ranges go too and the revmap does not go stale.

import type { KvmS2Mmu } from "./nested.ts";
import { RangeTree } from "./range_tree.ts";
import { isUnknownIpa, payloadNestedIpa, revmapPayload, type RevmapEraseHook } from "./revmap.ts";
import { kvmStat } from "./stats.ts";

/**
 * A shadow leaf maps nested [nestedIpa, +size) to canonical `canonicalIpa` and the revmap holds
 * it (valid or polluted). Entries it overlaps describe mappings this leaf replaced in part or in
 * full; they go whole, so no remainder keeps a canonical base that no longer lines up.
 */
export function directMapRecord(mmu: KvmS2Mmu, nestedIpa: bigint, canonicalIpa: bigint, size: bigint): void {
  if (mmu.revmapBroken || !mmu.revmap) return;
  const tree = (mmu.directMap ??= new RangeTree());
  const last = nestedIpa + size - 1n;
  const value = revmapPayload(canonicalIpa);
  const cur = tree.load(nestedIpa);
  if (cur && cur.index === nestedIpa && cur.last === last && cur.value === value) return;
  tree.eraseRange(nestedIpa, last);
  tree.store(nestedIpa, last, value);
}

/**
 * L1 invalidated nested [nestedIpa, +size) (IPAS2E1*, RIPAS2E1*): each direct-map range inside it
 * is dropped with the valid revmap range it names. A range only partly invalidated still has
 * shadow leaves (the split remainder), so it stays; polluted revmap ranges hold other mappings
 * too and stay. Returns the revmap ranges erased.
 */
export function directMapShadowUnmap(mmu: KvmS2Mmu, nestedIpa: bigint, size: bigint, onErase?: RevmapEraseHook): number {
  const tree = mmu.directMap;
  if (!tree) return 0;
  const last = nestedIpa + size - 1n;
  let erased = 0;
  for (const d of tree.intersecting(nestedIpa, last)) {
    if (d.index < nestedIpa || d.last > last) continue;
    tree.erase(d.index);
    const canonical = payloadNestedIpa(d.value);
    const r = mmu.revmap?.load(canonical);
    if (!r || isUnknownIpa(r.value)) continue;
    if (r.index !== canonical || r.last - r.index !== d.last - d.index || payloadNestedIpa(r.value) !== d.index) continue;
    mmu.revmap!.erase(r.index);
    onErase?.(mmu, r.index, r.last);
    erased++;
  }
  if (erased) kvmStat(mmu.kvm, "revmap.directMapErased", erased);
  return erased;
}
