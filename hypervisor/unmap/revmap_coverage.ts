// Invariant R (revmap coverage) for the strategies that keep a reverse map: each shadow leaf's
// canonical pages are covered by revmap ranges naming its nested IPA, or UNKNOWN_IPA (polluted),
// unless the MMU's revmap is broken. The payload is decoded here from seed 001's layout, not with
// the strategy's helpers, so the oracle stays apart from the code it checks.

import type { CanonicalIpa, NestedIpa } from "../addr.ts";
import type { KvmS2Mmu } from "../nested.ts";
import type { RangeEntry, RangeTree } from "./range_tree.ts";
import type { CoverageAnswer, UnmapCoverage } from "./strategy.ts";
import { hex } from "../../emulator/types.ts";

const PAGE = 0x1000n;
const VALID_ENTRY = 1n << 63n;
const NESTED_IPA_MASK = ((1n << 56n) - 1n) & ~(PAGE - 1n);
const UNKNOWN_IPA = 1n;


/** The nested page a range's value names for canonical page `c` (null: not a valid payload). */
function revmapNestedPage(e: RangeEntry, c: bigint): bigint | null {
  if ((e.value & VALID_ENTRY) === 0n) return null;
  return (e.value & NESTED_IPA_MASK) + ((c - e.index) & ~(PAGE - 1n));
}

/** Whether a revmap value is the polluted marker. */
function isUnknown(value: bigint): boolean {
  return (value & VALID_ENTRY) === 0n && (value & UNKNOWN_IPA) !== 0n;
}

/** R over the reverse maps `stateOf` hands out. */
export function revmapCoverage(stateOf: (mmu: KvmS2Mmu) => { revmap: RangeTree | null; broken: boolean }): UnmapCoverage {
  return {
    invariant: "R",
    exempt: (mmu) => stateOf(mmu).broken,
    covers(mmu: KvmS2Mmu, c: CanonicalIpa, nested: NestedIpa): CoverageAnswer {
      const revmap = stateOf(mmu).revmap;
      const e = revmap ? revmap.load(c) : null;
      if (!e) {
        const why = revmap ? "no revmap range covers its canonical page" : "the MMU has no revmap";
        return { covered: false, reason: `shadow leaf missing from the revmap: ${why}`, range: e };
      }
      if (!isUnknown(e.value)) {
        const named = revmapNestedPage(e, c);
        if (named !== nested) {
          const what = named === null ? `value ${hex(e.value)} is neither VALID nor UNKNOWN_IPA` : `names nested ${hex(named)}`;
          return { covered: false, reason: `revmap range [${hex(e.index)}, ${hex(e.last)}] ${what}`, range: e };
        }
      }
      return { covered: true, last: e.last as CanonicalIpa };
    },
  };
}
