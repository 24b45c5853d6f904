// The table-walk loop shared by stage 1 and stage 2 (Arm ARM D8.2/D8.3): index the start table,
// follow Table descriptors, stop at a Block or Page. Stage-specific checks (access flag,
// permissions, attributes) are the caller's; this loop reports Translation, Address size and
// external-abort-on-walk faults, with the level they occur at.
//
// Input and output addresses are below 2^48 here, so they are plain numbers (exact in a double).

import { type Fault, FaultType } from "../fault.ts";
import type { PhysMemory } from "../memory.ts";
import { addressField, isTableOrPage, isValid, POW2, tableAttrs } from "./descriptor.ts";
import { blockAllowed, type Granule, levelShift } from "./granule.ts";

export interface WalkSetup {
  readonly stage: 1 | 2;
  readonly granule: Granule;
  readonly startLevel: number;
  /** Input-address bits resolved at the start level (more than a stride: concatenated tables). */
  readonly startBits: number;
  /** Start table base: an IPA at stage 1, a PA at stage 2. */
  readonly base: number;
  /** Output-address size in bits (TCR_EL1.IPS / VTCR_EL2.PS). */
  readonly oaBits: number;
  /** Accumulate APTable/XNTable from Table descriptors (stage 1 without HPD). */
  readonly hierarchical: boolean;
}

export interface WalkLeaf {
  /** The Block/Page descriptor, bits[31:0] and bits[63:32]. */
  readonly lo: number;
  readonly hi: number;
  readonly level: number;
  /** log2 of the region the leaf maps. */
  readonly shift: number;
  /** Output address of the region (aligned). */
  readonly oa: number;
  /** Hierarchical limits collected on the way down (TABLE_* bits). */
  readonly table: number;
}

/**
 * Maps a table-descriptor address to the PA to read (stage 1: the address is an IPA that goes
 * through stage 2), or returns the fault of that translation.
 */
export type TableAddressMap = (addr: number) => number | Fault;

export function makeFault(type: FaultType, stage: 1 | 2, level: number, ipa = 0n): Fault {
  return { type, stage, level, s1ptw: false, ipa };
}

export function isFault<T extends object>(v: T | Fault): v is Fault {
  return "type" in v && "stage" in v;
}

/**
 * Walk from the start table for input address `ia`. `faultIpa` goes into the faults (the IPA at
 * stage 2). A descriptor with no RAM behind it is an external abort on the walk at that level.
 */
export function walk(mem: PhysMemory, s: WalkSetup, ia: number, toPa: TableAddressMap | null, faultIpa: bigint): WalkLeaf | Fault {
  const g = s.granule;
  const oaLimit = POW2[s.oaBits]!;
  let level = s.startLevel;
  let bits = s.startBits;
  let base = s.base;
  let table = 0;
  for (;;) {
    const shift = levelShift(g, level);
    let addr = base + (Math.floor(ia / POW2[shift]!) % POW2[bits]!) * 8;
    if (toPa) {
      const t = toPa(addr);
      if (typeof t !== "number") return t;
      addr = t;
    }
    const page = mem.page(addr);
    if (!page) return { ...makeFault(FaultType.ExternalAbort, s.stage, level, faultIpa), onWalk: true };
    const off = addr & 0xff8;
    const lo = page.dv.getUint32(off, true);
    const hi = page.dv.getUint32(off + 4, true);
    if (!isValid(lo)) return makeFault(FaultType.Translation, s.stage, level, faultIpa);
    if (level < 3 && isTableOrPage(lo)) {
      const next = addressField(lo, hi, g.shift);
      if (next >= oaLimit) return makeFault(FaultType.AddressSize, s.stage, level, faultIpa);
      if (s.hierarchical) table |= tableAttrs(hi);
      base = next;
      level++;
      bits = g.stride;
      continue;
    }
    // Level 3 needs a Page (0b11); a Block (0b01) only where the granule allows one.
    if (level === 3 ? !isTableOrPage(lo) : !blockAllowed(g, level)) {
      return makeFault(FaultType.Translation, s.stage, level, faultIpa);
    }
    const oa = addressField(lo, hi, shift);
    if (oa >= oaLimit) return makeFault(FaultType.AddressSize, s.stage, level, faultIpa);
    return { lo, hi, level, shift, oa, table };
  }
}
