// The text the debugger's `revmap` and `accel` commands print, made from a strategy's structured
// records (strategy.ts), and the views of a strategy that keeps no reverse map or accelerator:
// those commands still answer, saying there is nothing to show, as they always have.

import type { KvmS2Mmu } from "../nested.ts";
import type { Kvm } from "../vm.ts";
import { mmusPerBitPower } from "./accel_bits.ts";
import type { AccelRecords, AccelRange, MmuRecords, StrategyRecords, UnmapDescribe } from "./strategy.ts";
import { hex } from "../../emulator/types.ts";

/** `revmap MMU` heading. */
function revmapHeading(mmu: number, broken: boolean): string {
  return `mmu${mmu} revmap${broken ? " (broken: full unmap until recycled)" : ""}:`;
}

/** `accel` heading. */
function accelHeading(mmusPerBit: number): string {
  return `accelerator: ${mmusPerBit} shadow MMU(s) per bit`;
}

/** The first `limit` items as lines, and how many more there are. */
function listed<T>(items: readonly T[], limit: number, line: (item: T) => string): string[] {
  const lines = items.slice(0, limit).map(line);
  if (items.length > limit) lines.push(`  … ${items.length - limit} more`);
  return lines;
}

/** `revmap MMU`: the MMU's reverse map, then its direct map when it has one. */
export function mmuRecordLines(r: MmuRecords, limit: number): string[] {
  const lines = [revmapHeading(r.mmu, r.broken)];
  if (!r.revmap) lines.push("  (none: never created, or destroyed)");
  else if (r.revmap.length === 0) lines.push("  (empty)");
  lines.push(...listed(r.revmap ?? [], limit, (e) => {
    const what = e.nested === null ? "polluted (nested IPAs unknown)" : `nested IPA ${hex(e.nested)}`;
    return `  canonical ${hex(e.start)}..${hex(e.last)} → ${what}`;
  }));
  if (r.directMap.length > 0) {
    lines.push(`mmu${r.mmu} direct map:`);
    lines.push(...listed(r.directMap, limit, (e) => `  nested ${hex(e.start)}..${hex(e.last)} → canonical ${hex(e.canonical)}`));
  }
  return lines;
}

/** "bit 2 (mmu0), bit 3 (mmu1,mmu2)…" for an accelerator range. */
export function accelGroupsText(r: AccelRange): string {
  return r.bits.map((b) => `bit ${b.bit} (mmu${b.mmus.join(",mmu")})`).join(", ") || "no bits";
}

/** `accel`: the accelerator's ranges, or (none kept) which strategy keeps none. */
export function vmRecordLines(kvm: Kvm, strategy: string, accel: AccelRecords | null, limit: number): string[] {
  if (!accel) return [accelHeading(2 ** mmusPerBitPower(kvm.nestedMmus.length)), `  (empty: the unmap strategy is ${strategy})`];
  const lines = [accelHeading(accel.mmusPerBit)];
  if (accel.ranges.length === 0) lines.push("  (empty)");
  lines.push(...listed(accel.ranges, limit, (r) => `  canonical ${hex(r.start)}..${hex(r.last)} → ${accelGroupsText(r)}`));
  return lines;
}

/** The records of an MMU with no reverse map. */
function noMmuRecords(mmu: KvmS2Mmu): MmuRecords {
  return { mmu: mmu.index, broken: false, revmap: null, directMap: [] };
}

/** The views of a strategy named `name` with no records of its own. */
export function noRecords(name: string): UnmapDescribe {
  return {
    records: (kvm: Kvm): StrategyRecords => ({ strategy: name, mmus: kvm.nestedMmus.map(noMmuRecords), accel: null }),
    mmuNotes: () => [],
    mmuRecords: (mmu, limit) => mmuRecordLines(noMmuRecords(mmu), limit),
    vmRecords: (kvm: Kvm, limit) => vmRecordLines(kvm, name, null, limit),
    recordsOf: () => [],
  };
}
