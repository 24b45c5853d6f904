import { describe, expect, it } from "vitest";
import { canonicalIpa, nestedIpa } from "../../../hypervisor/addr.ts";
import type { KvmS2Mmu } from "../../../hypervisor/nested.ts";
import { accelOf, accelStale } from "../../../hypervisor/unmap/accel.ts";
import { kvmUnmapGfnRange } from "../../../hypervisor/mmu.ts";
import { revmapOf, revmapPayload, revmapStaleEntries, UNKNOWN_IPA } from "../../../hypervisor/unmap/revmap.ts";
import { CANON, canonicalPa, NESTED, PAGE, shadowLeaves, shadowLeavesMapping, strategyRig } from "./strategy_fixture.ts";

const rv = (m: KvmS2Mmu) => revmapOf(m)!;

/** RIPAS2E1 operand: 4K granule, SCALE 0, NUM n → 2(n+1) pages from `base`. */
const ripas = (base: bigint, num: bigint) => (1n << 46n) | (num << 39n) | (base >> 12n);
/** IPAS2E1 operand with a FEAT_TTL hint of a 4K level-3 page. */
const ipasPage = (ipa: bigint) => (0b0111n << 44n) | (ipa >> 12n);

describe("nested IPA direct map", () => {
  it("is kept in lockstep with the revmap: nested range → canonical IPA", () => {
    const r = strategyRig({ unmap: "revmap", directMap: true });
    const m = r.use(1);
    r.touch(NESTED + 3n * PAGE);
    r.touch(NESTED + 3n * PAGE);
    expect(rv(m).directMap!.entries()).toEqual([{ index: NESTED + 3n * PAGE, last: NESTED + 4n * PAGE - 1n, value: revmapPayload(canonicalIpa(CANON + 3n * PAGE)) }]);
    r.tlbi("VMALLS12E1IS", 0n);
    expect(rv(m).directMap).toBeNull();
    expect(rv(m).revmap).toBeNull();
  });

  for (const directMap of [false, true]) {
    it(`L1's IPAS2E1 and RIPAS2E1 ${directMap ? "remove the revmap entries they invalidate" : "leave stale revmap entries (no direct map)"}`, () => {
      const r = strategyRig({ unmap: "revmap", directMap });
      const m = r.use(1);
      for (let i = 0n; i < 8n; i++) r.touch(NESTED + i * PAGE);
      r.tlbi("IPAS2E1IS", (NESTED + PAGE) >> 12n);
      r.tlbi("RIPAS2E1IS", ripas(NESTED + 4n * PAGE, 1n)); // pages 4..7
      expect(shadowLeaves(m)).toEqual([NESTED, NESTED + 2n * PAGE, NESTED + 3n * PAGE]);
      const left = rv(m).revmap!.entries().map((e) => (e.index - CANON) / PAGE);
      if (directMap) {
        expect(left).toEqual([0n, 2n, 3n]);
        expect(rv(m).directMap!.size).toBe(3);
        expect(revmapStaleEntries(r.kvm)).toBe(0);
        expect(r.kvm.metrics.get("revmap.directMapErased")).toBe(5);
      } else {
        expect(left).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
        expect(revmapStaleEntries(r.kvm)).toBe(5);
      }
      kvmUnmapGfnRange(r.kvm, CANON + 5n * PAGE, PAGE);
      expect(r.kvm.metrics.samples["revmap.staleEntries"]).toEqual([directMap ? 0 : 4]);
    });
  }

  it("a TLBI of part of a shadow block removes the whole block, and the direct map and revmap entries with it", () => {
    const r = strategyRig({ unmap: "revmap", directMap: true, blocks: true });
    const block = 0x4060_0000n;
    const m = r.use(1);
    r.s2.map(0x9000_0000n, block, 0x20_0000n);
    r.touch(0x9000_0000n);
    expect(m.pgt.getLeaf(0x9000_0000n)!.size).toBe(0x20_0000n);
    r.tlbi("IPAS2E1IS", ipasPage(0x9000_7000n));
    // KVM removes every leaf the range touches, whole: the strategy hears the block's 2M extent.
    expect(m.pgt.leafCount).toBe(0);
    expect(rv(m).revmap!.entries()).toEqual([]);
    expect(rv(m).directMap!.size).toBe(0);
    // L2 touching any page of the block faults it back in, recorded again.
    r.touch(0x9000_9000n);
    expect(rv(m).revmap!.entries()).toEqual([{ index: block, last: block + 0x1f_ffffn, value: revmapPayload(nestedIpa(0x9000_0000n)) }]);
    const pa = canonicalPa(r, block + 9n * PAGE);
    kvmUnmapGfnRange(r.kvm, block + 9n * PAGE, PAGE);
    expect(m.pgt.leafCount).toBe(0);
    expect(shadowLeavesMapping(r, pa)).toEqual([]);
  });

  it("polluted ranges stay: a TLBI of one of their mappings cannot tell what else they hold", () => {
    const r = strategyRig({ unmap: "revmap", directMap: true });
    const m = r.use(1);
    r.s2.map(NESTED + 100n * PAGE, CANON, PAGE);
    r.touch(NESTED);
    r.touch(NESTED + 100n * PAGE);
    r.tlbi("IPAS2E1IS", (NESTED + 100n * PAGE) >> 12n);
    expect(rv(m).revmap!.entries()).toEqual([{ index: CANON, last: CANON + PAGE - 1n, value: UNKNOWN_IPA }]);
    expect(rv(m).directMap!.entries().map((e) => e.index)).toEqual([NESTED]);
    expect(shadowLeaves(m)).toEqual([NESTED]);
  });

  for (const directMap of [false, true]) {
    it(`accel (p == 0): L1's TLBI ${directMap ? "clears the exact range's bit" : "leaves a stale bit"}`, () => {
      const r = strategyRig({ unmap: "accel", directMap, nestedMmus: 4 });
      r.use(1);
      r.touch(NESTED);
      r.touch(NESTED + PAGE);
      r.use(2);
      r.touch(NESTED + PAGE);
      r.use(1);
      r.tlbi("IPAS2E1IS", (NESTED + PAGE) >> 12n);
      expect(accelStale(r.kvm)).toEqual(directMap ? { bits: 0, ranges: 0 } : { bits: 1, ranges: 0 });
      expect(accelOf(r.kvm)!.tree!.load(CANON + PAGE)!.value).toBe(directMap ? 1n << 3n : (1n << 2n) | (1n << 3n));
      r.tlbi("IPAS2E1IS", NESTED >> 12n);
      if (directMap) expect(accelOf(r.kvm)!.tree!.load(CANON)).toBeNull();
      // The next canonical unmap of that page visits MMU 0 only if its stale bit is still there.
      kvmUnmapGfnRange(r.kvm, CANON + PAGE, PAGE);
      expect(r.kvm.metrics.shadowMmusVisited).toEqual([directMap ? 1 : 2]);
      expect(r.kvm.metrics.shadowEntriesRemoved).toBe(1);
    });
  }

  it("a failed direct-map store breaks the revmap it mirrors: the MMU falls back to full unmap", () => {
    const r = strategyRig({ unmap: "revmap", directMap: true, nestedMmus: 2 });
    const m = r.use(1);
    r.touch(NESTED);
    r.kvm.faultInject.directMapStoreFailures = 1;
    r.touch(NESTED + PAGE);
    expect(r.kvm.faultInject.directMapStoreFailures).toBe(0);
    expect(r.kvm.metrics.get("directMap.storeFailures")).toBe(1);
    expect(rv(m).broken).toBe(true);
    expect(rv(m).revmap).toBeNull();
    expect(rv(m).directMap).toBeNull();
    kvmUnmapGfnRange(r.kvm, CANON + 9n * PAGE, PAGE);
    expect(m.pgt.leafCount).toBe(0);
    expect(r.kvm.metrics.get("revmap.fallbackFullUnmaps")).toBe(1);
  });

  it("needs revmapTlbi v3: the seeds' TLBIs would never consult it", () => {
    expect(() => strategyRig({ unmap: "revmap", directMap: true, revmapTlbi: "seed" })).toThrow(/directMap needs revmapTlbi "v3"/);
    expect((strategyRig({ unmap: "accel", directMap: true }).kvm.unmap as { tlbi?: string }).tlbi).toBe("v3");
    expect((strategyRig({ unmap: "accel" }).kvm.unmap as { tlbi?: string }).tlbi).toBe("seed");
  });
});
