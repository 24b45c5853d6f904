// The canonical-unmap strategies beyond the baseline `full` (unmap.ts), registered by name so
// config `unmap` selects them: `revmap` (seed 001), `accel` (seed 000, on top of the revmap) and
// `rfc-rbtree` (seed 003). Option `directMap` adds the nested IPA direct map to revmap and accel.

import { accelCanonicalUnmap, accelClearMmu, accelClearRange, accelRecord } from "./accel.ts";
import { directMapRecord, directMapShadowUnmap } from "./direct_map.ts";
import type { KvmS2Mmu } from "./nested.ts";
import { revmapCanonicalUnmap, revmapDestroy, revmapRecord } from "./revmap.ts";
import { rfcRbtreeStrategy } from "./rfc_rbtree.ts";
import { registerUnmapStrategy, type UnmapStrategy } from "./unmap.ts";

/** Revmap (and direct map) bookkeeping of one shadow mapping. */
function recordShadowMap(mmu: KvmS2Mmu, canonicalIpa: bigint, nestedIpa: bigint, size: bigint): void {
  const r = revmapRecord(mmu, canonicalIpa, nestedIpa, size);
  if (mmu.kvm.config.directMap && r !== "broken" && r !== "store-failed") directMapRecord(mmu, nestedIpa, canonicalIpa, size);
}

/**
 * The MMU's table is empty: its revmap and direct map go. Recycling hands the MMU to a new
 * context, which starts with a fresh revmap even if the old one was broken; other full unmaps
 * (the broken fallback itself, ALLE1, VMALLS12E1) leave a broken MMU broken.
 */
function forgetMmu(mmu: KvmS2Mmu): void {
  revmapDestroy(mmu);
  if (mmu.pendingUnmap) mmu.revmapBroken = false;
}

export const revmapStrategy: UnmapStrategy = {
  name: "revmap",
  onShadowMap: recordShadowMap,
  onCanonicalUnmap: revmapCanonicalUnmap,
  onMmuFullyUnmapped: forgetMmu,
  onShadowUnmap(mmu, nestedIpa, size) {
    if (mmu.kvm.config.directMap) directMapShadowUnmap(mmu, nestedIpa, size);
  },
};

export const accelStrategy: UnmapStrategy = {
  name: "accel",
  onShadowMap(mmu, canonicalIpa, nestedIpa, size) {
    recordShadowMap(mmu, canonicalIpa, nestedIpa, size);
    accelRecord(mmu, canonicalIpa, size);
  },
  onCanonicalUnmap: accelCanonicalUnmap,
  onMmuFullyUnmapped(mmu) {
    forgetMmu(mmu);
    accelClearMmu(mmu);
  },
  onShadowUnmap(mmu, nestedIpa, size) {
    if (mmu.kvm.config.directMap) directMapShadowUnmap(mmu, nestedIpa, size, accelClearRange);
  },
};

registerUnmapStrategy(revmapStrategy);
registerUnmapStrategy(accelStrategy);
registerUnmapStrategy(rfcRbtreeStrategy);
