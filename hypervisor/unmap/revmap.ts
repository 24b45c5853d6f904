// Reverse map of a shadow MMU (seed 001, "Avoid full shadow s2 unmap"): canonical IPA range →
// the nested IPA a shadow leaf maps it at, recorded at every shadow fault, so a canonical unmap
// tears down only the shadow ranges built from what went away instead of the whole MMU. The
// payload layout and the per-MMU state are in revmap_state.ts.

import { addrAdd, type CanonicalIpa, type NestedIpa } from "../addr.ts";
import { kvmStage2UnmapRange, type KvmS2Mmu, kvmUnmapValidMmus } from "../nested.ts";
import { KVM_PHYS_SIZE } from "../pgtable.ts";
import { kvmEvent } from "../events.ts";
import { kvmStat } from "../metrics.ts";
import type { Kvm } from "../vm.ts";
import { directMapRecord, directMapShadowUnmap } from "./direct_map.ts";
import { mmuRecordLines, vmRecordLines } from "./describe.ts";
import { RangeTree, type RangeEntry } from "./range_tree.ts";
import { revmapCoverage } from "./revmap_coverage.ts";
import { isUnknownIpa, payloadNestedIpa, revmapPayload, RevmapMmu, UNKNOWN_IPA, type RevmapEraseHook } from "./revmap_state.ts";
import { shadowMappingLive } from "./shadow_live.ts";
import type {
  AccelRecords, DirectMapRange, MmuRecords, RevmapRange, RevmapTlbi, StrategyRecords, UnmapCoverage, UnmapStrategy,
} from "./strategy.ts";
import { REVMAP_WORDING } from "./wording.ts";
import { hex } from "../../emulator/types.ts";

export { isUnknownIpa, NESTED_IPA_MASK, payloadNestedIpa, revmapPayload, RevmapMmu, UNKNOWN_IPA, VALID_ENTRY, type RevmapEraseHook } from "./revmap_state.ts";


/** What recording one shadow mapping did. */
export type RevmapRecordResult = "broken" | "unchanged" | "valid" | "polluted" | "store-failed";

/**
 * Unmap strategy "revmap": a reverse map per shadow MMU. Option revmapTlbi says whether L1's
 * TLBIs remove the entries of the leaves they remove (v3) or leave them stale (the seed); option
 * directMap adds v3's nested IPA direct map, which finds those entries without a scan.
 */
export class RevmapStrategy implements UnmapStrategy {
  readonly name: string = "revmap";
  /** Per shadow MMU, by index. */
  mmus: RevmapMmu[] = [];
  readonly coverage: readonly UnmapCoverage[];
  /** Set while the strategy's own unmap empties an MMU (broken fallback, polluted range). */
  private ownFullUnmap = false;

  constructor(
    readonly directMap: boolean,
    readonly tlbi: RevmapTlbi = directMap ? "v3" : "seed",
  ) {
    this.coverage = [revmapCoverage((mmu) => this.mmus[mmu.index]!)];
  }

  initNested(kvm: Kvm): void {
    this.mmus = kvm.nestedMmus.map(() => new RevmapMmu());
  }

  /** The reverse-map state of `mmu`. */
  state(mmu: KvmS2Mmu): RevmapMmu {
    return this.mmus[mmu.index]!;
  }

  shadowMap(mmu: KvmS2Mmu, canonical: CanonicalIpa, nested: NestedIpa, size: bigint): void {
    this.recordRevmap(mmu, canonical, nested, size);
  }

  /** The revmap record of a shadow fault, and the direct map's beside it. */
  protected recordRevmap(mmu: KvmS2Mmu, canonical: CanonicalIpa, nested: NestedIpa, size: bigint): void {
    const s = this.mmus[mmu.index]!;
    const r = revmapRecord(s, mmu, canonical, nested, size);
    if (!this.directMap || r === "broken" || r === "store-failed") return;
    if (!directMapRecord(s, mmu, nested, canonical, size)) revmapBreak(s, mmu, canonical, addrAdd(canonical, size) - 1n);
  }

  canonicalUnmap(kvm: Kvm, gpa: CanonicalIpa, size: bigint): void {
    const { visited, removed } = kvmUnmapValidMmus(kvm, (mmu) => this.unmapMmu(mmu, gpa, size));
    if (kvm.config.staleStats) kvm.metrics.sample("revmap.staleEntries", this.staleEntries(kvm));
    kvmEvent(kvm, { kind: "unmap", scope: "nested", strategy: "revmap", start: gpa, size, mmusVisited: visited, removed, wording: REVMAP_WORDING });
  }

  /**
   * Shadow leaves in nested [nested, +size) went: an L1 TLBI (IPAS2E1, RIPAS2E1), or the
   * strategy's own unmap of a revmap range. The seed leaves the revmap as it is; v3 erases the
   * entries of the leaves that went (the direct map keeps in lockstep with the revmap either way).
   */
  shadowUnmap(mmu: KvmS2Mmu, nested: NestedIpa, size: bigint): void {
    if (this.tlbi === "seed") return;
    const s = this.mmus[mmu.index]!;
    if (this.directMap) directMapShadowUnmap(s, mmu, nested, size, this.onErase);
    else revmapTlbiErase(s, mmu, nested, size, this.onErase);
  }

  /**
   * The MMU's table is empty. Recycled for another context (pending unmap): its revmap goes and
   * it starts clean, even if the old one was broken. Emptied by the strategy's own unmap: what
   * unmapMmu did stands. Emptied by L1 (VMALLS12E1, ALLE1) or by any other whole-MMU unmap: the
   * seed keeps the revmap (stale), v3 destroys it.
   */
  mmuFullyUnmapped(mmu: KvmS2Mmu): void {
    if (this.ownFullUnmap) return;
    const s = this.mmus[mmu.index]!;
    if (mmu.pendingUnmap) {
      this.destroyRevmap(mmu);
      s.broken = false;
    } else if (this.tlbi === "v3") this.destroyRevmap(mmu);
  }

  /** Free the MMU's revmap and direct map, and tell what hangs on them (the accelerator). */
  protected destroyRevmap(mmu: KvmS2Mmu): void {
    revmapDestroy(this.mmus[mmu.index]!);
    this.onDestroy?.(mmu);
  }

  /** Called when an MMU's revmap is destroyed (the accelerator clears the MMU's bit); none here. */
  protected readonly onDestroy: ((mmu: KvmS2Mmu) => void) | undefined = undefined;

  /** The strategy's own unmap of the whole MMU: none of mmuFullyUnmapped's cleaning applies. */
  private unmapWholeMmu(mmu: KvmS2Mmu): number {
    this.ownFullUnmap = true;
    try {
      return kvmStage2UnmapRange(mmu, 0n, KVM_PHYS_SIZE);
    } finally {
      this.ownFullUnmap = false;
    }
  }

  /** What a revmap range removal also removes (the accelerator's bit); none here. */
  protected readonly onErase: RevmapEraseHook | undefined = undefined;

  /**
   * The revmap unmap of one valid MMU for canonical [gpa, gpa+size): a broken revmap → the whole
   * MMU; a polluted range intersecting it → the whole MMU; otherwise each intersecting range is
   * erased and the whole nested range it names is unmapped. Returns the shadow leaves removed.
   */
  unmapMmu(mmu: KvmS2Mmu, gpa: CanonicalIpa, size: bigint): number {
    const s = this.mmus[mmu.index]!;
    if (s.broken) {
      // The fallback empties the MMU and leaves the revmap broken until the MMU is recycled.
      kvmStat(mmu.kvm, "revmap.fallbackFullUnmaps");
      return this.unmapWholeMmu(mmu);
    }
    const tree = s.revmap;
    if (!tree) return 0;
    let removed = 0;
    for (const e of tree.intersecting(gpa, gpa + size - 1n)) {
      if (s.revmap !== tree) break; // the MMU was emptied meanwhile
      const now = tree.load(e.index);
      // Already erased through the direct map while unmapping an earlier range.
      if (!now || now.index !== e.index || now.last !== e.last || now.value !== e.value) continue;
      if (isUnknownIpa(e.value)) {
        this.destroyRevmap(mmu);
        return removed + this.unmapWholeMmu(mmu);
      }
      tree.erase(e.index);
      this.onErase?.(mmu, e.index as CanonicalIpa, e.last as CanonicalIpa);
      removed += kvmStage2UnmapRange(mmu, payloadNestedIpa(e.value), e.last - e.index + 1n);
    }
    return removed;
  }

  /**
   * Stale revmap entries over all shadow MMUs: valid ranges whose nested range no longer holds a
   * shadow leaf built from them (L1's TLBIs removed it and nothing told the revmap).
   */
  staleEntries(kvm: Kvm): number {
    let stale = 0;
    for (const mmu of kvm.nestedMmus) for (const r of this.revmapRanges(mmu) ?? []) if (r.stale) stale++;
    return stale;
  }

  /** The MMU's revmap as ranges, each judged live or stale; null when it has none. */
  revmapRanges(mmu: KvmS2Mmu): RevmapRange[] | null {
    return this.mmus[mmu.index]!.revmap?.entries().map((e) => revmapRange(mmu, e)) ?? null;
  }

  /** What the strategy records for one MMU. */
  mmuRecordsOf(mmu: KvmS2Mmu): MmuRecords {
    const s = this.mmus[mmu.index]!;
    return { mmu: mmu.index, broken: s.broken, revmap: this.revmapRanges(mmu), directMap: s.directMap?.entries().map(directMapRange) ?? [] };
  }

  /** The accelerator's records; none here. */
  accelRecords(_kvm: Kvm): AccelRecords | null {
    return null;
  }

  records(kvm: Kvm): StrategyRecords {
    return { strategy: this.name, mmus: kvm.nestedMmus.map((m) => this.mmuRecordsOf(m)), accel: this.accelRecords(kvm) };
  }

  mmuNotes(mmu: KvmS2Mmu): string[] {
    return this.mmus[mmu.index]!.broken ? ["revmap broken"] : [];
  }

  mmuRecords(mmu: KvmS2Mmu, limit: number): string[] {
    return mmuRecordLines(this.mmuRecordsOf(mmu), limit);
  }

  vmRecords(kvm: Kvm, limit: number): string[] {
    return vmRecordLines(kvm, this.name, this.accelRecords(kvm), limit);
  }

  recordsOf(kvm: Kvm, canonical: CanonicalIpa): string[] {
    const out: string[] = [];
    for (const mmu of kvm.nestedMmus) {
      const s = this.mmus[mmu.index]!;
      if (s.broken) out.push(`mmu${mmu.index} revmap: broken (full unmap until recycled)`);
      const e = s.revmap?.load(canonical);
      if (e) {
        const what = isUnknownIpa(e.value) ? "polluted: nested IPAs unknown" : `nested IPA ${hex(payloadNestedIpa(e.value) + (canonical - e.index))}`;
        out.push(`mmu${mmu.index} revmap: canonical ${hex(e.index)}..${hex(e.last)} → ${what}`);
      }
      // The direct map is keyed by nested IPA: every range is looked at for its canonical side.
      for (const d of s.directMap?.entries().map(directMapRange) ?? []) {
        if (d.canonical <= canonical && canonical <= d.canonical + (d.last - d.start)) {
          out.push(`mmu${mmu.index} direct map: nested ${hex(d.start)}..${hex(d.last)} → canonical ${hex(d.canonical)}`);
        }
      }
    }
    return out;
  }
}

/** A revmap range as data: polluted ranges name no nested IPA and cannot be told stale. */
function revmapRange(mmu: KvmS2Mmu, e: RangeEntry): RevmapRange {
  const start = e.index as CanonicalIpa;
  const last = e.last as CanonicalIpa;
  if (isUnknownIpa(e.value)) return { start, last, nested: null, stale: false };
  return { start, last, nested: payloadNestedIpa(e.value), stale: !revmapEntryLive(mmu, start, last, e.value) };
}

/** A direct-map range as data (its payload holds a canonical IPA in the revmap's layout). */
function directMapRange(e: RangeEntry): DirectMapRange {
  return { start: e.index as NestedIpa, last: e.last as NestedIpa, canonical: payloadNestedIpa(e.value) as bigint as CanonicalIpa };
}

/**
 * The MMU's revmap can no longer be trusted (a store into it, or into the direct map kept in
 * lockstep with it, failed): it is marked broken, freed and left null, and the MMU falls back to
 * full unmap until it is recycled.
 */
export function revmapBreak(s: RevmapMmu, mmu: KvmS2Mmu, index: bigint, last: bigint): void {
  const kvm = mmu.kvm;
  s.broken = true;
  s.revmap = null;
  s.directMap = null;
  kvmStat(kvm, "revmap.broken");
  kvmEvent(kvm, { kind: "revmap", what: "broken", mmu: mmu.index, start: index as CanonicalIpa, last: last as CanonicalIpa });
}

/**
 * One store into the revmap with a non-sleeping allocation. It may fail (the VM's injected store
 * failures): the MMU's revmap is then broken.
 */
function revmapStore(s: RevmapMmu, mmu: KvmS2Mmu, tree: RangeTree, index: bigint, last: bigint, value: bigint, gap = false): boolean {
  const inject = mmu.kvm.faultInject;
  if (inject.storeFailures > 0) {
    inject.storeFailures--;
    revmapBreak(s, mmu, index, last);
    return false;
  }
  if (gap) tree.storeInGap(index, last, value);
  else tree.store(index, last, value);
  return true;
}

/**
 * v3's TLBI removal without the direct map: a scan of the MMU's revmap for the valid entries
 * whose shadow leaf the unmap of nested [nested, +size) removed: the entries inside it, and the
 * ones it cut whose leaf went whole (KVM's stage2_unmap_walker); a leaf the split-and-keep option
 * cut keeps its entry. Polluted ranges stay: they cannot say which mappings they hold. Returns
 * the entries erased.
 */
export function revmapTlbiErase(s: RevmapMmu, mmu: KvmS2Mmu, nested: NestedIpa, size: bigint, onErase?: RevmapEraseHook): number {
  const tree = s.revmap;
  if (!tree) return 0;
  const last = addrAdd(nested, size) - 1n;
  let erased = 0;
  for (const e of tree.entries()) {
    if (isUnknownIpa(e.value)) continue;
    const n = payloadNestedIpa(e.value);
    const len = e.last - e.index + 1n;
    const nLast = n + len - 1n;
    if (nLast < nested || n > last) continue;
    if ((n < nested || nLast > last) && mmu.pgt.hasLeafIn(n, len)) continue;
    tree.erase(e.index);
    onErase?.(mmu, e.index as CanonicalIpa, e.last as CanonicalIpa);
    erased++;
  }
  if (erased) kvmStat(mmu.kvm, "revmap.tlbiErased", erased);
  return erased;
}

/**
 * Record, at shadow fault time, that canonical [canonical, +size) is mapped at nested `nested`.
 * The same range with the same nested IPA again (a permission update) changes nothing; any
 * overlap with recorded ranges becomes one polluted range spanning them all.
 */
export function revmapRecord(s: RevmapMmu, mmu: KvmS2Mmu, canonical: CanonicalIpa, nested: NestedIpa, size: bigint): RevmapRecordResult {
  if (s.broken) return "broken";
  const tree = (s.revmap ??= new RangeTree());
  let start: bigint = canonical;
  let end: bigint = addrAdd(canonical, size) - 1n;
  const overlaps = tree.intersecting(start, end);
  if (overlaps.length === 0) {
    return revmapStore(s, mmu, tree, start, end, revmapPayload(nested), true) ? "valid" : "store-failed";
  }
  const e = overlaps[0]!;
  if (overlaps.length === 1 && e.index === start && e.last === end && e.value === revmapPayload(nested)) return "unchanged";
  if (overlaps[0]!.index < start) start = overlaps[0]!.index;
  if (overlaps[overlaps.length - 1]!.last > end) end = overlaps[overlaps.length - 1]!.last;
  if (!revmapStore(s, mmu, tree, start, end, UNKNOWN_IPA)) return "store-failed";
  kvmStat(mmu.kvm, "revmap.polluted");
  kvmEvent(mmu.kvm, { kind: "revmap", what: "polluted", mmu: mmu.index, start: start as CanonicalIpa, last: end as CanonicalIpa, overlaps: overlaps.length, nestedIpa: nested });
  return "polluted";
}

/** Free the MMU's revmap (its table is empty, so it starts over exact). */
export function revmapDestroy(s: RevmapMmu): void {
  s.revmap = null;
  s.directMap = null;
}

/**
 * Whether a valid revmap range of `mmu` still describes a live shadow mapping: some shadow leaf
 * in its nested range was built from the matching canonical page.
 */
export function revmapEntryLive(mmu: KvmS2Mmu, index: CanonicalIpa, last: CanonicalIpa, value: bigint): boolean {
  return shadowMappingLive(mmu, index, payloadNestedIpa(value), last - index + 1n);
}

/** The reverse-map state of `mmu` when its VM's strategy keeps one (revmap, accel), else null. */
export function revmapOf(mmu: KvmS2Mmu): RevmapMmu | null {
  const s = mmu.kvm.unmap;
  return s instanceof RevmapStrategy ? s.state(mmu) : null;
}

/** Stale revmap entries of `kvm` (0 when its strategy keeps no revmap). */
export function revmapStaleEntries(kvm: Kvm): number {
  return kvm.unmap instanceof RevmapStrategy ? kvm.unmap.staleEntries(kvm) : 0;
}
