// Canonical-unmap strategies: how L0 finds the shadow stage-2 entries that may map a canonical
// range the host is taking back. The core holds one strategy object per VM (given at
// construction) and calls it through this interface only, as KVM's page-table code calls through
// `kvm_pgtable_mm_ops` without knowing which implementation it holds. A strategy owns its state
// (per VM and per shadow MMU), hears about shadow mappings as they are made and about shadow
// ranges as they go, and answers the debugger (`describe`) and the invariant checker (`coverage`).

import type { CanonicalIpa, NestedIpa } from "../addr.ts";
import type { KvmS2Mmu } from "../nested.ts";
import type { Kvm } from "../vm.ts";
import type { RangeEntry } from "./range_tree.ts";

/** The checker's invariants about a strategy's bookkeeping (S, safety, is the checker's own). */
export type CoverageInvariant = "R" | "A";

/** What a strategy's bookkeeping says about one canonical page of a shadow leaf. */
export type CoverageAnswer =
  /** Covered up to and including canonical `last` (the checker resumes after it). */
  | { covered: true; last: CanonicalIpa }
  /** Not covered: `reason` is the checker's one-line report, `range` what the strategy holds there. */
  | { covered: false; reason: string; range: RangeEntry | null };

/** One invariant the checker verifies over every shadow leaf against a strategy's records. */
export interface UnmapCoverage {
  readonly invariant: CoverageInvariant;
  /** The MMU's leaves need no cover (e.g. its records were dropped and it falls back to full unmap). */
  exempt(mmu: KvmS2Mmu): boolean;
  /** Does the bookkeeping cover canonical page `canonical`, mapped by a leaf at nested page `nested`? */
  covers(mmu: KvmS2Mmu, canonical: CanonicalIpa, nested: NestedIpa): CoverageAnswer;
}

/**
 * One range of a shadow MMU's reverse map: canonical [start, last] was mapped by a shadow leaf at
 * nested `nested` onwards. rfc-rbtree's nodes come as ranges too, and unlike a revmap's they may
 * overlap (one node per canonical IPA a shadow leaf was built from).
 */
export interface RevmapRange {
  start: CanonicalIpa;
  last: CanonicalIpa;
  /** Nested IPA of `start`; null for a polluted range (the nested IPAs it came from are unknown). */
  nested: NestedIpa | null;
  /** No shadow leaf built from the range remains (L1's TLBIs took it); false when that cannot be told (polluted). */
  stale: boolean;
}

/** One range of the nested IPA direct map: nested [start, last] → canonical `canonical` onwards. */
export interface DirectMapRange {
  start: NestedIpa;
  last: NestedIpa;
  canonical: CanonicalIpa;
}

/** One set bit of an accelerator range: the group of shadow MMUs it stands for. */
export interface AccelGroup {
  /** Bit number in the range's value (2..63). */
  bit: number;
  /** Indices of the group's shadow MMUs. */
  mmus: number[];
  /** No MMU of the group has a shadow leaf built from any canonical page of the range. */
  stale: boolean;
}

/** One range of the accelerator's canonical tree. */
export interface AccelRange {
  start: CanonicalIpa;
  last: CanonicalIpa;
  /** The range's value as stored (bits 63:2, one per group). */
  value: bigint;
  bits: AccelGroup[];
}

/** The accelerator (seed 000): the canonical tree of MMU group bits. */
export interface AccelRecords {
  /** Shadow MMUs per bit (2^mmus_per_bit_power). */
  mmusPerBit: number;
  ranges: AccelRange[];
}

/** What a strategy records for one shadow MMU. */
export interface MmuRecords {
  mmu: number;
  /** A store into the MMU's records failed: it falls back to full unmap until recycled. */
  broken: boolean;
  /** The reverse map; null when there is none (never created, or destroyed). */
  revmap: RevmapRange[] | null;
  /** Option directMap's mirror of the revmap (empty without it). */
  directMap: DirectMapRange[];
}

/**
 * Everything a strategy records, as plain data (structured-clone-able: a debugger front end in
 * another thread draws it as maps over the canonical and nested IPA spaces).
 */
export interface StrategyRecords {
  /** The strategy's configuration name. */
  strategy: string;
  /** Per shadow MMU, by index. */
  mmus: MmuRecords[];
  /** The accelerator; null when the strategy keeps none. */
  accel: AccelRecords | null;
}

/** The debugger's views of a strategy's state; the lines are what the commands print. */
export interface UnmapDescribe {
  /** Everything the strategy records, as data (the text views below are made from it). */
  records(kvm: Kvm): StrategyRecords;
  /** Notes for the MMU's row in `mmus` (e.g. "revmap broken"). */
  mmuNotes(mmu: KvmS2Mmu): string[];
  /** `revmap MMU`: the MMU's records. */
  mmuRecords(mmu: KvmS2Mmu, limit: number): string[];
  /** `accel`: the VM-wide records. */
  vmRecords(kvm: Kvm, limit: number): string[];
  /** `pt`: what the strategy records about canonical IPA `canonical`. */
  recordsOf(kvm: Kvm, canonical: CanonicalIpa): string[];
}

export interface UnmapStrategy extends UnmapDescribe {
  /** The configuration name (`--unmap`, scenario `vm.unmap`). */
  readonly name: string;
  /** kvm_init_nested sized the shadow MMU array: create the per-MMU state. */
  initNested(kvm: Kvm): void;
  /** Fault path: a shadow leaf now maps nested [nested, +size) to canonical [canonical, +size). */
  shadowMap(mmu: KvmS2Mmu, canonical: CanonicalIpa, nested: NestedIpa, size: bigint): void;
  /** MMU notifier: canonical [gpa, +size) is gone; remove every shadow leaf that may map it. */
  canonicalUnmap(kvm: Kvm, gpa: CanonicalIpa, size: bigint): void;
  /**
   * Nested [nested, +size) is no longer mapped in the MMU (L1's IPA TLBIs, a strategy's own range
   * unmap). The extent is what the table actually cleared: the range asked for widened to every
   * leaf it touched, since a leaf is removed whole (a TLBI of 8K inside a 2M shadow block removes
   * the block, so the whole 2M is reported).
   */
  shadowUnmap(mmu: KvmS2Mmu, nested: NestedIpa, size: bigint): void;
  /**
   * The MMU's table was emptied (recycle, pending unmap, ALLE1, VMALLS12E1, full unmap). A recycle
   * (the MMU is handed to another context) has `mmu.pendingUnmap` set during this call.
   */
  mmuFullyUnmapped(mmu: KvmS2Mmu): void;
  /** The invariants the checker verifies against this strategy's records (none: nothing to check). */
  readonly coverage: readonly UnmapCoverage[];
}

/**
 * What L1's stage-2 TLBIs do to the reverse map and the accelerator (option `revmapTlbi`).
 * - `seed`: nothing, as seeds 000 and 001 are written: IPAS2E1, RIPAS2E1, VMALLS12E1 and ALLE1
 *   remove shadow leaves and leave their revmap entries (and accelerator bits) behind, stale.
 * - `v3`: the revmap series from v3 on ("Remove reverse map entries during TLBI handling"): the
 *   entries of the leaves a TLBI removed go too (by a scan of the revmap, or through the nested
 *   IPA direct map with option `directMap`), and a TLBI of the whole space destroys the revmap.
 */
export const REVMAP_TLBI_MODES = ["seed", "v3"] as const;
export type RevmapTlbi = (typeof REVMAP_TLBI_MODES)[number];

/** Options of the strategies that keep a reverse map (the others ignore them). */
export interface UnmapStrategyOptions {
  /** Keep the nested IPA direct map beside each revmap (v3's fast path; needs revmapTlbi v3). */
  directMap: boolean;
  /** Default: v3 with directMap (the direct map exists for v3's TLBI removal), else seed. */
  revmapTlbi?: RevmapTlbi;
}

/** A new strategy for one VM (the registry's entries). */
export type UnmapStrategyFactory = (options: UnmapStrategyOptions) => UnmapStrategy;
