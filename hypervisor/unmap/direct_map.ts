// Nested IPA direct map (option `directMap`, the answer to the review of seed 001): per shadow
// MMU, nested IPA range → canonical IPA, kept in lockstep with the revmap (a mirror of L1's
// stage-2 as seen at fault time). When L1's TLBIs remove shadow leaves, it names the revmap
// ranges built for them, so those ranges go too and the revmap does not go stale.

import { addrAdd, type CanonicalIpa, type NestedIpa } from "../addr.ts";
import type { KvmS2Mmu } from "../nested.ts";
import { kvmStat } from "../metrics.ts";
import { RangeTree } from "./range_tree.ts";
import { isUnknownIpa, payloadNestedIpa, revmapPayload, type RevmapEraseHook, type RevmapMmu } from "./revmap_state.ts";

/**
 * A shadow leaf maps nested [nested, +size) to canonical `canonical` and the revmap holds it
 * (valid or polluted). Entries it overlaps describe mappings this leaf replaced in part or in
 * full; they go whole, so no remainder keeps a canonical base that no longer lines up.
 */
export function directMapRecord(s: RevmapMmu, nested: NestedIpa, canonical: CanonicalIpa, size: bigint): void {
  if (s.broken || !s.revmap) return;
  const tree = (s.directMap ??= new RangeTree());
  const last = addrAdd(nested, size) - 1n;
  const value = revmapPayload(canonical);
  const cur = tree.load(nested);
  if (cur && cur.index === nested && cur.last === last && cur.value === value) return;
  tree.eraseRange(nested, last);
  tree.store(nested, last, value);
}

/**
 * L1 invalidated nested [nested, +size) (IPAS2E1*, RIPAS2E1*): each direct-map range inside it
 * is dropped with the valid revmap range it names. A range only partly invalidated still has
 * shadow leaves (the split remainder), so it stays; polluted revmap ranges hold other mappings
 * too and stay. Returns the revmap ranges erased.
 */
export function directMapShadowUnmap(s: RevmapMmu, mmu: KvmS2Mmu, nested: NestedIpa, size: bigint, onErase?: RevmapEraseHook): number {
  const tree = s.directMap;
  if (!tree) return 0;
  const last = addrAdd(nested, size) - 1n;
  let erased = 0;
  for (const d of tree.intersecting(nested, last)) {
    if (d.index < nested || d.last > last) continue;
    tree.erase(d.index);
    // The direct map's payload holds a canonical IPA in the revmap's layout.
    const canonical = payloadNestedIpa(d.value) as bigint as CanonicalIpa;
    const r = s.revmap?.load(canonical);
    if (!r || isUnknownIpa(r.value)) continue;
    if (r.index !== canonical || r.last - r.index !== d.last - d.index || payloadNestedIpa(r.value) !== d.index) continue;
    s.revmap!.erase(r.index);
    onErase?.(mmu, r.index as CanonicalIpa, r.last as CanonicalIpa);
    erased++;
  }
  if (erased) kvmStat(mmu.kvm, "revmap.directMapErased", erased);
  return erased;
}
