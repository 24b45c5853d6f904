// Canonical-unmap accelerator (seed 000): the canonical MMU's range tree indexes canonical IPA
// ranges by the shadow MMUs that map something there, one bit per group of 2^p MMUs in bits 63:2
// (accel_bits.ts). A canonical unmap then runs the revmap unmap only on the MMUs whose groups
// have a bit set over the range, instead of on every valid MMU. Bits are cleared only when that
// is certainly right (p == 0, exact range), so stale bits accumulate; stale() measures them.

import { addrAdd, type CanonicalIpa, type NestedIpa } from "../addr.ts";
import type { KvmS2Mmu } from "../nested.ts";
import { kvmEvent } from "../events.ts";
import { kvmStat, kvmStatUnmapVisit } from "../metrics.ts";
import type { Kvm } from "../vm.ts";
import { accelBit, accelBits, accelFirstMmu, mmusPerBitPower } from "./accel_bits.ts";
import { accelGroupsText } from "./describe.ts";
import { RangeTree, type RangeEntry } from "./range_tree.ts";
import { revmapCoverage } from "./revmap_coverage.ts";
import { RevmapStrategy, type RevmapEraseHook } from "./revmap.ts";
import type { AccelRange, AccelRecords, CoverageAnswer, UnmapCoverage } from "./strategy.ts";
import { ACCEL_WORDING } from "./wording.ts";
import { hex } from "../../emulator/types.ts";


/** 1n << bit for every bit a group can have, made once (every shadow fault records one). */
const GROUP_MASK: readonly bigint[] = Array.from({ length: 64 }, (_, b) => 1n << BigInt(b));

/** Drop `bit` from an entry; an entry left with no bit disappears. */
function clearBits(tree: RangeTree, e: RangeEntry, bit: bigint): void {
  const v = e.value & ~bit;
  if (v === e.value) return;
  if (v === 0n) tree.erase(e.index);
  else tree.store(e.index, e.last, v);
}

/** Unmap strategy "accel": the revmap, plus the canonical tree of MMU group bits. */
export class AccelStrategy extends RevmapStrategy {
  override readonly name: string = "accel";
  /** Canonical IPA range → bitmap of shadow MMU groups; null when empty. */
  tree: RangeTree | null = null;
  /** log2 of the shadow MMUs each bit stands for (set when the MMU array is sized). */
  power = 0;
  /** A first: a leaf without its MMU's bit is never reached by an unmap, whatever the revmap holds. */
  override readonly coverage: readonly UnmapCoverage[] = [accelCoverage(this), revmapCoverage((mmu) => this.mmus[mmu.index]!)];

  override initNested(kvm: Kvm): void {
    super.initNested(kvm);
    this.power = mmusPerBitPower(kvm.nestedMmus.length);
  }

  /** The value mask of MMU `mmu`'s group bit. */
  mask(mmu: KvmS2Mmu): bigint {
    const b = accelBit(mmu.index, this.power);
    return GROUP_MASK[b] ?? 1n << BigInt(b);
  }

  /** The MMUs of bit `bit`'s group (the last group may be short). */
  group(kvm: Kvm, bit: number): KvmS2Mmu[] {
    const first = accelFirstMmu(bit, this.power);
    return kvm.nestedMmus.slice(first, first + 2 ** this.power);
  }

  /**
   * Seed 000's fault path: record_accel first; when its store fails the fault returns before the
   * revmap record, so the shadow leaf it installed is in neither structure.
   */
  override shadowMap(mmu: KvmS2Mmu, canonical: CanonicalIpa, nested: NestedIpa, size: bigint): void {
    if (!this.record(mmu, canonical, size)) return;
    this.recordRevmap(mmu, canonical, nested, size);
  }

  /**
   * At shadow fault time: OR the MMU's bit over canonical [canonical, +size), merging every
   * overlapping range into one spanning range whose value ORs theirs. The allocation may sleep
   * (GFP_KERNEL_ACCOUNT) but can still fail (injected `accelStoreFailures`): false, nothing stored.
   */
  record(mmu: KvmS2Mmu, canonical: CanonicalIpa, size: bigint): boolean {
    const inject = mmu.kvm.faultInject;
    if (inject.accelStoreFailures > 0) {
      inject.accelStoreFailures--;
      kvmStat(mmu.kvm, "accel.storeFailures");
      return false;
    }
    const tree = (this.tree ??= new RangeTree());
    const bit = this.mask(mmu);
    let start: bigint = canonical;
    let end = addrAdd(canonical, size) - 1n;
    const overlaps = tree.intersecting(start, end);
    if (overlaps.length === 0) {
      tree.storeInGap(start, end, bit);
      return true;
    }
    let value = bit;
    for (const e of overlaps) value |= e.value;
    const first = overlaps[0]!;
    const lastE = overlaps[overlaps.length - 1]!;
    if (overlaps.length === 1 && first.index <= start && first.last >= end && first.value === value) return true;
    if (first.index < start) start = first.index;
    if (lastE.last > end) end = lastE.last;
    tree.store(start, end, value);
    return true;
  }

  /**
   * A revmap range [index, last] of `mmu` was removed: clear the MMU's bit there only if every bit
   * is one MMU (p == 0) and a range with exactly these bounds exists (a larger range may cover
   * other mappings of the same MMU).
   */
  protected override readonly onErase: RevmapEraseHook = (mmu, index, last) => {
    if (this.power !== 0 || !this.tree) return;
    const e = this.tree.load(index);
    if (!e || e.index !== index || e.last !== last) return;
    clearBits(this.tree, e, this.mask(mmu));
    if (this.tree.size === 0) this.tree = null;
  };

  /** `mmu`'s revmap was destroyed: with p == 0 its bit goes from every range. */
  protected override readonly onDestroy = (mmu: KvmS2Mmu): void => {
    const tree = this.tree;
    if (this.power !== 0 || !tree) return;
    const bit = this.mask(mmu);
    for (const e of tree.entries()) if (e.value & bit) clearBits(tree, e, bit);
    if (tree.size === 0) this.tree = null;
  };

  /**
   * `mmu` was emptied (the revmap's rules say what happens to its records). Once every shadow
   * MMU is empty, all nested MMUs have been unmapped: the tree describes nothing and is destroyed
   * (whatever p).
   */
  override mmuFullyUnmapped(mmu: KvmS2Mmu): void {
    super.mmuFullyUnmapped(mmu);
    if (!this.tree) return;
    const kvm = mmu.kvm;
    if (kvm.nestedMmus.every((m) => m.pgt.leafCount === 0)) {
      this.tree = null;
      kvmEvent(kvm, { kind: "accel", what: "destroyed" });
    }
  }

  /**
   * Canonical unmap of [gpa, gpa+size), as seed 000's loop runs: for each canonical-tree range
   * intersecting it, for each set bit, the revmap unmap of that range's part of [gpa, gpa+size)
   * on each MMU of the bit's group. No other MMU is visited. Records the shadow entries removed,
   * the distinct MMUs visited and the loop's runs (Metrics.shadowMmusVisited, accel.loopVisits),
   * and the stale bits and ranges left.
   */
  override canonicalUnmap(kvm: Kvm, gpa: CanonicalIpa, size: bigint): void {
    const end = gpa + size - 1n;
    let removed = 0;
    let loopVisits = 0;
    let groups = 0n;
    // The ranges as they were: unmapping clears bits and erases ranges as it goes.
    for (const e of this.tree?.intersecting(gpa, end) ?? []) {
      const a = e.index > gpa ? e.index : gpa;
      const b = e.last < end ? e.last : end;
      groups |= e.value;
      for (const bit of accelBits(e.value)) {
        for (const mmu of this.group(kvm, bit)) {
          loopVisits++;
          if (mmu.valid) removed += this.unmapMmu(mmu, a as CanonicalIpa, b - a + 1n);
        }
      }
    }
    let visited = 0;
    for (const bit of accelBits(groups)) visited += this.group(kvm, bit).length;
    kvmStat(kvm, "shadowEntriesRemoved", removed);
    kvmStatUnmapVisit(kvm, visited);
    kvm.metrics.sample("accel.loopVisits", loopVisits);
    if (kvm.config.staleStats) {
      kvm.metrics.sample("revmap.staleEntries", this.staleEntries(kvm));
      const stale = this.stale(kvm);
      kvm.metrics.sample("accel.staleBits", stale.bits);
      kvm.metrics.sample("accel.staleRanges", stale.ranges);
    }
    kvmEvent(kvm, { kind: "unmap", scope: "nested", strategy: "accel", start: gpa, size, mmusVisited: visited, removed, wording: ACCEL_WORDING });
  }

  /**
   * Stale accelerator state: a bit is stale in a range when no MMU of its group has a shadow leaf
   * built from any canonical page of that range; a range is stale when all its bits are.
   */
  stale(kvm: Kvm): { bits: number; ranges: number } {
    let bits = 0;
    let ranges = 0;
    for (const r of this.accelRecords(kvm).ranges) {
      const stale = r.bits.filter((b) => b.stale).length;
      bits += stale;
      if (stale === r.bits.length) ranges++;
    }
    return { bits, ranges };
  }

  /** The canonical tree as data, each bit judged live or stale. */
  override accelRecords(kvm: Kvm): AccelRecords {
    const coverage = new Map<KvmS2Mmu, CanonicalCoverage>();
    const coverageOf = (m: KvmS2Mmu): CanonicalCoverage => {
      let c = coverage.get(m);
      if (!c) coverage.set(m, (c = new CanonicalCoverage(m)));
      return c;
    };
    const ranges = (this.tree?.entries() ?? []).map((e) => this.accelRange(kvm, e, (m) => coverageOf(m).intersects(e.index, e.last)));
    return { mmusPerBit: 2 ** this.power, ranges };
  }

  /** One canonical-tree range as data; `live(m)`: whether MMU m has a leaf built from the range. */
  private accelRange(kvm: Kvm, e: RangeEntry, live: (m: KvmS2Mmu) => boolean): AccelRange {
    const bits = accelBits(e.value).map((bit) => {
      const group = this.group(kvm, bit);
      return { bit, mmus: group.map((m) => m.index), stale: !group.some(live) };
    });
    return { start: e.index as CanonicalIpa, last: e.last as CanonicalIpa, value: e.value, bits };
  }

  override recordsOf(kvm: Kvm, canonical: CanonicalIpa): string[] {
    const out = super.recordsOf(kvm, canonical);
    const a = this.tree?.load(canonical);
    // The range's groups only: whether they are stale is `accel`'s business, not `pt`'s.
    if (a) out.push(`accelerator: canonical ${hex(a.index)}..${hex(a.last)} → ${accelGroupsText(this.accelRange(kvm, a, () => true))}`);
    return out;
  }
}

/**
 * A: each shadow leaf's canonical pages are covered by canonical-tree ranges holding the MMU's
 * group bit (computed here from seed 000's layout, not with the strategy's helpers).
 */
function accelCoverage(s: AccelStrategy): UnmapCoverage {
  return {
    invariant: "A",
    exempt: () => false,
    covers(mmu: KvmS2Mmu, c: CanonicalIpa): CoverageAnswer {
      const accel = s.tree;
      const bit = 1n << BigInt((mmu.index >> s.power) + 2);
      const e = accel ? accel.load(c) : null;
      if (!e || (e.value & bit) === 0n) {
        const why = !accel ? "there is no canonical tree" : !e ? "no canonical-tree range covers its canonical page" : `range [${hex(e.index)}, ${hex(e.last)}] = ${hex(e.value)} lacks bit ${hex(bit)}`;
        return { covered: false, reason: `shadow leaf missing from the accelerator: ${why}`, range: e };
      }
      return { covered: true, last: e.last as CanonicalIpa };
    },
  };
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

/** The accelerator strategy of `kvm`, if that is its strategy. */
export function accelOf(kvm: Kvm): AccelStrategy | null {
  return kvm.unmap instanceof AccelStrategy ? kvm.unmap : null;
}

/** Stale accelerator bits and ranges of `kvm` (none when its strategy keeps no accelerator). */
export function accelStale(kvm: Kvm): { bits: number; ranges: number } {
  return accelOf(kvm)?.stale(kvm) ?? { bits: 0, ranges: 0 };
}
