// Nested IPA direct map (option `directMap`, the answer to the review of seed 001, v3 of the
// series): per shadow MMU, nested IPA range → canonical IPA, kept in lockstep with the revmap (a
// mirror of L1's stage-2 as seen at fault time). When L1's TLBIs remove shadow leaves, it names
// the revmap ranges built for them, so those ranges go too (revmapTlbi v3) without a scan.

import { addrAdd, type CanonicalIpa, type NestedIpa } from "../addr.ts";
import type { KvmS2Mmu } from "../nested.ts";
import { kvmStat } from "../metrics.ts";
import { RangeTree } from "./range_tree.ts";
import { isUnknownIpa, payloadNestedIpa, revmapPayload, type RevmapEraseHook, type RevmapMmu } from "./revmap_state.ts";

/**
 * A shadow leaf maps nested [nested, +size) to canonical `canonical` and the revmap holds it
 * (valid or polluted). Entries it overlaps describe mappings this leaf replaced in part or in
 * full; they go whole, so no remainder keeps a canonical base that no longer lines up. The store
 * allocates like the revmap's and may fail (injected `directMapStoreFailures`): false, and the
 * caller breaks the revmap, whose lockstep mirror is then incomplete.
 */
export function directMapRecord(s: RevmapMmu, mmu: KvmS2Mmu, nested: NestedIpa, canonical: CanonicalIpa, size: bigint): boolean {
  if (s.broken || !s.revmap) return true;
  const tree = (s.directMap ??= new RangeTree());
  const last = addrAdd(nested, size) - 1n;
  const value = revmapPayload(canonical);
  const cur = tree.load(nested);
  if (cur && cur.index === nested && cur.last === last && cur.value === value) return true;
  const inject = mmu.kvm.faultInject;
  if (inject.directMapStoreFailures > 0) {
    inject.directMapStoreFailures--;
    kvmStat(mmu.kvm, "directMap.storeFailures");
    return false;
  }
  tree.eraseRange(nested, last);
  tree.store(nested, last, value);
  return true;
}

/**
 * Shadow leaves in nested [nested, +size) went (L1's IPAS2E1*, RIPAS2E1*, or the strategy's own
 * unmap): each direct-map range whose leaf went is dropped with the valid revmap range it names:
 * the ranges inside, and the ones cut whose leaf went whole (KVM's stage2_unmap_walker); a range
 * the split-and-keep option cut still has its remainder mapped, so it stays. Polluted revmap
 * ranges hold other mappings too and stay. Returns the revmap ranges erased.
 */
export function directMapShadowUnmap(s: RevmapMmu, mmu: KvmS2Mmu, nested: NestedIpa, size: bigint, onErase?: RevmapEraseHook): number {
  const tree = s.directMap;
  if (!tree) return 0;
  const last = addrAdd(nested, size) - 1n;
  let erased = 0;
  for (const d of tree.intersecting(nested, last)) {
    if ((d.index < nested || d.last > last) && mmu.pgt.hasLeafIn(d.index, d.last - d.index + 1n)) continue;
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
