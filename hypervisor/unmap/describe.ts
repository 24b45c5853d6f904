// The debugger's views for a strategy that keeps no reverse map or accelerator: the `revmap` and
// `accel` commands still answer, saying there is nothing to show, as they always have.

import type { KvmS2Mmu } from "../nested.ts";
import type { Kvm } from "../vm.ts";
import { mmusPerBitPower } from "./accel_bits.ts";
import type { UnmapDescribe } from "./strategy.ts";

/** `revmap MMU` heading. */
export function revmapHeading(mmu: KvmS2Mmu, broken: boolean): string {
  return `mmu${mmu.index} revmap${broken ? " (broken: full unmap until recycled)" : ""}:`;
}

/** `accel` heading. */
export function accelHeading(power: number): string {
  return `accelerator: ${2 ** power} shadow MMU(s) per bit`;
}

/** The views of a strategy named `name` with no records of its own. */
export function noRecords(name: string): UnmapDescribe {
  return {
    mmuNotes: () => [],
    mmuRecords: (mmu) => [revmapHeading(mmu, false), "  (none: never created, or destroyed)"],
    vmRecords: (kvm: Kvm) => [accelHeading(mmusPerBitPower(kvm.nestedMmus.length)), `  (empty: the unmap strategy is ${name})`],
    recordsOf: () => [],
  };
}
