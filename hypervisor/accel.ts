// Canonical-unmap accelerator (seed 000): the canonical MMU's range tree indexes canonical IPA
// ranges by the shadow MMUs that map something there, one bit per group of 2^p MMUs in bits 63:2
// (bits 1:0 stay clear because of the range tree's reserved values). A canonical unmap then runs
// the revmap unmap only on the MMUs whose groups have a bit set over the range, instead of on
// every valid MMU. Bits are cleared only when that is certainly right (p == 0, exact range), so
// stale bits accumulate; accelStale() measures them.

import type { KvmS2Mmu } from "./nested.ts";
import { RangeTree, type RangeEntry } from "./range_tree.ts";
import { revmapStaleEntries, revmapUnmapMmu } from "./revmap.ts";
import type { CanonicalIpa } from "./addr.ts";
import { kvmEvent, kvmStat, kvmStatUnmapVisit } from "./stats.ts";
import type { Kvm } from "./vm.ts";

/** Bits 63:2 of a value: 62 groups. */
export const ACCEL_USABLE_BITS = 62;
const FIRST_BIT = 2;


/** mmus_per_bit_power: the smallest p with 62 · 2^p ≥ n (1–62 MMUs → 0, 63–124 → 1, 125–248 → 2…). */
export function mmusPerBitPower(n: number): number {
  let p = 0;
  while (ACCEL_USABLE_BITS * 2 ** p < n) p++;
  return p;
}

/** The bit number (2..63) of the group holding MMU `index`. */
export function accelBit(index: number, power: number): number {
  return (index >> power) + FIRST_BIT;
}

/** The index of the first MMU of bit `bit`'s group. */
export function accelFirstMmu(bit: number, power: number): number {
  return (bit - FIRST_BIT) << power;
}

/** The value mask of MMU `mmu`'s group bit. */
export function accelMask(mmu: KvmS2Mmu): bigint {
  return 1n << BigInt(accelBit(mmu.index, mmu.kvm.mmusPerBitPower));
}

/** The MMUs of bit `bit`'s group (the last group may be short). */
export function accelGroup(kvm: Kvm, bit: number): KvmS2Mmu[] {
  const first = accelFirstMmu(bit, kvm.mmusPerBitPower);
  return kvm.nestedMmus.slice(first, first + 2 ** kvm.mmusPerBitPower);
}

/** The set bit numbers of a value. */
export function accelBits(value: bigint): number[] {
  const bits: number[] = [];
  for (let b = FIRST_BIT; b < 64; b++) if ((value >> BigInt(b)) & 1n) bits.push(b);
  return bits;
}

/**
 * At shadow fault time: OR the MMU's bit over canonical [canonicalIpa, +size), merging every
 * overlapping range into one spanning range whose value ORs theirs. The tree's allocation may
 * sleep, so this store never fails.
 */
export function accelRecord(mmu: KvmS2Mmu, canonicalIpa: bigint, size: bigint): void {
  const kvm = mmu.kvm;
  const tree = (kvm.accel ??= new RangeTree());
  const bit = accelMask(mmu);
  let start = canonicalIpa;
  let end = canonicalIpa + size - 1n;
  const overlaps = tree.intersecting(start, end);
  if (overlaps.length === 0) {
    tree.storeInGap(start, end, bit);
    return;
  }
  let value = bit;
  for (const e of overlaps) value |= e.value;
  const first = overlaps[0]!;
  const lastE = overlaps[overlaps.length - 1]!;
  if (overlaps.length === 1 && first.index <= start && first.last >= end && first.value === value) return;
  if (first.index < start) start = first.index;
  if (lastE.last > end) end = lastE.last;
  tree.store(start, end, value);
}

/** Drop `bit` from an entry; an entry left with no bit disappears. */
function clearBits(tree: RangeTree, e: RangeEntry, bit: bigint): void {
  const v = e.value & ~bit;
  if (v === e.value) return;
  if (v === 0n) tree.erase(e.index);
  else tree.store(e.index, e.last, v);
}

/**
 * A revmap range [index, last] of `mmu` was removed: clear the MMU's bit there only if every bit
 * is one MMU (p == 0) and a range with exactly these bounds exists (a larger range may cover
 * other mappings of the same MMU).
 */
export function accelClearRange(mmu: KvmS2Mmu, index: bigint, last: bigint): void {
  const kvm = mmu.kvm;
  if (kvm.mmusPerBitPower !== 0 || !kvm.accel) return;
  const e = kvm.accel.load(index);
  if (!e || e.index !== index || e.last !== last) return;
  clearBits(kvm.accel, e, accelMask(mmu));
  if (kvm.accel.size === 0) kvm.accel = null;
}

/**
 * `mmu` was emptied: with p == 0 its bit goes from every range. Once every shadow MMU is empty the
 * tree describes nothing and is destroyed (whatever p).
 */
export function accelClearMmu(mmu: KvmS2Mmu): void {
  const kvm = mmu.kvm;
  if (!kvm.accel) return;
  if (kvm.mmusPerBitPower === 0) {
    const bit = accelMask(mmu);
    for (const e of kvm.accel.entries()) if (e.value & bit) clearBits(kvm.accel, e, bit);
  }
  if (kvm.accel.size === 0 || kvm.nestedMmus.every((m) => m.pgt.leafCount === 0)) {
    kvm.accel = null;
    kvmEvent(kvm, { kind: "accel", what: "destroyed" });
  }
}

/**
 * Canonical unmap of [gpa, gpa+size): for each range intersecting it, for each set bit, the
 * revmap unmap on each MMU of that group. No other MMU is visited. Records the shadow entries
 * removed, the MMUs visited and the stale bits and ranges left.
 */
export function accelCanonicalUnmap(kvm: Kvm, gpa: bigint, size: bigint): void {
  let bits = 0n;
  for (const e of kvm.accel?.intersecting(gpa, gpa + size - 1n) ?? []) bits |= e.value;
  let removed = 0;
  let visited = 0;
  for (const bit of accelBits(bits)) {
    for (const mmu of accelGroup(kvm, bit)) {
      visited++;
      if (mmu.valid) removed += revmapUnmapMmu(mmu, gpa, size, accelClearRange);
    }
  }
  kvmStat(kvm, "shadowEntriesRemoved", removed);
  kvmStatUnmapVisit(kvm, visited);
  if (kvm.config.staleStats) {
    kvm.metrics.sample("revmap.staleEntries", revmapStaleEntries(kvm));
    const stale = accelStale(kvm);
    kvm.metrics.sample("accel.staleBits", stale.bits);
    kvm.metrics.sample("accel.staleRanges", stale.ranges);
  }
  kvmEvent(kvm, { kind: "unmap", scope: "nested", strategy: "accel", start: gpa as CanonicalIpa, size, mmusVisited: visited, removed });
}

/**
 * The canonical ranges the shadow leaves of `mmu` were built from (the ground truth mmu.ts records
 * at every shadow install), sorted by start, with the running maximum of their ends, so whether
 * any intersects [a, b] is one binary search.
 */
class CanonicalCoverage {
  private readonly starts: bigint[] = [];
  private readonly maxEnds: bigint[] = [];

  constructor(mmu: KvmS2Mmu) {
    const r: [bigint, bigint][] = [];
    for (const leaf of mmu.pgt.leaves()) {
      const origin = mmu.shadowOrigin.get(leaf.ipa);
      if (origin !== undefined) r.push([origin, origin + leaf.size - 1n]);
    }
    r.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    let max = -1n;
    for (const [a, b] of r) {
      if (b > max) max = b;
      this.starts.push(a);
      this.maxEnds.push(max);
    }
  }

  intersects(a: bigint, b: bigint): boolean {
    // k: the last range starting at or below b.
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= b) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && this.maxEnds[lo - 1]! >= a;
  }
}

/**
 * Stale accelerator state: a bit is stale in a range when no MMU of its group has a shadow leaf
 * built from any canonical page of that range; a range is stale when all its bits are.
 */
export function accelStale(kvm: Kvm): { bits: number; ranges: number } {
  if (!kvm.accel) return { bits: 0, ranges: 0 };
  const coverage = new Map<KvmS2Mmu, CanonicalCoverage>();
  const coverageOf = (m: KvmS2Mmu): CanonicalCoverage => {
    let c = coverage.get(m);
    if (!c) coverage.set(m, (c = new CanonicalCoverage(m)));
    return c;
  };
  let bits = 0;
  let ranges = 0;
  for (const e of kvm.accel.entries()) {
    let live = 0;
    for (const bit of accelBits(e.value)) {
      if (accelGroup(kvm, bit).some((m) => coverageOf(m).intersects(e.index, e.last))) live++;
      else bits++;
    }
    if (live === 0) ranges++;
  }
  return { bits, ranges };
}
