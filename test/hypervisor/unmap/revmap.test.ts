import { describe, expect, it } from "vitest";
import { kvmUnmapGfnRange } from "../../../hypervisor/mmu.ts";
import { checkNestedVcpuRequests } from "../../../hypervisor/nested.ts";
import { isReservedValue } from "../../../hypervisor/unmap/range_tree.ts";
import {
  NESTED_IPA_MASK, payloadNestedIpa, revmapOf, revmapPayload, revmapRecord, revmapStaleEntries, UNKNOWN_IPA, VALID_ENTRY,
} from "../../../hypervisor/unmap/revmap.ts";
import { canonicalIpa, nestedIpa } from "../../../hypervisor/addr.ts";
import type { KvmS2Mmu } from "../../../hypervisor/nested.ts";
import { CANON, canonicalPa, NESTED, PAGE, shadowLeaves, shadowLeavesMapping, strategyRig } from "./strategy_fixture.ts";

/** The MMU's reverse-map state. */
const rv = (m: KvmS2Mmu) => revmapOf(m)!;

describe("revmap payload", () => {
  it("VALID is bit 63, the nested IPA bits 55:12, UNKNOWN_IPA bit 0", () => {
    expect(VALID_ENTRY).toBe(0x8000_0000_0000_0000n);
    expect(NESTED_IPA_MASK).toBe(0x00ff_ffff_ffff_f000n);
    expect(UNKNOWN_IPA).toBe(1n);
    // A nested IPA of 0 is still a non-zero (storable) value.
    expect(revmapPayload(nestedIpa(0n))).toBe(VALID_ENTRY);
    expect(revmapPayload(nestedIpa(0x8000_3000n))).toBe(0x8000_0000_8000_3000n);
    expect(payloadNestedIpa(revmapPayload(nestedIpa(0xff_ffff_ffff_f000n)))).toBe(0xff_ffff_ffff_f000n);
    // Offset bits and bits above 55 are not part of the nested IPA.
    expect(revmapPayload(nestedIpa(0x0100_0000_8000_3fffn))).toBe(0x8000_0000_8000_3000n);
  });

  it("no payload is a reserved range-tree value (bits 11:1 are always zero)", () => {
    for (const n of [0n, 0x1000n, 0x2000n, 0xfff000n]) expect(isReservedValue(revmapPayload(nestedIpa(n)))).toBe(false);
    expect(isReservedValue(UNKNOWN_IPA)).toBe(false);
  });
});

describe("revmap recording at shadow fault time", () => {
  it("records [canonical, +size-1] → VALID | nested IPA", () => {
    const r = strategyRig({ unmap: "revmap" });
    const m = r.use(5);
    r.touch(NESTED + 3n * PAGE);
    expect(rv(m).revmap!.entries()).toEqual([{ index: CANON + 3n * PAGE, last: CANON + 4n * PAGE - 1n, value: revmapPayload(nestedIpa(NESTED + 3n * PAGE)) }]);
  });

  it("the same range with the same nested IPA again changes nothing and stores nothing", () => {
    const r = strategyRig({ unmap: "revmap" });
    const m = r.use(5);
    r.touch(NESTED);
    const before = rv(m).revmap!.entries();
    r.kvm.faultInject.storeFailures = 1; // a store attempt would fail and break the revmap
    expect(revmapRecord(rv(m), m, canonicalIpa(CANON), nestedIpa(NESTED), PAGE)).toBe("unchanged");
    r.touch(NESTED); // a refault of the same page records the same thing
    expect(rv(m).revmap!.entries()).toEqual(before);
    expect(rv(m).broken).toBe(false);
    expect(r.kvm.faultInject.storeFailures).toBe(1);
    expect(r.kvm.metrics.get("revmap.polluted")).toBe(0);
  });

  it("an overlap becomes one polluted range spanning every overlapping range and the new one", () => {
    const r = strategyRig({ unmap: "revmap" });
    const m = r.use(5);
    // Two nested pages for the same canonical page (L1 aliases it): the second overlaps the first.
    r.s2.map(NESTED + 100n * PAGE, CANON, PAGE);
    r.touch(NESTED);
    r.touch(NESTED + 100n * PAGE);
    expect(rv(m).revmap!.entries()).toEqual([{ index: CANON, last: CANON + PAGE - 1n, value: UNKNOWN_IPA }]);
    expect(r.kvm.metrics.get("revmap.polluted")).toBe(1);

    // Wider: ranges at +4 and +6 pages, then a 32K range over +3..+10 swallows both.
    r.touch(NESTED + 4n * PAGE);
    r.touch(NESTED + 6n * PAGE);
    r.touch(NESTED + 20n * PAGE);
    expect(revmapRecord(rv(m), m, canonicalIpa(CANON + 3n * PAGE), nestedIpa(0x9000_0000n), 8n * PAGE)).toBe("polluted");
    expect(rv(m).revmap!.entries()).toEqual([
      { index: CANON, last: CANON + PAGE - 1n, value: UNKNOWN_IPA },
      { index: CANON + 3n * PAGE, last: CANON + 11n * PAGE - 1n, value: UNKNOWN_IPA },
      { index: CANON + 20n * PAGE, last: CANON + 21n * PAGE - 1n, value: revmapPayload(nestedIpa(NESTED + 20n * PAGE)) },
    ]);
    // A range reaching beyond the new one widens the span: [+20, +21) ∪ [+19, +20] → [+19, +21).
    expect(revmapRecord(rv(m), m, canonicalIpa(CANON + 19n * PAGE), nestedIpa(0xa000_0000n), 2n * PAGE)).toBe("polluted");
    expect(rv(m).revmap!.load(CANON + 20n * PAGE)).toEqual({ index: CANON + 19n * PAGE, last: CANON + 21n * PAGE - 1n, value: UNKNOWN_IPA });
    // The same canonical page at a different nested IPA also pollutes.
    expect(revmapRecord(rv(m), m, canonicalIpa(CANON + 30n * PAGE), nestedIpa(0x5000n), PAGE)).toBe("valid");
    expect(revmapRecord(rv(m), m, canonicalIpa(CANON + 30n * PAGE), nestedIpa(0x6000n), PAGE)).toBe("polluted");
  });
});

describe("revmap canonical unmap", () => {
  it("removes exactly the shadow leaves built from the range, in the MMUs that have them", () => {
    const r = strategyRig({ unmap: "revmap", nestedMmus: 4 });
    const a = r.use(1);
    r.touch(NESTED);
    r.touch(NESTED + PAGE);
    const b = r.use(2);
    r.touch(NESTED + PAGE);
    r.touch(NESTED + 2n * PAGE);
    r.use(3); // valid, nothing mapped
    const pa = canonicalPa(r, CANON + PAGE);
    kvmUnmapGfnRange(r.kvm, CANON + PAGE, PAGE);
    expect(shadowLeaves(a)).toEqual([NESTED]);
    expect(shadowLeaves(b)).toEqual([NESTED + 2n * PAGE]);
    expect(shadowLeavesMapping(r, pa)).toEqual([]);
    expect(r.pool.isPoisoned(Number(pa))).toBe(true);
    expect(rv(a).revmap!.entries().map((e) => e.index)).toEqual([CANON]);
    expect(rv(b).revmap!.entries().map((e) => e.index)).toEqual([CANON + 2n * PAGE]);
    // The revmap still looks at every valid MMU, but removes only what the range held.
    expect(r.kvm.metrics.shadowMmusVisited).toEqual([3]);
    expect(r.kvm.metrics.shadowEntriesRemoved).toBe(2);
    expect(r.kvm.metrics.samples["revmap.staleEntries"]).toEqual([0]);
  });

  it("a polluted range in the unmapped range empties the whole MMU and destroys its revmap", () => {
    const r = strategyRig({ unmap: "revmap" });
    const m = r.use(1);
    r.s2.map(NESTED + 100n * PAGE, CANON, PAGE);
    r.touch(NESTED);
    r.touch(NESTED + 100n * PAGE);
    r.touch(NESTED + 5n * PAGE);
    kvmUnmapGfnRange(r.kvm, CANON, PAGE);
    expect(m.pgt.leafCount).toBe(0);
    expect(rv(m).revmap).toBeNull();
    expect(r.kvm.metrics.shadowEntriesRemoved).toBe(3);
    // An unmap that misses the polluted range touches only its own pages.
    r.s2.map(NESTED + 100n * PAGE, CANON, PAGE);
    r.touch(NESTED);
    r.touch(NESTED + 100n * PAGE);
    r.touch(NESTED + 5n * PAGE);
    kvmUnmapGfnRange(r.kvm, CANON + 5n * PAGE, PAGE);
    expect(shadowLeaves(m)).toEqual([NESTED, NESTED + 100n * PAGE]);
  });

  it("a failed store breaks the revmap: that MMU falls back to full unmap, still leaving no stale leaf", () => {
    const r = strategyRig({ unmap: "revmap", nestedMmus: 3 });
    const good = r.use(1);
    r.touch(NESTED);
    r.touch(NESTED + PAGE);
    const bad = r.use(2);
    r.touch(NESTED + 2n * PAGE);
    r.kvm.faultInject.storeFailures = 1;
    r.touch(NESTED + 3n * PAGE); // this store fails
    r.touch(NESTED + 4n * PAGE); // broken: nothing recorded, nothing attempted
    expect(rv(bad).broken).toBe(true);
    expect(rv(bad).revmap).toBeNull();
    expect(r.kvm.faultInject.storeFailures).toBe(0);
    expect(r.kvm.metrics.get("revmap.broken")).toBe(1);
    expect(bad.pgt.leafCount).toBe(3);

    const pa = canonicalPa(r, CANON + 3n * PAGE);
    kvmUnmapGfnRange(r.kvm, CANON + 3n * PAGE, PAGE);
    expect(shadowLeavesMapping(r, pa)).toEqual([]);
    expect(bad.pgt.leafCount).toBe(0);
    expect(shadowLeaves(good)).toEqual([NESTED, NESTED + PAGE]);
    expect(r.kvm.metrics.get("revmap.fallbackFullUnmaps")).toBe(1);

    // Still broken: every canonical unmap empties it again, even of a page it never mapped.
    r.touch(NESTED + 2n * PAGE);
    expect(rv(bad).revmap).toBeNull();
    kvmUnmapGfnRange(r.kvm, CANON, PAGE);
    expect(bad.pgt.leafCount).toBe(0);
    expect(shadowLeaves(good)).toEqual([NESTED + PAGE]);
    expect(r.kvm.metrics.get("revmap.fallbackFullUnmaps")).toBe(2);
    expect(r.kvm.metrics.shadowEntriesRemoved).toBe(3 + 1 + 1);
  });

  it("a broken MMU gets a fresh revmap when it is recycled for another context", () => {
    const r = strategyRig({ unmap: "revmap", nestedMmus: 1 });
    const m = r.use(1);
    r.kvm.faultInject.storeFailures = 1;
    r.touch(NESTED);
    expect(rv(m).broken).toBe(true);
    expect(r.use(2)).toBe(m); // the only MMU, recycled: pending unmap
    checkNestedVcpuRequests(r.vcpu());
    expect(rv(m).broken).toBe(false);
    r.touch(NESTED + PAGE);
    expect(rv(m).revmap!.size).toBe(1);
  });

  it("seed: VMALLS12E1 and ALLE1 empty the MMU and leave its revmap (stale); a recycle destroys it", () => {
    const r = strategyRig({ unmap: "revmap", nestedMmus: 2 });
    const m = r.use(1);
    r.touch(NESTED);
    r.tlbi("VMALLS12E1IS", 0n);
    expect(m.pgt.leafCount).toBe(0);
    expect(rv(m).revmap!.size).toBe(1);
    expect(revmapStaleEntries(r.kvm)).toBe(1);
    r.touch(NESTED + PAGE);
    r.tlbi("ALLE1IS", 0n);
    expect(rv(m).revmap!.size).toBe(2);
    expect(revmapStaleEntries(r.kvm)).toBe(2);
    r.use(2);
    r.use(3); // recycles m (round-robin), emptied before use
    checkNestedVcpuRequests(r.vcpu());
    expect(rv(m).revmap).toBeNull();
  });

  it("v3: every full unmap of an MMU destroys its revmap (VMALLS12E1, ALLE1, recycle)", () => {
    const r = strategyRig({ unmap: "revmap", nestedMmus: 2, revmapTlbi: "v3" });
    const m = r.use(1);
    r.touch(NESTED);
    r.tlbi("VMALLS12E1IS", 0n);
    expect(rv(m).revmap).toBeNull();
    r.touch(NESTED);
    expect(rv(m).revmap!.size).toBe(1);
    r.tlbi("ALLE1IS", 0n);
    expect(rv(m).revmap).toBeNull();
    r.touch(NESTED);
    r.use(2);
    r.use(3); // recycles m (round-robin), emptied before use
    checkNestedVcpuRequests(r.vcpu());
    expect(rv(m).revmap).toBeNull();
  });

  it("v3 without the direct map: L1's IPA TLBIs erase the entries of the leaves they remove (a scan)", () => {
    const r = strategyRig({ unmap: "revmap", revmapTlbi: "v3" });
    const m = r.use(1);
    for (let i = 0n; i < 4n; i++) r.touch(NESTED + i * PAGE);
    r.tlbi("IPAS2E1IS", (NESTED + PAGE) >> 12n);
    r.tlbi("IPAS2E1IS", (NESTED + 2n * PAGE) >> 12n);
    expect(shadowLeaves(m)).toEqual([NESTED, NESTED + 3n * PAGE]);
    expect(rv(m).revmap!.entries().map((e) => e.index)).toEqual([CANON, CANON + 3n * PAGE]);
    expect(revmapStaleEntries(r.kvm)).toBe(0);
    expect(r.kvm.metrics.get("revmap.tlbiErased")).toBe(2);
  });

  it("a broken revmap's fallback full unmap leaves it broken (until the MMU is recycled)", () => {
    const r = strategyRig({ unmap: "revmap", nestedMmus: 2 });
    const m = r.use(1);
    r.touch(NESTED);
    r.kvm.faultInject.storeFailures = 1;
    r.touch(NESTED + PAGE);
    kvmUnmapGfnRange(r.kvm, CANON + 9n * PAGE, PAGE);
    expect(m.pgt.leafCount).toBe(0);
    expect(rv(m).broken).toBe(true);
    r.touch(NESTED);
    expect(rv(m).revmap).toBeNull();
  });

  it("without the direct map, L1's IPA TLBIs leave revmap entries behind (stale)", () => {
    const r = strategyRig({ unmap: "revmap" });
    const m = r.use(1);
    for (let i = 0n; i < 4n; i++) r.touch(NESTED + i * PAGE);
    r.tlbi("IPAS2E1IS", (NESTED + PAGE) >> 12n);
    r.tlbi("IPAS2E1IS", (NESTED + 2n * PAGE) >> 12n);
    expect(shadowLeaves(m)).toEqual([NESTED, NESTED + 3n * PAGE]);
    expect(rv(m).revmap!.size).toBe(4);
    expect(revmapStaleEntries(r.kvm)).toBe(2);
    // L1 moves nested +1 to another canonical page: the old entry stays stale, the new one is live.
    r.s2.map(NESTED + PAGE, CANON + 40n * PAGE, PAGE);
    r.touch(NESTED + PAGE);
    expect(revmapStaleEntries(r.kvm)).toBe(2);
    // Re-touching +2 with the same mapping makes its entry live again.
    r.touch(NESTED + 2n * PAGE);
    expect(revmapStaleEntries(r.kvm)).toBe(1);
    // A stale entry still costs an unmap of its nested range, which now holds L1's new mapping.
    kvmUnmapGfnRange(r.kvm, CANON + PAGE, PAGE);
    expect(shadowLeaves(m)).toEqual([NESTED, NESTED + 2n * PAGE, NESTED + 3n * PAGE]);
    // …so the live entry of canonical +40 is now stale in its turn.
    expect(r.kvm.metrics.samples["revmap.staleEntries"]).toEqual([1]);
  });
});
