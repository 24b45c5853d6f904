// Reverse map of a shadow MMU (seed 001, "Avoid full shadow s2 unmap"): canonical IPA range →
// the nested IPA a shadow leaf maps it at, recorded at every shadow fault, so a canonical unmap
// tears down only the shadow ranges built from what went away instead of the whole MMU.
//
// Payload: bit 63 VALID (a nested IPA of 0 is not the empty value 0), bits 55:12 the nested IPA,
// bit 0 UNKNOWN_IPA for a "polluted" range where several mappings overlapped and the nested IPAs
// are no longer known. Bits 11:1 stay zero, so no payload collides with the range tree's
// reserved values.

import { KVM_PHYS_SIZE, kvmStage2UnmapRange, type KvmS2Mmu } from "./nested.ts";
import { RangeTree } from "./range_tree.ts";
import type { CanonicalIpa, NestedIpa } from "./addr.ts";
import { kvmEvent, kvmStat, kvmStatUnmapVisit } from "./stats.ts";
import type { Kvm } from "./vm.ts";

export const VALID_ENTRY = 1n << 63n;
/** Bits 55:12. */
export const NESTED_IPA_MASK = ((1n << 56n) - 1n) & ~0xfffn;
export const UNKNOWN_IPA = 1n;


/** The payload recording nested IPA `nestedIpa`. */
export function revmapPayload(nestedIpa: bigint): bigint {
  return VALID_ENTRY | (nestedIpa & NESTED_IPA_MASK);
}

/** A polluted range: the nested IPAs it came from are unknown. */
export function isUnknownIpa(value: bigint): boolean {
  return (value & UNKNOWN_IPA) !== 0n;
}

/** The nested IPA a valid payload names. */
export function payloadNestedIpa(value: bigint): bigint {
  return value & NESTED_IPA_MASK;
}

/** What recording one shadow mapping did. */
export type RevmapRecordResult = "broken" | "unchanged" | "valid" | "polluted" | "store-failed";

/**
 * One store into the revmap with a non-sleeping allocation. It may fail (fault injection): the
 * MMU's revmap is then broken, freed and left null, and the MMU falls back to full unmap.
 */
function revmapStore(mmu: KvmS2Mmu, tree: RangeTree, index: bigint, last: bigint, value: bigint, gap = false): boolean {
  const kvm = mmu.kvm;
  const inject = kvm.faultInject;
  if (inject && inject.revmapStoreFailures > 0) {
    inject.revmapStoreFailures--;
    mmu.revmapBroken = true;
    mmu.revmap = null;
    mmu.directMap = null;
    kvmStat(kvm, "revmap.broken");
    kvmEvent(kvm, { kind: "revmap", what: "broken", mmu: mmu.index, start: index as CanonicalIpa, last: last as CanonicalIpa });
    return false;
  }
  if (gap) tree.storeInGap(index, last, value);
  else tree.store(index, last, value);
  return true;
}

/**
 * Record, at shadow fault time, that canonical [canonicalIpa, +size) is mapped at nested
 * `nestedIpa`. The same range with the same nested IPA again (a permission update) changes
 * nothing; any overlap with recorded ranges becomes one polluted range spanning them all.
 */
export function revmapRecord(mmu: KvmS2Mmu, canonicalIpa: bigint, nestedIpa: bigint, size: bigint): RevmapRecordResult {
  if (mmu.revmapBroken) return "broken";
  const tree = (mmu.revmap ??= new RangeTree());
  let start = canonicalIpa;
  let end = canonicalIpa + size - 1n;
  const overlaps = tree.intersecting(start, end);
  if (overlaps.length === 0) {
    return revmapStore(mmu, tree, start, end, revmapPayload(nestedIpa), true) ? "valid" : "store-failed";
  }
  const e = overlaps[0]!;
  if (overlaps.length === 1 && e.index === start && e.last === end && e.value === revmapPayload(nestedIpa)) return "unchanged";
  if (overlaps[0]!.index < start) start = overlaps[0]!.index;
  if (overlaps[overlaps.length - 1]!.last > end) end = overlaps[overlaps.length - 1]!.last;
  if (!revmapStore(mmu, tree, start, end, UNKNOWN_IPA)) return "store-failed";
  kvmStat(mmu.kvm, "revmap.polluted");
  kvmEvent(mmu.kvm, { kind: "revmap", what: "polluted", mmu: mmu.index, start: start as CanonicalIpa, last: end as CanonicalIpa, overlaps: overlaps.length, nestedIpa: nestedIpa as NestedIpa });
  return "polluted";
}

/** Free the MMU's revmap (its table is empty, so it starts over exact). */
export function revmapDestroy(mmu: KvmS2Mmu): void {
  mmu.revmap = null;
  mmu.directMap = null;
}

/** Called for every valid revmap range removed from an MMU (the accelerator clears its bit). */
export type RevmapEraseHook = (mmu: KvmS2Mmu, index: bigint, last: bigint) => void;

/**
 * The revmap unmap of one valid MMU for canonical [gpa, gpa+size): a broken revmap → the whole
 * MMU; a polluted range intersecting it → the whole MMU; otherwise each intersecting range is
 * erased and the whole nested range it names is unmapped. Returns the shadow leaves removed.
 */
export function revmapUnmapMmu(mmu: KvmS2Mmu, gpa: bigint, size: bigint, onErase?: RevmapEraseHook): number {
  if (mmu.revmapBroken) {
    kvmStat(mmu.kvm, "revmap.fallbackFullUnmaps");
    return kvmStage2UnmapRange(mmu, 0n, KVM_PHYS_SIZE);
  }
  const tree = mmu.revmap;
  if (!tree) return 0;
  let removed = 0;
  for (const e of tree.intersecting(gpa, gpa + size - 1n)) {
    if (mmu.revmap !== tree) break; // the MMU was emptied meanwhile
    const now = tree.load(e.index);
    // Already erased through the direct map while unmapping an earlier range.
    if (!now || now.index !== e.index || now.last !== e.last || now.value !== e.value) continue;
    if (isUnknownIpa(e.value)) {
      revmapDestroy(mmu);
      return removed + kvmStage2UnmapRange(mmu, 0n, KVM_PHYS_SIZE);
    }
    tree.erase(e.index);
    onErase?.(mmu, e.index, e.last);
    removed += kvmStage2UnmapRange(mmu, payloadNestedIpa(e.value), e.last - e.index + 1n);
  }
  return removed;
}

/**
 * The canonical range [gpa, gpa+size) is gone: the revmap unmap on every valid shadow MMU.
 * Records the shadow entries removed and the MMUs visited.
 */
export function revmapCanonicalUnmap(kvm: Kvm, gpa: bigint, size: bigint): void {
  let removed = 0;
  let visited = 0;
  for (const mmu of kvm.nestedMmus) {
    if (!mmu.valid) continue;
    visited++;
    removed += revmapUnmapMmu(mmu, gpa, size);
  }
  kvmStat(kvm, "shadowEntriesRemoved", removed);
  kvmStatUnmapVisit(kvm, visited);
  if (kvm.config.staleStats) kvm.metrics.sample("revmap.staleEntries", revmapStaleEntries(kvm));
  kvmEvent(kvm, { kind: "unmap", scope: "nested", strategy: "revmap", start: gpa as CanonicalIpa, size, mmusVisited: visited, removed });
}

/**
 * Whether a valid revmap range of `mmu` still describes a live shadow mapping: some shadow leaf
 * in its nested range was built from the matching canonical page.
 */
export function revmapEntryLive(mmu: KvmS2Mmu, index: bigint, last: bigint, value: bigint): boolean {
  const nested = payloadNestedIpa(value);
  for (const leaf of mmu.pgt.leavesIn(nested, last - index + 1n)) {
    const origin = mmu.shadowOrigin.get(leaf.ipa);
    if (origin !== undefined && origin === index + (leaf.ipa - nested)) return true;
  }
  return false;
}

/**
 * Stale revmap entries over all shadow MMUs: valid ranges whose nested range no longer holds a
 * shadow leaf built from them (L1's TLBIs removed it and nothing told the revmap).
 */
export function revmapStaleEntries(kvm: Kvm): number {
  let stale = 0;
  for (const mmu of kvm.nestedMmus) {
    if (!mmu.revmap) continue;
    for (const e of mmu.revmap.entries()) {
      if (!isUnknownIpa(e.value) && !revmapEntryLive(mmu, e.index, e.last, e.value)) stale++;
    }
  }
  return stale;
}
