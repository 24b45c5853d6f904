// The strategies' records as data (UnmapDescribe.records) on the stage-2 fixture: polluted and
// broken reverse maps, the direct map, accelerator groups for p > 0 and their stale bits, the RFC
// tree's overlapping nodes; and the `revmap`/`accel` text made from them.

import { describe, expect, it } from "vitest";
import { kvmUnmapGfnRange } from "../../../hypervisor/mmu.ts";
import { accelStale } from "../../../hypervisor/unmap/accel.ts";
import { revmapStaleEntries } from "../../../hypervisor/unmap/revmap.ts";
import { CANON, NESTED, PAGE, strategyRig } from "./strategy_fixture.ts";

describe("strategy records", () => {
  it("revmap: valid ranges name their nested IPA, a polluted one names none and is never stale; text from the same data", () => {
    const r = strategyRig({ unmap: "revmap" });
    const m = r.use(5);
    r.touch(NESTED + 3n * PAGE);
    r.s2.map(NESTED + 100n * PAGE, CANON, PAGE); // L1 aliases canonical page 0
    r.touch(NESTED);
    r.touch(NESTED + 100n * PAGE);
    const rec = r.kvm.unmap.records(r.kvm);
    expect(rec.strategy).toBe("revmap");
    expect(rec.accel).toBeNull();
    expect(rec.mmus[m.index]).toEqual({
      mmu: m.index, broken: false, directMap: [],
      revmap: [
        { start: CANON, last: CANON + PAGE - 1n, nested: null, stale: false },
        { start: CANON + 3n * PAGE, last: CANON + 4n * PAGE - 1n, nested: NESTED + 3n * PAGE, stale: false },
      ],
    });
    expect(rec.mmus.filter((x) => x.mmu !== m.index).every((x) => x.revmap === null)).toBe(true);
    expect(r.kvm.unmap.mmuRecords(m, 64)).toEqual([
      `mmu${m.index} revmap:`,
      "  canonical 0x40200000..0x40200fff → polluted (nested IPAs unknown)",
      "  canonical 0x40203000..0x40203fff → nested IPA 0x80003000",
    ]);
    // L1's TLBI of the valid page (seed): the range stays, stale; the polluted one cannot be told.
    r.tlbi("IPAS2E1IS", (NESTED + 3n * PAGE) >> 12n);
    expect(r.kvm.unmap.records(r.kvm).mmus[m.index]!.revmap!.map((x) => x.stale)).toEqual([false, true]);
    expect(revmapStaleEntries(r.kvm)).toBe(1);
    r.tlbi("IPAS2E1IS", NESTED >> 12n);
    r.tlbi("IPAS2E1IS", (NESTED + 100n * PAGE) >> 12n);
    expect(m.pgt.leafCount).toBe(0);
    expect(r.kvm.unmap.records(r.kvm).mmus[m.index]!.revmap!.map((x) => x.stale)).toEqual([false, true]);
  });

  it("a broken revmap: flagged, no ranges, and the heading says so", () => {
    const r = strategyRig({ unmap: "revmap" });
    const m = r.use(1);
    r.kvm.faultInject.storeFailures = 1;
    r.touch(NESTED);
    expect(r.kvm.unmap.records(r.kvm).mmus[m.index]).toEqual({ mmu: m.index, broken: true, revmap: null, directMap: [] });
    expect(r.kvm.unmap.mmuRecords(m, 64)).toEqual([`mmu${m.index} revmap (broken: full unmap until recycled):`, "  (none: never created, or destroyed)"]);
  });

  it("the direct map: nested range → canonical IPA, printed as the canonical IPA", () => {
    const r = strategyRig({ unmap: "revmap", directMap: true });
    const m = r.use(1);
    r.touch(NESTED + 2n * PAGE);
    expect(r.kvm.unmap.records(r.kvm).mmus[m.index]!.directMap).toEqual([{ start: NESTED + 2n * PAGE, last: NESTED + 3n * PAGE - 1n, canonical: CANON + 2n * PAGE }]);
    expect(r.kvm.unmap.mmuRecords(m, 64).slice(-2)).toEqual([`mmu${m.index} direct map:`, "  nested 0x80002000..0x80002fff → canonical 0x40202000"]);
  });

  it("accel, p > 0: each bit names its group of MMUs; a bit is stale once no MMU of its group maps the range", () => {
    const r = strategyRig({ unmap: "accel", nestedMmus: 63 });
    r.use(1);
    r.touch(NESTED);
    r.use(2);
    r.touch(NESTED + 2n * PAGE);
    r.use(3);
    r.touch(NESTED + 3n * PAGE);
    kvmUnmapGfnRange(r.kvm, CANON + 3n * PAGE, PAGE); // MMU 2's page: the bit stays (p > 0)
    const accel = r.kvm.unmap.records(r.kvm).accel!;
    expect(accel.mmusPerBit).toBe(2);
    expect(accel.ranges).toEqual([
      { start: CANON, last: CANON + PAGE - 1n, value: 1n << 2n, bits: [{ bit: 2, mmus: [0, 1], stale: false }] },
      { start: CANON + 2n * PAGE, last: CANON + 3n * PAGE - 1n, value: 1n << 2n, bits: [{ bit: 2, mmus: [0, 1], stale: false }] },
      { start: CANON + 3n * PAGE, last: CANON + 4n * PAGE - 1n, value: 1n << 3n, bits: [{ bit: 3, mmus: [2, 3], stale: true }] },
    ]);
    expect(accelStale(r.kvm)).toEqual({ bits: 1, ranges: 1 });
    expect(r.kvm.unmap.vmRecords(r.kvm, 2)).toEqual([
      "accelerator: 2 shadow MMU(s) per bit",
      "  canonical 0x40200000..0x40200fff → bit 2 (mmu0,mmu1)",
      "  canonical 0x40202000..0x40202fff → bit 2 (mmu0,mmu1)",
      "  … 1 more",
    ]);
  });

  it("rfc-rbtree: one range per node, overlapping where two nodes' canonical ranges do", () => {
    const r = strategyRig({ unmap: "rfc-rbtree", blocks: true });
    const m = r.use(1);
    const block = 0x4060_0000n;
    r.s2.map(0x9000_0000n, block, 0x20_0000n);
    r.touch(0x9000_0000n);
    r.s2.map(NESTED + 200n * PAGE, block + 5n * PAGE, PAGE);
    r.touch(NESTED + 200n * PAGE);
    expect(m.pgt.getLeaf(0x9000_0000n)!.size).toBe(0x20_0000n);
    expect(r.kvm.unmap.records(r.kvm).mmus[m.index]!.revmap).toEqual([
      { start: block, last: block + 0x1f_ffffn, nested: 0x9000_0000n, stale: false },
      { start: block + 5n * PAGE, last: block + 6n * PAGE - 1n, nested: NESTED + 200n * PAGE, stale: false },
    ]);
    expect(r.kvm.unmap.vmRecords(r.kvm, 64)).toEqual(["accelerator: 1 shadow MMU(s) per bit", "  (empty: the unmap strategy is rfc-rbtree)"]);
  });
});
